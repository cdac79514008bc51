"""The secrets an account is given: browser sessions, API tokens, one-time sign-in links and the pending secret of
a two-factor sign-in. Part of ``Accounts`` (``pupildata.web.accounts``), kept apart as the one place that makes,
finds and ends them.

Each is a random secret given to the person once; the registry keeps only its SHA-256 (``portal_session``), so a
copy of the registry signs no one in. 256 random bits make a slow hash unnecessary. A secret of one kind never
works as another (a browser's cookie is no API token). A link is used up by being read; an API token's last use
is stamped, at most every few minutes (``pupildata.web.tokens``), and only its holder lists and revokes it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from pupildata.kernel.registry import Registry
from pupildata.kernel.registry.models import PortalSession, PortalUser
from pupildata.web import tokens
from pupildata.web.tokens import Token
from pupildata.web.users import User, user_of

BROWSER = "browser"
API = tokens.API
LINK = "link"
#: A right password (or link) waiting for its account's two-factor code.
PENDING = "two-factor"
LIFETIMES = {
    BROWSER: timedelta(hours=8), API: timedelta(days=90), LINK: timedelta(minutes=30), PENDING: timedelta(minutes=5),
}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone; every time the registry holds is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def digest(token: str) -> str:
    """The SHA-256 kept of a secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    """The secrets of the accounts kept in ``registry`` (``Accounts`` is one)."""

    registry: Registry

    def start(
        self, user: User, kind: str, now: datetime | None = None, lifetime: timedelta | None = None, *,
        label: str | None = None,
    ) -> str:  # fmt: skip
        """A new secret of ``kind`` for ``user``; only its hash is kept. A browser session is a sign-in, and the
        account's last sign-in is stamped. ``label``: an API token's name."""
        now = now or _now()
        token = secrets.token_urlsafe(32)
        with self.registry.session() as session:
            session.execute(delete(PortalSession).where(PortalSession.expires_at <= now))
            if kind == BROWSER:
                session.execute(update(PortalUser).where(PortalUser.id == user.id).values(last_sign_in_at=now))
            session.add(
                PortalSession(
                    token_hash=digest(token), user_id=user.id, kind=kind, created_at=now,
                    expires_at=now + (lifetime or LIFETIMES[kind]), label=label,
                )
            )  # fmt: skip
        return token

    def holder(self, token: str, kind: str, now: datetime | None = None) -> User | None:
        """The account a live secret of ``kind`` belongs to, if any; a link is used up by being read, and an API
        token's last use is stamped (at most every ``tokens.STAMP_EVERY``)."""
        if not token:
            return None
        now = now or _now()
        with self.registry.session() as session:
            found = session.execute(
                select(PortalSession, PortalUser)
                .join(PortalUser, PortalUser.id == PortalSession.user_id)
                .where(PortalSession.token_hash == digest(token), PortalSession.kind == kind)
            ).first()
            if found is None:
                return None
            held, row = found
            if kind == LINK:
                session.delete(held)
            if _aware(held.expires_at) <= now or row.disabled_at is not None:
                return None
            if kind == API:
                tokens.stamp(held, now)
            return user_of(row)

    def end(self, token: str) -> None:
        with self.registry.session() as session:
            session.execute(delete(PortalSession).where(PortalSession.token_hash == digest(token)))

    def end_all(self, user: User, kinds: tuple[str, ...] = (BROWSER, PENDING), keep: str | None = None) -> int:
        """End every secret of ``kinds`` that ``user`` holds (but ``keep``, this browser's own session); how many
        there were (expired ones among them)."""
        with self.registry.session() as session:
            query = delete(PortalSession).where(PortalSession.user_id == user.id, PortalSession.kind.in_(kinds))
            if keep:
                query = query.where(PortalSession.token_hash != digest(keep))
            return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]

    def make_token(
        self, user: User, label: str, days: int | str = tokens.DEFAULT_DAYS, now: datetime | None = None
    ) -> tuple[str, Token]:
        """A new API token of ``user``, named ``label``, working for ``days``: its secret (to show once) and what
        the list of tokens shows of it. ``UsageError`` if the label or the days break their rule."""
        label, lifetime = tokens.check_label(label), timedelta(days=tokens.check_days(days))
        now = now or _now()
        secret = self.start(user, API, now, lifetime, label=label)
        made = Token(tokens.public_id(digest(secret)), label, now, now + lifetime, None)
        return secret, made

    def api_tokens(self, user: User, now: datetime | None = None) -> list[Token]:
        """``user``'s API tokens that still work, newest first."""
        with self.registry.session() as session:
            return tokens.live(session, user.id, now or _now())

    def revoke_token(self, user: User, public_id: str) -> Token | None:
        """End ``user``'s own API token of that public id: the token ended, or None if ``user`` has no such token
        (another account's is never touched)."""
        with self.registry.session() as session:
            return tokens.revoke(session, user.id, public_id)


__all__ = ["API", "BROWSER", "LIFETIMES", "LINK", "PENDING", "Sessions", "digest"]
