"""Recovery codes of two-factor sign-in: ten single-use codes, shown once, for when the phone is lost.

A code stands in for the authenticator's code at the second step of signing in (the password is still needed).
It is 16 characters of Crockford's base32 (80 random bits), shown as four groups of four, such as
``7k2m-9qrt-x4bd-h8wz``; typing ignores case, spaces and hyphens, and reads ``o`` as ``0`` and ``i`` or ``l`` as
``1``, the letters the alphabet leaves out because they look alike. Only each code's SHA-256 is kept, as for
sessions and links: 80 random bits make guessing one from its hash hopeless, so no slow hash is needed, and a
copy of the registry signs no one in. Using a code deletes it; making a new set deletes the old one, as do
turning two-factor sign-in off and an administrator's reset.

The functions here work inside the caller's unit of work (``Accounts``'s), which holds the account's row lock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pupildata.kernel.registry.models import PortalRecoveryCode

#: Codes in a set.
COUNT = 10
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o or u
LENGTH = 16
GROUP = 4
_TYPED = str.maketrans({"o": "0", "i": "1", "l": "1"})
_CODE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    """A fresh code, grouped for reading aloud and typing."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(typed: str) -> str | None:
    """The code someone typed, as kept (16 characters), or None if it cannot be a recovery code."""
    code = re.sub(r"[\s-]", "", typed).lower().translate(_TYPED)
    return code if _CODE.fullmatch(code) else None


def digest(code: str) -> str:
    """The SHA-256 kept of a normalised code."""
    return hashlib.sha256(b"recovery code\x00" + code.encode("ascii")).hexdigest()


def replace(session: Session, user_id: int, now: datetime) -> list[str]:
    """A new set of codes for the account, every earlier one deleted; the codes, to show once."""
    discard(session, user_id)
    codes = [new_code() for _ in range(COUNT)]
    for code in codes:
        normalised = normalise(code)
        assert normalised is not None
        session.add(PortalRecoveryCode(code_hash=digest(normalised), user_id=user_id, created_at=now))
    return codes


def consume(session: Session, user_id: int, typed: str) -> bool:
    """Whether ``typed`` is one of the account's unused codes; if it is, it is used up."""
    code = normalise(typed)
    if code is None:
        return False
    wanted = digest(code)
    kept = session.scalars(select(PortalRecoveryCode).where(PortalRecoveryCode.user_id == user_id)).all()
    found = None
    for row in kept:  # every hash is compared in constant time; no early answer
        if hmac.compare_digest(row.code_hash, wanted):
            found = row
    if found is None:
        return False
    session.delete(found)
    return True


def left(session: Session, user_id: int) -> int:
    """How many unused codes the account has."""
    query = select(func.count()).select_from(PortalRecoveryCode).where(PortalRecoveryCode.user_id == user_id)
    return int(session.scalar(query) or 0)


def discard(session: Session, user_id: int) -> None:
    session.execute(delete(PortalRecoveryCode).where(PortalRecoveryCode.user_id == user_id))


__all__ = ["COUNT", "consume", "digest", "discard", "left", "new_code", "normalise", "replace"]
