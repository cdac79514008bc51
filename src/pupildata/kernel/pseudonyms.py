"""Pseudonyms: keyed HMAC-SHA256, with a separate secret key for each purpose.

The spine's pupil matching references, each sharing agreement's pseudonyms and the audit chain all use keys of
their own, so a pseudonym from one purpose cannot be linked to another without the key. Keys are 32 random bytes,
created on first use inside the data home with owner-only permissions; they are never logged or printed, and
their ``repr`` hides them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from pupildata.errors import UsageError

_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
KEY_BYTES = 32


class Key:
    """A secret key for one purpose. Its bytes are never shown."""

    __slots__ = ("_secret", "purpose")

    def __init__(self, purpose: str, secret: bytes) -> None:
        self.purpose = purpose
        self._secret = secret

    def __repr__(self) -> str:
        return f"Key(purpose={self.purpose!r}, secret=<hidden>)"

    __str__ = __repr__

    def digest(self, value: str | bytes) -> bytes:
        data = value.encode("utf-8") if isinstance(value, str) else value
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def hexdigest(self, value: str | bytes) -> str:
        return self.digest(value).hex()

    def secret_for_engine(self) -> bytes:
        """The raw key, only for handing to the engine to pseudonymise set-at-a-time. Never log it."""
        return self._secret


class KeyStore:
    """Keys kept as files in a folder of the data home (mode 0700, files 0600)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def key(self, purpose: str) -> Key:
        """The key for a purpose, created on first use."""
        if not _PURPOSE.fullmatch(purpose):
            raise ValueError(f"a key purpose is lower-case letters, digits, '.', '_' or '-', not {purpose!r}")
        path = self.folder / f"{purpose}.key"
        try:
            return Key(purpose, path.read_bytes())
        except FileNotFoundError:
            return Key(purpose, self._create(path))
        except PermissionError:
            raise UsageError(f"The key for '{purpose}' in {self.folder} cannot be read: permission denied.") from None

    def _create(self, path: Path) -> bytes:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
            secret = secrets.token_bytes(KEY_BYTES)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes()
        except PermissionError:
            raise UsageError(f"The key folder {self.folder} cannot be written: permission denied.") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        return secret

    def pseudonym(self, purpose: str, value: str) -> str:
        """The pseudonym of one value for a purpose (hex HMAC-SHA256)."""
        return self.key(purpose).hexdigest(value)
