"""Portal accounts: who may sign in, with which role, and the secrets that prove it.

Passwords are kept only as Argon2id hashes (argon2-cffi). A browser session, an API token and a one-time sign-in
link are each a random secret given to the person once; the registry keeps only its SHA-256, so a copy of the
registry signs no one in. Five wrong passwords in a row lock an account for fifteen minutes. Disabling an
account ends its sessions and tokens at once.

Two-factor sign-in (``pupildata.web.totp``): an account that has it on is signed in by its password (or a one-time
link) and then a code from its authenticator app. The first step gives only a short-lived pending secret (kind
``two-factor``, five minutes), held by the browser; a wrong code counts in the same lockout as a wrong password,
and a right password alone never clears that count, so the lockout also bounds guesses at codes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pupildata.errors import UsageError
from pupildata.kernel.pseudonyms import Key, KeyStore
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import PortalSession, PortalUser
from pupildata.web import totp
from pupildata.web.permissions import ROLES

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")
#: A local authority's schools: ``la:857`` covers every census sender whose number starts 857.
LA_SCOPE = re.compile(r"la:(\d{3})")
MIN_PASSWORD = 12
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BROWSER = "browser"
API = "api"
LINK = "link"
#: A right password (or link) waiting for its account's two-factor code.
PENDING = "two-factor"
LIFETIMES = {
    BROWSER: timedelta(hours=8), API: timedelta(days=90), LINK: timedelta(minutes=30), PENDING: timedelta(minutes=5),
}  # fmt: skip
#: How long a secret shown for setting up two-factor sign-in waits for its first code.
ENROLMENT = timedelta(minutes=30)
WRONG_CODE = "The code is not right, or has expired. Enter the 6-digit code your authenticator app shows now."
LOCKED = "This account is locked for 15 minutes after too many wrong passwords or codes. Try again later."

_hasher = PasswordHasher()
#: Checked against when the username is unknown, so that a wrong username takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """The sign-in failed; the message is safe to show (it never says whether the username exists)."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    scope: tuple[str, ...]
    disabled: bool = False
    #: Whether the account signs in with a code from an authenticator app as well as its password.
    two_factor: bool = False

    @property
    def actor(self) -> str:
        """How the audit trail names this person."""
        return f"portal:{self.username}"

    @property
    def role_title(self) -> str:
        return ROLES[self.role].title

    def can(self, permission: str) -> bool:
        return permission in ROLES[self.role].permissions

    def senders(self) -> tuple[list[str] | None, tuple[str, ...]]:
        """The senders this account may see, as (codes, authorities' number prefixes); (None, ()) for all."""
        if ROLES[self.role].all_senders:
            return None, ()
        authorities = tuple(la[1] for entry in self.scope if (la := LA_SCOPE.fullmatch(entry)))
        return [entry for entry in self.scope if not LA_SCOPE.fullmatch(entry)], authorities

    def may_see_sender(self, sender: str | None) -> bool:
        """Whether this account may read the returns of ``sender``."""
        if ROLES[self.role].all_senders:
            return True
        if not sender:
            return False
        for entry in self.scope:
            la = LA_SCOPE.fullmatch(entry)
            if entry == sender or (la and len(sender) == 7 and sender.isdigit() and sender.startswith(la[1])):
                return True
        return False


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone; every time the registry holds is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(row: PortalUser) -> User:
    return User(
        row.id, row.username, row.display_name, row.role, tuple(row.scope), row.disabled_at is not None,
        _two_factor_on(row),
    )  # fmt: skip


def _two_factor_on(row: PortalUser) -> bool:
    return row.totp_secret is not None and row.totp_confirmed_at is not None


def _locked(row: PortalUser, now: datetime) -> bool:
    return row.locked_until is not None and _aware(row.locked_until) > now


def _count_failure(row: PortalUser, now: datetime) -> None:
    row.failed_sign_ins += 1
    if row.failed_sign_ins >= MAX_FAILURES:
        row.locked_until, row.failed_sign_ins = now + LOCKOUT, 0


class CodeRefused(Exception):
    """A two-factor code was not accepted; the message is safe to show. ``start_again``: the account is locked
    or can no longer sign in, so a pending sign-in must start again from the password."""

    def __init__(self, message: str, *, start_again: bool = False) -> None:
        super().__init__(message)
        self.start_again = start_again


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"A password must have at least {MIN_PASSWORD} characters; this one has {len(password)}.")


def check_scope(role: str, scope: list[str]) -> None:
    if role not in ROLES:
        raise UsageError(f"There is no role called '{role}'. The roles are: {', '.join(ROLES)}.")
    if ROLES[role].all_senders and scope:
        raise UsageError(f"The role '{role}' sees every sender's returns, so it takes no --sender.")
    if not ROLES[role].all_senders and not scope:
        raise UsageError(
            f"The role '{role}' needs at least one --sender: a sender's code (a school's LA and establishment "
            "number such as 8572000, or a body's code) or la:NNN for every school of a local authority."
        )
    for entry in scope:
        if entry.startswith("la:") and not LA_SCOPE.fullmatch(entry):
            raise UsageError(f"'{entry}' is not a local authority: write la: and its three-digit number, e.g. la:857.")


def check_two_factor_roles(roles: tuple[str, ...]) -> None:
    """The policy's ``sign_in.two_factor_roles`` must name roles that exist (a misspelt one would protect no one)."""
    for role in roles:
        if role not in ROLES:
            raise UsageError(
                f"The policy's sign_in.two_factor_roles names '{role}', which is not a role. The roles are: "
                f"{', '.join(ROLES)}."
            )


class Accounts:
    """The accounts kept in a registry."""

    def __init__(self, registry: Registry, keys: KeyStore | None = None) -> None:
        self.registry = registry
        self.keys = keys

    # --- managing accounts -------------------------------------------------------------------------------------

    def add(
        self, username: str, display_name: str, role: str, scope: list[str] | None = None, password: str | None = None
    ) -> User:
        """Create an account. Without a password, the person signs in with a one-time link (see ``link``)."""
        if not USERNAME.fullmatch(username):
            raise UsageError(
                f"'{username}' is not a usable username: use 2 to 100 lower-case letters, digits, dots, hyphens "
                "or underscores, starting with a letter or digit."
            )
        scope = list(scope or [])
        check_scope(role, scope)
        if password is not None:
            check_password(password)
        with self.registry.session() as session:
            if session.scalar(select(PortalUser.id).where(PortalUser.username == username)) is not None:
                raise UsageError(f"There is already an account called '{username}'.")
            row = PortalUser(
                username=username, display_name=display_name or username, role=role, scope=scope,
                password_hash=_hasher.hash(password) if password is not None else None,
                failed_sign_ins=0, created_at=_now(),
            )  # fmt: skip
            session.add(row)
            session.flush()
            return _user(row)

    def get(self, username: str) -> User:
        with self.registry.session() as session:
            row = session.scalar(select(PortalUser).where(PortalUser.username == username))
            if row is None:
                raise UsageError(f"There is no account called '{username}'.")
            return _user(row)

    def all(self) -> list[User]:
        with self.registry.session() as session:
            return [_user(row) for row in session.scalars(select(PortalUser).order_by(PortalUser.username))]

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        with self.registry.session() as session:
            row = self._row(session, username)
            row.password_hash = _hasher.hash(password)
            row.failed_sign_ins = 0
            row.locked_until = None

    def disable(self, username: str) -> None:
        """Stop an account signing in, and end every session, token and link it has."""
        with self.registry.session() as session:
            row = self._row(session, username)
            row.disabled_at = row.disabled_at or _now()
            session.execute(delete(PortalSession).where(PortalSession.user_id == row.id))

    @staticmethod
    def _row(session: Session, username: str, *, lock: bool = False) -> PortalUser:
        query = select(PortalUser).where(PortalUser.username == username)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise UsageError(f"There is no account called '{username}'.")
        return row

    # --- signing in --------------------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str, now: datetime | None = None) -> User:
        """The account whose password this is, or ``SignInRefused`` with a sentence to show.

        The refusal is raised after the unit of work commits, so that a wrong password is counted.
        """
        now = now or _now()
        refusal = "The username or password is not right."
        with self.registry.session() as session:
            row = session.scalar(select(PortalUser).where(PortalUser.username == username.strip().lower()))
            if row is None or row.password_hash is None:
                self._verify(_DUMMY, password)
                user = None
            elif _locked(row, now):
                user = None
                refusal = LOCKED
            elif not self._verify(row.password_hash, password) or row.disabled_at is not None:
                user = None
                _count_failure(row, now)
            else:
                if not _two_factor_on(row):  # with two factors, only the right code clears the count
                    row.failed_sign_ins, row.locked_until = 0, None
                if _hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = _hasher.hash(password)
                user = _user(row)
        if user is None:
            raise SignInRefused(refusal)
        return user

    @staticmethod
    def _verify(stored: str, password: str) -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # --- sessions, tokens and links ----------------------------------------------------------------------------

    def start(self, user: User, kind: str, now: datetime | None = None, lifetime: timedelta | None = None) -> str:
        """A new secret of ``kind`` for ``user``; only its hash is kept."""
        now = now or _now()
        token = secrets.token_urlsafe(32)
        with self.registry.session() as session:
            session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))
            session.add(
                PortalSession(
                    token_hash=_digest(token), user_id=user.id, kind=kind, created_at=now,
                    expires_at=now + (lifetime or LIFETIMES[kind]),
                )
            )  # fmt: skip
        return token

    def holder(self, token: str, kind: str, now: datetime | None = None) -> User | None:
        """The account a live secret of ``kind`` belongs to, if any; a link is used up by being read."""
        if not token:
            return None
        now = now or _now()
        with self.registry.session() as session:
            found = session.execute(
                select(PortalSession, PortalUser)
                .join(PortalUser, PortalUser.id == PortalSession.user_id)
                .where(PortalSession.token_hash == _digest(token), PortalSession.kind == kind)
            ).first()
            if found is None:
                return None
            held, row = found
            if kind == LINK:
                session.delete(held)
            if _aware(held.expires_at) <= now or row.disabled_at is not None:
                return None
            return _user(row)

    def end(self, token: str) -> None:
        with self.registry.session() as session:
            session.execute(delete(PortalSession).where(PortalSession.token_hash == _digest(token)))

    def end_all(self, user: User, kinds: tuple[str, ...] = (BROWSER, PENDING), keep: str | None = None) -> None:
        """End every secret of ``kinds`` that ``user`` holds (but ``keep``, this browser's own session)."""
        with self.registry.session() as session:
            query = delete(PortalSession).where(PortalSession.user_id == user.id, PortalSession.kind.in_(kinds))
            if keep:
                query = query.where(PortalSession.token_hash != _digest(keep))
            session.execute(query)

    # --- two-factor sign-in ------------------------------------------------------------------------------------

    def _key(self) -> Key:
        if self.keys is None:  # pragma: no cover - a programming error, not a user's
            raise RuntimeError("two-factor sign-in needs the data home's key store: Accounts(registry, keys)")
        return self.keys.key(totp.PURPOSE)

    def _secret(self, row: PortalUser) -> str:
        assert row.totp_secret is not None
        return totp.unseal(self._key(), row.totp_secret, row.id)

    def begin_two_factor(self, username: str, now: datetime | None = None) -> str:
        """The secret to show for setting up an authenticator app: the one already shown if it is recent (so that
        reloading the page keeps what was scanned), else a new one. Two-factor stays off until ``confirm``."""
        now = now or _now()
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if _two_factor_on(row):
                raise UsageError(f"Two-factor sign-in is already on for '{username}'.")
            if row.totp_secret is not None and row.totp_created_at and _aware(row.totp_created_at) + ENROLMENT > now:
                with suppress(totp.TamperedSecret):  # one that no longer decrypts is replaced by a new one
                    return self._secret(row)
            secret = totp.new_secret()
            row.totp_secret, row.totp_created_at, row.totp_last_step = totp.seal(self._key(), secret, row.id), now, None
            return secret

    def confirm_two_factor(self, username: str, code: str, now: datetime | None = None) -> None:
        """Switch two-factor sign-in on, if ``code`` is the current code of the secret being set up."""
        now = now or _now()
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if _two_factor_on(row):
                raise UsageError(f"Two-factor sign-in is already on for '{username}'.")
            if row.totp_secret is None or not row.totp_created_at or _aware(row.totp_created_at) + ENROLMENT <= now:
                raise CodeRefused(
                    "The key shown for setting up has expired. Add the new key below to your app, then enter its code."
                )
            step = self._step(row, code, now)
            if step is None:
                raise CodeRefused(WRONG_CODE)
            row.totp_confirmed_at, row.totp_last_step = now, step

    def check_code(self, user: User, code: str, now: datetime | None = None) -> User:
        """The second step of signing in: ``user`` (found by their pending secret) if ``code`` is right.

        A wrong code counts in the lockout, and the refusal is raised after the unit of work commits."""
        now = now or _now()
        refusal: str | None = None
        found: User | None = None
        with self.registry.session() as session:
            row = session.get(PortalUser, user.id, with_for_update=True)  # two requests cannot both use one code
            if row is None or row.disabled_at is not None or not _two_factor_on(row):
                refusal = "Your sign-in has expired. Sign in again."
            elif _locked(row, now):
                refusal = LOCKED
            elif (step := self._step(row, code, now)) is None:
                _count_failure(row, now)
                refusal = LOCKED if _locked(row, now) else WRONG_CODE
            else:
                row.totp_last_step, row.failed_sign_ins, row.locked_until = step, 0, None
                found = _user(row)
        if found is None:
            raise CodeRefused(refusal or WRONG_CODE, start_again=refusal != WRONG_CODE)
        return found

    def turn_off_two_factor(self, username: str, code: str, now: datetime | None = None) -> None:
        """Switch two-factor sign-in off, if ``code`` is right (a wrong one counts in the lockout)."""
        now = now or _now()
        refusal: str | None = None
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if not _two_factor_on(row):
                return
            if _locked(row, now):
                refusal = LOCKED
            elif self._step(row, code, now) is None:
                _count_failure(row, now)
                refusal = WRONG_CODE
            else:
                row.failed_sign_ins = 0
                self._clear(row)
        if refusal is not None:
            raise CodeRefused(refusal)

    def reset_two_factor(self, username: str) -> bool:
        """Switch two-factor sign-in off without a code (a lost phone), ending the account's browser sessions.

        Whether it was on."""
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            was_on = _two_factor_on(row)
            self._clear(row)
            session.execute(
                delete(PortalSession).where(PortalSession.user_id == row.id, PortalSession.kind.in_((BROWSER, PENDING)))
            )
            return was_on

    def _step(self, row: PortalUser, code: str, now: datetime) -> int | None:
        digits = totp.normalise(code)
        if digits is None:
            return None
        try:
            secret = self._secret(row)
        except totp.TamperedSecret:
            return None
        return totp.matching_step(secret, digits, now, row.totp_last_step)

    @staticmethod
    def _clear(row: PortalUser) -> None:
        row.totp_secret = row.totp_created_at = row.totp_confirmed_at = row.totp_last_step = None


__all__ = [
    "API", "BROWSER", "LINK", "LOCKED", "PENDING", "WRONG_CODE", "Accounts", "CodeRefused", "SignInRefused", "User",
    "check_password", "check_two_factor_roles",
]  # fmt: skip
