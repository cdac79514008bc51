"""API tokens as their holder sees them: named, listed, and revoked one at a time, never shown again after making.

An API token is a browser session's twin (``Accounts.start`` with kind ``api``): a random secret shown once, of
which the registry keeps only the SHA-256. A holder names each token (its label, "nightly export") so that they
can tell their tokens apart and revoke the one a lost laptop held. The pages name a token by its public id, the
first 12 hex digits of the kept hash: it tells tokens apart but cannot be turned back into the secret (that would
take inverting SHA-256), so it may be shown, put in a form and recorded in the audit trail.

When a token was last used is stamped as it signs a request in, but at most every ``STAMP_EVERY`` per token, so
that a busy client does not make every API call a write to the registry.

The functions here work inside the caller's unit of work (``Accounts``'s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from pupildata.errors import UsageError
from pupildata.kernel.registry.models import PortalSession

API = "api"
MAX_LABEL = 60
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 365, 90
#: The label of a token made by ``pupildata user token`` without ``--label``.
COMMAND_LINE = "command line"
PUBLIC_ID = 12
_PUBLIC_ID = re.compile(rf"[0-9a-f]{{{PUBLIC_ID}}}")
#: How stale a token's "last used" may be: a write at most this often per token.
STAMP_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Token:
    """One live API token, without its secret."""

    public_id: str
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone; every time the registry holds is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def public_id(token_hash: str) -> str:
    return token_hash[:PUBLIC_ID]


def check_label(label: str) -> str:
    """The label as kept (trimmed), or a ``UsageError`` naming the rule."""
    label = label.strip()
    if not label:
        raise UsageError("Enter a label for the token, such as 'nightly export', to tell it from your other tokens.")
    if len(label) > MAX_LABEL:
        raise UsageError(f"The label has {len(label)} characters: a token's label has at most {MAX_LABEL}.")
    if not label.isprintable():
        raise UsageError(
            "The label has a character that cannot be shown, such as a tab or a new line: use letters, digits, "
            "spaces and punctuation."
        )
    return label


def check_days(days: str | int) -> int:
    """How many days a new token works, or a ``UsageError`` naming the rule."""
    text = str(days).strip()
    if not text.isdigit() or not MIN_DAYS <= int(text) <= MAX_DAYS:
        shown = text[:20] or "nothing"
        raise UsageError(f"'{shown}' is not a lifetime: give a whole number of days from {MIN_DAYS} to {MAX_DAYS}.")
    return int(text)


def is_public_id(text: str) -> bool:
    return _PUBLIC_ID.fullmatch(text) is not None


def view(row: PortalSession) -> Token:
    return Token(
        public_id=public_id(row.token_hash),
        label=row.label or COMMAND_LINE,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at),
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
    )


def _live(user_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return PortalSession.user_id == user_id, PortalSession.kind == API, PortalSession.expires_at > now


def live(session: Session, user_id: int, now: datetime) -> list[Token]:
    """The account's tokens that still work, newest first."""
    query = select(PortalSession).where(*_live(user_id, now)).order_by(PortalSession.created_at.desc())
    return [view(row) for row in session.scalars(query)]


def count(session: Session, user_id: int, now: datetime) -> int:
    query = select(func.count()).select_from(PortalSession).where(*_live(user_id, now))
    return int(session.scalar(query) or 0)


def revoke(session: Session, user_id: int, token: str) -> Token | None:
    """End the account's token whose public id is ``token``: only one of this account's, whatever id is asked
    for. The token ended, or None if the account has no such token."""
    if not is_public_id(token):
        return None
    query = select(PortalSession).where(
        PortalSession.user_id == user_id,
        PortalSession.kind == API,
        PortalSession.token_hash.startswith(token, autoescape=True),
    )
    rows = session.scalars(query).all()
    if not rows:
        return None
    session.execute(delete(PortalSession).where(PortalSession.token_hash.in_([row.token_hash for row in rows])))
    return view(rows[0])


def stamp(held: PortalSession, now: datetime) -> None:
    """Note that ``held`` (an API token) signed a request in, unless that was noted less than ``STAMP_EVERY`` ago."""
    if held.last_used_at is None or _aware(held.last_used_at) + STAMP_EVERY <= now:
        held.last_used_at = now


__all__ = [
    "COMMAND_LINE", "DEFAULT_DAYS", "MAX_DAYS", "MAX_LABEL", "MIN_DAYS", "PUBLIC_ID", "STAMP_EVERY", "Token",
    "check_days", "check_label", "count", "is_public_id", "live", "public_id", "revoke", "stamp", "view",
]  # fmt: skip
