"""Two-factor sign-in's mechanics: time-based one-time codes (RFC 6238) and their secret kept encrypted.

A code is six digits computed from a secret shared with the person's authenticator app and the current 30-second
time step (HMAC-SHA1, the algorithm every authenticator app uses; pyotp computes it). The server must compute
codes, so the secret cannot be hashed as passwords are: it is encrypted with a key of the data home's key store,
a purpose of its own (``portal-two-factor``), which is never in the registry. A copy of the registry therefore
holds no usable secret. The cipher is AES-256-GCM (the ``cryptography`` library) under a key derived from it, with
a random 12-byte nonce for each encryption; the account's id is authenticated with it (associated data), so a
secret copied onto another account is refused.

A code is accepted for the step before, the step of, and the step after the server's clock (one step of drift),
and only for a step later than the last one used, so a code that has been seen cannot be used again.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from datetime import datetime
from urllib.parse import quote

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pupildata.kernel.pseudonyms import Key

PURPOSE = "portal-two-factor"
STEP_SECONDS = 30
DIGITS = 6
#: Steps either side of the server's clock whose codes are accepted.
DRIFT = 1
ISSUER = "Pupil data service"

_VERSION = b"v1"
_NONCE = 12
_TAG = 16
_CODE = re.compile(rf"\d{{{DIGITS}}}")


class TamperedSecret(Exception):
    """A stored secret that does not decrypt under this key for this account (edited, copied, or another key)."""


def new_secret() -> str:
    """A fresh secret: 160 random bits as base32 text, as authenticator apps take it."""
    return pyotp.random_base32(32)


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """The code of ``secret`` for one time step."""
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step))


def normalise(code: str) -> str | None:
    """The six digits someone typed (spaces and hyphens allowed between them), or None if it is not six digits."""
    digits = re.sub(r"[\s-]", "", code)
    return digits if _CODE.fullmatch(digits) else None


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step whose code ``code`` is (within the drift allowed, and later than ``last_step``), or None."""
    current = time_step(now)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):  # every step is compared: no early answer
        if hmac.compare_digest(code_at(secret, step), code) and (last_step is None or step > last_step):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` address an authenticator app reads (as a QR code, or pasted)."""
    label = quote(f"{ISSUER}:{account}", safe=":@")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(ISSUER)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def grouped(secret: str) -> str:
    """The secret in groups of four characters, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _cipher(key: Key) -> AESGCM:
    return AESGCM(key.digest(b"two-factor secret"))  # 32 bytes: AES-256


def _associated(account_id: int) -> bytes:
    return _VERSION + b"\x00" + str(account_id).encode("ascii")


def seal(key: Key, secret: str, account_id: int) -> str:
    """``secret`` encrypted and authenticated for the account ``account_id``, as text for the registry."""
    nonce = secrets.token_bytes(_NONCE)
    sealed = _cipher(key).encrypt(nonce, secret.encode("ascii"), _associated(account_id))
    return _VERSION.decode() + "." + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: Key, sealed: str, account_id: int) -> str:
    """The secret ``seal`` encrypted, or ``TamperedSecret``."""
    version, _, text = sealed.partition(".")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise TamperedSecret from None
    if version.encode() != _VERSION or len(raw) < _NONCE + _TAG:
        raise TamperedSecret
    try:
        plain = _cipher(key).decrypt(raw[:_NONCE], raw[_NONCE:], _associated(account_id))
    except InvalidTag:
        raise TamperedSecret from None
    return plain.decode("ascii")


__all__ = [
    "DRIFT", "PURPOSE", "STEP_SECONDS", "TamperedSecret", "code_at", "grouped", "matching_step", "new_secret",
    "normalise", "provisioning_uri", "seal", "time_step", "unseal",
]  # fmt: skip
