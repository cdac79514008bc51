"""Who an account is (``User``, read from its registry row by ``user_of``) and the rules its settings keep:
username, password length, role and senders.

Kept apart from ``pupildata.web.accounts`` (the registry's accounts and their secrets) so that the pages and
commands that manage accounts check what people type with the same rules, and the same sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pupildata.collect.scope import LA_SCOPE, in_scope
from pupildata.errors import UsageError
from pupildata.kernel.registry.models import PortalUser
from pupildata.web.permissions import ROLES

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,99}")
MIN_PASSWORD = 12


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
        """Whether this account may read the returns of ``sender`` (``collect.scope``: the same rule decides
        whether it may send them)."""
        return ROLES[self.role].all_senders or in_scope(self.scope, sender)


def user_of(row: PortalUser) -> User:
    """The account a registry row holds, as the portal passes it around."""
    return User(
        row.id, row.username, row.display_name, row.role, tuple(row.scope), row.disabled_at is not None,
        two_factor_on(row),
    )  # fmt: skip


def two_factor_on(row: PortalUser) -> bool:
    """Whether the account's two-factor sign-in is on: set up, and confirmed with a first code."""
    return row.totp_secret is not None and row.totp_confirmed_at is not None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"A password must have at least {MIN_PASSWORD} characters; this one has {len(password)}.")


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise UsageError(
            f"'{username}' is not a usable username: use 2 to 100 lower-case letters, digits, dots, hyphens "
            "or underscores, starting with a letter or digit."
        )


def check_scope(role: str, scope: list[str], *, option: str = "--sender") -> None:
    """``role`` exists and ``scope`` suits it; ``option`` is how the refusal names a sender (the command's option,
    or the portal's field)."""
    if role not in ROLES:
        raise UsageError(f"There is no role called '{role}'. The roles are: {', '.join(ROLES)}.")
    if ROLES[role].all_senders and scope:
        raise UsageError(f"The role '{role}' sees every sender's returns, so it takes no {option}.")
    if not ROLES[role].all_senders and not scope:
        raise UsageError(
            f"The role '{role}' needs at least one {option}: a sender's code (a school's LA and establishment "
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


__all__ = [
    "LA_SCOPE", "MIN_PASSWORD", "USERNAME", "User", "check_password", "check_scope", "check_two_factor_roles",
    "check_username", "two_factor_on", "user_of",
]  # fmt: skip
