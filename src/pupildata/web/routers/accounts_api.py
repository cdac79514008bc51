"""The JSON twins of the accounts pages (``/api/v1/accounts``, permission ``accounts:manage``).

They change accounts through the same audited ``Administration`` as the pages, with the same refusals (400, the
one sentence in ``detail``). A sign-in link is in the answer to the request that made it, and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from pupildata.web.administration import AccountView, Refused
from pupildata.web.auth import needs
from pupildata.web.deps import ContextDep
from pupildata.web.permissions import MANAGE_ACCOUNTS, ROLES
from pupildata.web.routers.accounts import administration, found, portal_address

api = APIRouter(prefix="/api/v1/accounts", tags=["accounts"], dependencies=[needs(MANAGE_ACCOUNTS)])


class AccountOut(BaseModel):
    id: int
    username: str
    name: str
    role: str
    role_title: str
    senders: list[str] = Field(description="For a sender's role: sender codes, or la:NNN for an authority's schools.")
    status: str = Field(description="active, locked (too many wrong passwords or codes) or disabled.")
    two_factor: bool = Field(description="Whether the account signs in with a code from an authenticator app too.")
    recovery_codes_left: int = Field(description="Unused two-factor recovery codes.")
    api_tokens: int = Field(description="API tokens of the account that still work.")
    created_at: datetime
    last_sign_in_at: datetime | None = Field(description="When a browser last signed in to the account.")
    locked_until: datetime | None


class AccountIn(BaseModel):
    username: str = Field(description="2 to 100 lower-case letters, digits, dots, hyphens or underscores.")
    name: str = Field("", description="The person's name, shown when they are signed in (default: the username).")
    role: str = Field(description=f"One of: {', '.join(ROLES)}.")
    senders: list[str] = Field(default_factory=list, description="Only for the sender role, at least one.")


class CreatedOut(BaseModel):
    account: AccountOut
    sign_in_link: str = Field(description="Works once, for 30 minutes. It is not shown again.")


class ChangeIn(BaseModel):
    role: str | None = Field(None, description="A new role (its senders: those given, or the account's own).")
    senders: list[str] | None = None
    disabled: bool | None = Field(None, description="true disables the account (ending its sessions); false enables.")


class LinkOut(BaseModel):
    sign_in_link: str = Field(description="Works once, for 30 minutes. It is not shown again.")


def _out(view: AccountView) -> AccountOut:
    user = view.user
    return AccountOut(
        id=user.id, username=user.username, name=user.display_name, role=user.role, role_title=user.role_title,
        senders=list(user.scope), status=view.status, two_factor=user.two_factor,
        recovery_codes_left=view.recovery_codes_left, api_tokens=view.api_tokens, created_at=view.created_at,
        last_sign_in_at=view.last_sign_in_at, locked_until=view.locked_until,
    )  # fmt: skip


def _refused(exc: Refused) -> HTTPException:
    return HTTPException(400, exc.message)


@api.get("", response_model=list[AccountOut], summary="Every account")
def api_accounts(request: Request, ctx: ContextDep) -> list[AccountOut]:
    """Every account by username: role, senders, status, last sign-in and two-factor sign-in."""
    return [_out(view) for view in administration(request, ctx).overview()]


@api.post("", response_model=CreatedOut, status_code=201, summary="Add an account")
def api_create(request: Request, ctx: ContextDep, body: AccountIn) -> CreatedOut:
    """Add an account, which signs in first with the one-time link in the answer. Recorded in the audit trail."""
    admin = administration(request, ctx)
    try:
        user, link = admin.create(body.username, body.name, body.role, body.senders, portal_address(request))
    except Refused as exc:
        raise _refused(exc) from None
    return CreatedOut(account=_out(found(admin, str(user.id))), sign_in_link=link)


@api.get("/{account_id}", response_model=AccountOut, summary="One account")
def api_account(request: Request, ctx: ContextDep, account_id: int) -> AccountOut:
    return _out(found(administration(request, ctx), str(account_id)))


@api.patch("/{account_id}", response_model=AccountOut, summary="Change an account")
def api_change(request: Request, ctx: ContextDep, account_id: int, body: ChangeIn) -> AccountOut:
    """Change the role or senders, or disable or enable the account; each change is an audit event. An
    administrator cannot disable their own account or give it a role that cannot manage accounts."""
    admin = administration(request, ctx)
    user = found(admin, str(account_id)).user
    try:
        if body.role is not None or body.senders is not None:
            role = body.role if body.role is not None else user.role
            kept = list(user.scope) if role in ROLES and not ROLES[role].all_senders else []
            admin.change_role(user, role, body.senders if body.senders is not None else kept)
        if body.disabled is True:
            admin.disable(user)
        elif body.disabled is False:
            admin.enable(user)
    except Refused as exc:
        raise _refused(exc) from None
    return _out(found(admin, str(account_id)))


@api.post("/{account_id}/two-factor-reset", response_model=AccountOut, summary="Reset two-factor sign-in")
def api_reset(request: Request, ctx: ContextDep, account_id: int) -> AccountOut:
    """Turn off the account's two-factor sign-in (a lost phone) and sign its browsers out; its recovery codes end."""
    admin = administration(request, ctx)
    try:
        admin.reset_two_factor(found(admin, str(account_id)).user)
    except Refused as exc:
        raise _refused(exc) from None
    return _out(found(admin, str(account_id)))


@api.post("/{account_id}/sign-in-link", response_model=LinkOut, summary="Make a one-time sign-in link")
def api_link(request: Request, ctx: ContextDep, account_id: int) -> LinkOut:
    admin = administration(request, ctx)
    try:
        return LinkOut(sign_in_link=admin.sign_in_link(found(admin, str(account_id)).user, portal_address(request)))
    except Refused as exc:
        raise _refused(exc) from None


@api.post("/{account_id}/tokens-revoke", response_model=AccountOut, summary="Revoke the account's API tokens")
def api_revoke_tokens(request: Request, ctx: ContextDep, account_id: int) -> AccountOut:
    """End every API token of the account at once; recorded in the audit trail with how many there were."""
    admin = administration(request, ctx)
    admin.revoke_tokens(found(admin, str(account_id)).user)
    return _out(found(admin, str(account_id)))
