"""Managing other people's accounts in the portal (permission ``accounts:manage``, the Data Protection Officer's).

Both the pages and their JSON twins change accounts only through ``Administration``, which makes each change with
``Accounts`` and then appends its audit event, as the ``pupildata user`` commands do — the same actions ("account
created", "sign-in link made", "account disabled", "two-factor reset"…) about the same object (``account``, the
username), with the signed-in administrator as the actor and the client's address in the detail.

An administrator cannot disable their own account or give it a role without this permission, so that the service
is never left with no one to manage accounts by a slip; nor reset their own two-factor sign-in here, which would
switch it off without the code that turning it off on their own page needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.registry.models import PortalRecoveryCode, PortalSession, PortalUser
from pupildata.web import recovery, tokens
from pupildata.web.accounts import API, LINK, Accounts, User, check_scope, check_username, user_of
from pupildata.web.permissions import MANAGE_ACCOUNTS, ROLES

MAX_NAME = 200
MAX_SENDER = 100
MAX_SENDERS = 500
REASON = "portal accounts"


class Refused(UsageError):
    """A change refused, with the one sentence to show and the form field it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AccountView:
    """An account as the accounts pages show it."""

    user: User
    created_at: datetime
    last_sign_in_at: datetime | None
    locked_until: datetime | None
    recovery_codes_left: int
    #: API tokens of the account that still work.
    api_tokens: int = 0

    @property
    def status(self) -> str:
        return "disabled" if self.user.disabled else "locked" if self.locked_until else "active"


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone; every time the registry holds is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_senders(text: str) -> list[str]:
    """The senders typed into the form, one a line (or separated by commas), each once."""
    entries = [entry.strip() for entry in re.split(r"[\n,]", text)]
    found = list(dict.fromkeys(entry for entry in entries if entry))
    if len(found) > MAX_SENDERS:
        raise Refused(f"{len(found)} senders is too many for one account: give it at most {MAX_SENDERS}.", "senders")
    for entry in found:
        if len(entry) > MAX_SENDER:
            message = f"'{entry[:30]}…' is not a sender: a sender's code has at most {MAX_SENDER} characters."
            raise Refused(message, "senders")
    return found


class Administration:
    """The changes an administrator (``admin``, signed in from ``client``) makes to accounts, each audited."""

    def __init__(self, ctx: Context, admin: User, client: str) -> None:
        self.ctx = ctx
        self.accounts = Accounts(ctx.registry, ctx.keys)
        self.admin = admin
        self.client = client

    # --- reading ---------------------------------------------------------------------------------------------

    def overview(self) -> list[AccountView]:
        """Every account, by username."""
        with self.ctx.registry.session() as session:
            rows = session.scalars(select(PortalUser).order_by(PortalUser.username)).all()
            query = select(PortalRecoveryCode.user_id, func.count()).group_by(PortalRecoveryCode.user_id)
            counts = {int(user_id): int(n) for user_id, n in session.execute(query).all()}
            live = (
                select(PortalSession.user_id, func.count())
                .where(PortalSession.kind == API, PortalSession.expires_at > datetime.now(UTC))
                .group_by(PortalSession.user_id)
            )
            held = {int(user_id): int(n) for user_id, n in session.execute(live).all()}
        return [self._view(row, counts.get(row.id, 0), held.get(row.id, 0)) for row in rows]

    def view(self, account_id: int) -> AccountView | None:
        with self.ctx.registry.session() as session:
            row = session.get(PortalUser, account_id)
            if row is None:
                return None
            return self._view(row, recovery.left(session, row.id), tokens.count(session, row.id, datetime.now(UTC)))

    @staticmethod
    def _view(row: PortalUser, codes: int, api_tokens: int) -> AccountView:
        locked = _aware(row.locked_until) if row.locked_until else None
        return AccountView(
            user=user_of(row),
            created_at=_aware(row.created_at),
            last_sign_in_at=_aware(row.last_sign_in_at) if row.last_sign_in_at else None,
            locked_until=locked if locked and locked > datetime.now(UTC) else None,
            recovery_codes_left=codes,
            api_tokens=api_tokens,
        )

    # --- changing ----------------------------------------------------------------------------------------------

    def create(self, username: str, name: str, role: str, senders: list[str], portal: str) -> tuple[User, str]:
        """A new account (signing in with a one-time link, not a password) and its first link."""
        username = username.strip()
        try:
            check_username(username)
        except UsageError as exc:
            raise Refused(exc.message, "username") from None
        if len(name.strip()) > MAX_NAME:
            raise Refused(f"The name has {len(name.strip())} characters: a name has at most {MAX_NAME}.", "name")
        self._check_role(role)
        self._check_senders(role, senders)
        try:
            user = self.accounts.add(username, name.strip(), role, senders)
        except UsageError as exc:  # the username is taken
            raise Refused(exc.message, "username") from None
        self._record("account created", user.username, role=role, scope=senders)
        return user, self._link(user, portal)

    def change_role(self, user: User, role: str, senders: list[str]) -> None:
        """Give ``user`` another role or other senders (not the administrator themself a lesser role)."""
        self._check_role(role)
        if user.id == self.admin.id and MANAGE_ACCOUNTS not in ROLES[role].permissions:
            raise Refused(
                f"You cannot change your own role to '{role}': an administrator cannot take away their own right "
                "to manage accounts, so ask another Data Protection Officer.",
                "role",
            )
        self._check_senders(role, senders)
        if (role, tuple(senders)) == (user.role, user.scope):
            return
        self.accounts.change_role(user.username, role, senders)
        was = {"role": user.role, "scope": list(user.scope)}
        self._record("account role changed", user.username, role=role, scope=senders, was=was)

    def disable(self, user: User) -> None:
        if user.id == self.admin.id:
            raise Refused(
                f"You cannot disable your own account, '{user.username}': ask another Data Protection Officer.",
                "own-account",
            )
        if not user.disabled:
            self.accounts.disable(user.username)
            self._record("account disabled", user.username)

    def enable(self, user: User) -> None:
        if user.disabled:
            self.accounts.enable(user.username)
            self._record("account enabled", user.username)

    def reset_two_factor(self, user: User) -> bool:
        """Turn off the account's two-factor sign-in (a lost phone, no recovery codes left); whether it was on."""
        if user.id == self.admin.id:
            raise Refused(
                "You cannot reset your own two-factor sign-in here: turn it off on your Two-factor sign-in page, "
                "with a code from your app.",
                "own-account",
            )
        was_on = self.accounts.reset_two_factor(user.username)
        self._record("two-factor reset", user.username, was_on=was_on)
        return was_on

    def revoke_tokens(self, user: User) -> int:
        """End every API token of the account (a system it fed is retired, or a token may have leaked); how many."""
        ended = self.accounts.end_all(user, (API,))
        self._record("API tokens revoked", user.username, count=ended)
        return ended

    def sign_in_link(self, user: User, portal: str) -> str:
        if user.disabled:
            raise Refused(
                f"The account '{user.username}' is disabled, so a sign-in link would not work: enable it first.",
                "link",
            )
        return self._link(user, portal)

    def _link(self, user: User, portal: str) -> str:
        token = self.accounts.start(user, LINK)
        self._record("sign-in link made", user.username)
        return f"{portal.rstrip('/')}/sign-in/link/{token}"

    @staticmethod
    def _check_role(role: str) -> None:
        if not role:
            raise Refused("Choose the account's role.", "role")
        if role not in ROLES:
            raise Refused(f"There is no role called '{role[:50]}': choose one of the roles listed.", "role")

    @staticmethod
    def _check_senders(role: str, senders: list[str]) -> None:
        try:
            check_scope(role, senders, option="sender")
        except UsageError as exc:
            raise Refused(exc.message, "senders") from None

    def _record(self, action: str, username: str, **detail: object) -> None:
        about = {"from": self.client, **detail}
        self.ctx.audit.append(Event(self.admin.actor, action, "account", username, REASON, about))


__all__ = ["AccountView", "Administration", "Refused", "parse_senders"]
