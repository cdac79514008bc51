"""Portal accounts: who may sign in, with which role, and the secrets that prove it.

Passwords are kept only as Argon2id hashes (argon2-cffi). A browser session, an API token and a one-time sign-in
link are each a random secret given to the person once; the registry keeps only its SHA-256, so a copy of the
registry signs no one in (``pupildata.web.sessions``, whose ``Sessions`` this class extends). Five wrong
passwords in a row lock an account for fifteen minutes. Disabling an account ends its sessions and tokens at once.

Two-factor sign-in (``pupildata.web.totp``): an account that has it on is signed in by its password (or a one-time
link) and then a code from its authenticator app. The first step gives only a short-lived pending secret (kind
``two-factor``, five minutes), held by the browser; a wrong code counts in the same lockout as a wrong password,
and a right password alone never clears that count, so the lockout also bounds guesses at codes. Switching it on
makes ten single-use recovery codes (``pupildata.web.recovery``), each accepted once instead of a code.

One's own password and API tokens: changing a password needs the current one (a wrong one counts in the lockout,
so the form cannot be used to guess it), except for an account that has none yet (signed in by a link); the
change ends the account's other browser sessions. API tokens carry a label and when they were last used
(``pupildata.web.tokens``), and their holder lists and revokes only their own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pupildata.errors import UsageError
from pupildata.kernel.pseudonyms import Key, KeyStore
from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import PortalSession, PortalUser
from pupildata.web import recovery, totp
from pupildata.web.sessions import API, BROWSER, LIFETIMES, LINK, PENDING, Sessions
from pupildata.web.users import (
    LA_SCOPE,
    MIN_PASSWORD,
    USERNAME,
    User,
    check_password,
    check_scope,
    check_two_factor_roles,
    check_username,
    two_factor_on,
    user_of,
)

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
#: How long a secret shown for setting up two-factor sign-in waits for its first code.
ENROLMENT = timedelta(minutes=30)
WRONG_CODE = "The code is not right, or has expired. Enter the 6-digit code your authenticator app shows now."
WRONG_RECOVERY_CODE = "The recovery code is not right, or has been used. Each recovery code works only once."
WRONG_CURRENT = "Your current password is not right: 5 wrong passwords in a row lock your account for 15 minutes."
LOCKED = "This account is locked for 15 minutes after too many wrong passwords or codes. Try again later."

_hasher = PasswordHasher()
#: Checked against when the username is unknown, so that a wrong username takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """The sign-in failed; the message is safe to show (it never says whether the username exists)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone; every time the registry holds is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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


class Accounts(Sessions):
    """The accounts kept in a registry, with their secrets (``Sessions``: sessions, API tokens and links)."""

    def __init__(self, registry: Registry, keys: KeyStore | None = None) -> None:
        self.registry = registry
        self.keys = keys

    # --- managing accounts -------------------------------------------------------------------------------------

    def add(
        self, username: str, display_name: str, role: str, scope: list[str] | None = None, password: str | None = None
    ) -> User:
        """Create an account. Without a password, the person signs in with a one-time link (see ``link``)."""
        check_username(username)
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
            return user_of(row)

    def get(self, username: str) -> User:
        with self.registry.session() as session:
            row = session.scalar(select(PortalUser).where(PortalUser.username == username))
            if row is None:
                raise UsageError(f"There is no account called '{username}'.")
            return user_of(row)

    def by_id(self, account_id: int) -> User | None:
        with self.registry.session() as session:
            row = session.get(PortalUser, account_id)
            return user_of(row) if row is not None else None

    def all(self) -> list[User]:
        with self.registry.session() as session:
            return [user_of(row) for row in session.scalars(select(PortalUser).order_by(PortalUser.username))]

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

    def enable(self, username: str) -> None:
        """Let a disabled account sign in again (with a new link or its password: its old secrets ended)."""
        with self.registry.session() as session:
            row = self._row(session, username)
            row.disabled_at = None
            row.failed_sign_ins, row.locked_until = 0, None

    def change_role(self, username: str, role: str, scope: list[str], *, option: str = "--sender") -> None:
        """Give an account another role or other senders; it holds them from its next request."""
        check_scope(role, scope, option=option)
        with self.registry.session() as session:
            row = self._row(session, username)
            row.role, row.scope = role, list(scope)

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
                if not two_factor_on(row):  # with two factors, only the right code clears the count
                    row.failed_sign_ins, row.locked_until = 0, None
                if _hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = _hasher.hash(password)
                user = user_of(row)
        if user is None:
            raise SignInRefused(refusal)
        return user

    @staticmethod
    def _verify(stored: str, password: str) -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    # --- one's own password -------------------------------------------------------------------------------------------

    def has_password(self, user: User) -> bool:
        with self.registry.session() as session:
            row = session.get(PortalUser, user.id)
            return row is not None and row.password_hash is not None

    def change_password(self, user: User, current: str | None, new: str, now: datetime | None = None) -> None:
        """Set ``user``'s own password to ``new``. An account that has a password must give it as ``current``: a
        wrong one is refused (``SignInRefused``) and counts in the lockout, as at signing in, and a locked account
        cannot change it. ``new`` keeps the password rule (``UsageError``)."""
        check_password(new)
        now = now or _now()
        refusal: str | None = None
        with self.registry.session() as session:
            row = session.get(PortalUser, user.id, with_for_update=True)
            if row is None or row.disabled_at is not None:
                refusal = "Your account can no longer sign in."
            elif _locked(row, now):
                refusal = LOCKED
            elif row.password_hash is not None and not self._verify(row.password_hash, current or ""):
                _count_failure(row, now)
                refusal = LOCKED if _locked(row, now) else WRONG_CURRENT
            else:
                row.password_hash = _hasher.hash(new)
                if not two_factor_on(row):  # as at signing in: with two factors, only a right code clears the count
                    row.failed_sign_ins = 0
        if refusal is not None:
            raise SignInRefused(refusal)

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
            if two_factor_on(row):
                raise UsageError(f"Two-factor sign-in is already on for '{username}'.")
            if row.totp_secret is not None and row.totp_created_at and _aware(row.totp_created_at) + ENROLMENT > now:
                with suppress(totp.TamperedSecret):  # one that no longer decrypts is replaced by a new one
                    return self._secret(row)
            secret = totp.new_secret()
            row.totp_secret, row.totp_created_at, row.totp_last_step = totp.seal(self._key(), secret, row.id), now, None
            return secret

    def confirm_two_factor(self, username: str, code: str, now: datetime | None = None) -> list[str]:
        """Switch two-factor sign-in on, if ``code`` is the current code of the secret being set up; the account's
        new recovery codes, to show once."""
        now = now or _now()
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if two_factor_on(row):
                raise UsageError(f"Two-factor sign-in is already on for '{username}'.")
            if row.totp_secret is None or not row.totp_created_at or _aware(row.totp_created_at) + ENROLMENT <= now:
                raise CodeRefused(
                    "The key shown for setting up has expired. Add the new key below to your app, then enter its code."
                )
            step = self._step(row, code, now)
            if step is None:
                raise CodeRefused(WRONG_CODE)
            row.totp_confirmed_at, row.totp_last_step = now, step
            return recovery.replace(session, row.id, now)

    def check_code(self, user: User, code: str, now: datetime | None = None) -> User:
        """The second step of signing in: ``user`` (found by their pending secret) if ``code`` is right."""
        moment = now or _now()

        def right(_: Session, row: PortalUser) -> bool:
            step = self._step(row, code, moment)
            if step is not None:
                row.totp_last_step = step
            return step is not None

        return self._second_step(user, right, WRONG_CODE, moment)

    def check_recovery_code(self, user: User, code: str, now: datetime | None = None) -> tuple[User, int]:
        """The second step of signing in with a recovery code instead: ``user`` if ``code`` is one of theirs, which
        is used up; and how many codes they have left."""
        left = 0

        def right(session: Session, row: PortalUser) -> bool:
            nonlocal left
            used = recovery.consume(session, row.id, code)
            left = recovery.left(session, row.id)
            return used

        return self._second_step(user, right, WRONG_RECOVERY_CODE, now or _now()), left

    def _second_step(self, user: User, right: Callable[[Session, PortalUser], bool], wrong: str, now: datetime) -> User:
        """``user`` if ``right`` accepts what they typed, under the account's row lock (two requests cannot both use
        one code). A wrong one counts in the lockout, and the refusal is raised after the unit of work commits."""
        refusal: str | None = None
        found: User | None = None
        with self.registry.session() as session:
            row = session.get(PortalUser, user.id, with_for_update=True)  # two requests cannot both use one code
            if row is None or row.disabled_at is not None or not two_factor_on(row):
                refusal = "Your sign-in has expired. Sign in again."
            elif _locked(row, now):
                refusal = LOCKED
            elif not right(session, row):
                _count_failure(row, now)
                refusal = LOCKED if _locked(row, now) else wrong
            else:
                row.failed_sign_ins, row.locked_until = 0, None
                found = user_of(row)
        if found is None:
            raise CodeRefused(refusal or wrong, start_again=refusal != wrong)
        return found

    def new_recovery_codes(self, username: str, code: str, now: datetime | None = None) -> list[str]:
        """A new set of recovery codes, the old ones no longer working, if ``code`` is the authenticator's current
        code (a wrong one counts in the lockout)."""
        now = now or _now()
        refusal: str | None = None
        codes: list[str] = []
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if not two_factor_on(row):
                raise UsageError(f"Two-factor sign-in is off for '{username}', so it has no recovery codes.")
            if _locked(row, now):
                refusal = LOCKED
            elif (step := self._step(row, code, now)) is None:
                _count_failure(row, now)
                refusal = LOCKED if _locked(row, now) else WRONG_CODE
            else:
                row.totp_last_step, row.failed_sign_ins = step, 0
                codes = recovery.replace(session, row.id, now)
        if refusal is not None:
            raise CodeRefused(refusal)
        return codes

    def recovery_codes_left(self, username: str) -> int:
        with self.registry.session() as session:
            return recovery.left(session, self._row(session, username).id)

    def turn_off_two_factor(self, username: str, code: str, now: datetime | None = None) -> None:
        """Switch two-factor sign-in off, if ``code`` is right (a wrong one counts in the lockout)."""
        now = now or _now()
        refusal: str | None = None
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            if not two_factor_on(row):
                return
            if _locked(row, now):
                refusal = LOCKED
            elif self._step(row, code, now) is None:
                _count_failure(row, now)
                refusal = WRONG_CODE
            else:
                row.failed_sign_ins = 0
                self._clear(session, row)
        if refusal is not None:
            raise CodeRefused(refusal)

    def reset_two_factor(self, username: str) -> bool:
        """Switch two-factor sign-in off without a code (a lost phone), ending the account's browser sessions.

        Whether it was on."""
        with self.registry.session() as session:
            row = self._row(session, username, lock=True)
            was_on = two_factor_on(row)
            self._clear(session, row)
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
    def _clear(session: Session, row: PortalUser) -> None:
        row.totp_secret = row.totp_created_at = row.totp_confirmed_at = row.totp_last_step = None
        recovery.discard(session, row.id)


__all__ = [
    "API",
    "BROWSER",
    "LA_SCOPE",
    "LIFETIMES",
    "LINK",
    "LOCKED",
    "MIN_PASSWORD",
    "PENDING",
    "USERNAME",
    "WRONG_CODE",
    "WRONG_CURRENT",
    "WRONG_RECOVERY_CODE",
    "Accounts",
    "CodeRefused",
    "SignInRefused",
    "User",
    "check_password",
    "check_scope",
    "check_two_factor_roles",
    "check_username",
    "user_of",
]  # fmt: skip
