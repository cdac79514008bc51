"""Roles and what they permit: one table, read by every route's declaration and by the tests that walk them.

A route declares the one permission it needs where it is declared (``dependencies=[needs(READ_RETURNS)]``, see
``pupildata.web.auth``). A role is a set of permissions; a sender's role is further limited to its own returns
by the account's scope. Anyone, signed in or not, holds ``PUBLIC``: the home page, the privacy notice, the rules
every return is checked against, and statistics that have passed disclosure control.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC = "public"
#: One's own account: one's password, and setting up or turning off two-factor sign-in. Every role holds it.
OWN_ACCOUNT = "account:own"
#: One's own API tokens, for another system to call the JSON API as the account: making, listing and revoking
#: them. Only the roles whose work other systems do: the statisticians' (exports of collections and returns,
#: matching decisions). A token is not asked for two-factor codes, so the Data Protection Officer's powers
#: (accounts, the audit trail) are not put in one; a sender's returns are files it sends, read in the portal. An
#: operator can still give any account a token on the command line (``pupildata user token``).
OWN_TOKENS = "tokens:own"
#: Every collection, and each collection's status: who has sent, who has not, with how many errors. Names
#: schools and bodies, never a pupil.
READ_COLLECTIONS = "collections:read"
#: A return's receipt and its validation report, which show pupils' values: only returns the account may see.
READ_RETURNS = "returns:read"
#: Sending one's own return in the portal (a file from a sender in the account's scope; any other is refused).
#: Only senders: department staff load files with the command line, where every step is an operator's (least
#: privilege).
SEND_RETURNS = "returns:send"
#: The pairs of records matching was unsure of, side by side, and deciding whether they are the same child.
REVIEW_MATCHES = "matching:review"
#: The audit trail: who viewed, changed, matched or shared what, and whether the trail is intact.
READ_AUDIT = "audit:read"
#: Other people's accounts: creating them, their role and senders, disabling them, resetting their two-factor
#: sign-in, one-time sign-in links. Only the Data Protection Officer: who may see pupils' data is the question
#: that role answers for; the Chief Statistician approves sharing, not access (least privilege).
MANAGE_ACCOUNTS = "accounts:manage"

PERMISSIONS: dict[str, str] = {
    PUBLIC: "Pages anyone may read: the service, the privacy notice, the rules, published statistics.",
    OWN_ACCOUNT: "One's own account: one's password, and setting up or turning off two-factor sign-in.",
    OWN_TOKENS: "One's own API tokens, for other systems to call the JSON API: making, listing and revoking them.",
    READ_COLLECTIONS: "Every collection's status: who has sent a return, who has not, and with how many errors.",
    READ_RETURNS: "Returns with their validation reports, which show pupils' values (a sender: only its own).",
    SEND_RETURNS: "Sending one's own return in the portal, and seeing at once what became of it.",
    REVIEW_MATCHES: "Pairs of records matching was unsure of, side by side, and deciding if they are one child.",
    READ_AUDIT: "The audit trail: every view and change of pupils' data, by whom, and whether it is intact.",
    MANAGE_ACCOUNTS: "Other people's accounts: adding them, their role and senders, disabling them, two-factor resets.",
}


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    permissions: frozenset[str]
    #: Whether the role sees every sender's returns (department staff) or only those in the account's scope.
    all_senders: bool


_STAFF = frozenset({PUBLIC, OWN_ACCOUNT, READ_COLLECTIONS, READ_RETURNS})
_STATISTICIANS = _STAFF | {REVIEW_MATCHES, OWN_TOKENS}

ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("statistician", "Statistician", _STATISTICIANS, all_senders=True),
        Role("chief-statistician", "Chief Statistician", _STATISTICIANS, all_senders=True),
        Role(
            "data-protection-officer",
            "Data Protection Officer",
            _STAFF | {READ_AUDIT, MANAGE_ACCOUNTS},
            all_senders=True,
        ),
        Role(
            "sender",
            "School, local authority or other sender",
            frozenset({PUBLIC, OWN_ACCOUNT, READ_RETURNS, SEND_RETURNS}),
            all_senders=False,
        ),
    )
}


def role_names() -> list[str]:
    return list(ROLES)


__all__ = [
    "MANAGE_ACCOUNTS", "OWN_ACCOUNT", "OWN_TOKENS", "PERMISSIONS", "PUBLIC", "READ_AUDIT", "READ_COLLECTIONS",
    "READ_RETURNS", "REVIEW_MATCHES", "ROLES", "SEND_RETURNS", "Role", "role_names",
]  # fmt: skip
