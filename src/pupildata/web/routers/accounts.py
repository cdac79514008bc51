"""The accounts pages, for the Data Protection Officer (permission ``accounts:manage``): every account, adding one
(with a one-time sign-in link to hand over), and one account's role, senders, status, two-factor sign-in and API
tokens (how many work; revoking them all).

Every change goes through ``pupildata.web.administration`` (one audited write path, shared with the JSON twins in
``accounts_api``), from a form the portal's own pages sent (``from_portal``). A refused change shows the page
again with the GOV.UK error summary, its one sentence naming the value and the rule. A sign-in link is the answer
to the form that made it, never a page that can be asked for again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.web.administration import AccountView, Administration, Refused, parse_senders
from pupildata.web.auth import from_portal, needs, signed_in
from pupildata.web.deps import ContextDep, client_address, get_context
from pupildata.web.permissions import MANAGE_ACCOUNTS, ROLES
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(MANAGE_ACCOUNTS)])

Field = Annotated[str, Form()]
ROLE_HINTS = {
    "statistician": "Every collection and return, and matching review.",
    "chief-statistician": "As a statistician; approves sharing.",
    "data-protection-officer": "Every return, the audit trail, and managing accounts.",
    "sender": "A school, local authority or other body: only the returns of the senders given.",
}
DONE = {
    "role": "The account's role and senders were changed. They apply from the account's next page.",
    "disabled": "The account was disabled, and its sessions, tokens and links ended.",
    "enabled": "The account was enabled. Give its holder a new sign-in link, or they use their password.",
    "reset": "Two-factor sign-in was reset, and the account's browsers signed out.",
    "tokens": "The account's API tokens were revoked: none of them works any more.",
}


def administration(request: Request, ctx: ContextDep) -> Administration:
    return Administration(ctx, signed_in(request), client_address(request))


def portal_address(request: Request) -> str:
    """The portal's own address, as the browser reached it, for sign-in links."""
    return str(request.base_url).rstrip("/")


def found(admin: Administration, account_id: str) -> AccountView:
    view = admin.view(int(account_id)) if account_id.isdigit() and len(account_id) < 10 else None
    if view is None:
        raise HTTPException(404, f"There is no account numbered '{account_id[:20]}'.")
    return view


def senders_of(role: str, text: str) -> list[str]:
    """The senders typed under the sender role; none for a role that sees every sender (the box belongs to the
    sender's choice, and may still hold the senders of the role the account had)."""
    chosen = ROLES.get(role)
    return [] if chosen is not None and chosen.all_senders else parse_senders(text)


def _roles(request: Request) -> list[dict[str, str | bool]]:
    must = get_context(request).policy.sign_in.two_factor_roles
    return [
        {
            "value": name,
            "title": role.title,
            "hint": ROLE_HINTS.get(name, "") + (" Must use two-factor sign-in." if name in must else ""),
        }
        for name, role in ROLES.items()
    ]


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    context = {"roles": _roles(request), "errors": {}, **context}
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def _account_page(request: Request, view: AccountView, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    values = {"role": view.user.role, "senders": "\n".join(view.user.scope)}
    must = view.user.role in get_context(request).policy.sign_in.two_factor_roles
    me = signed_in(request).id == view.user.id
    context = {"account": view, "me": me, "values": values, "must_two_factor": must, **context}
    return _page(request, "accounts/account.html", context, status_code)


@router.api_route("/accounts", methods=["GET", "HEAD"], name="accounts")
def accounts_page(request: Request, ctx: ContextDep) -> HTMLResponse:
    return _page(request, "accounts/list.html", {"accounts": administration(request, ctx).overview()})


@router.api_route("/accounts/new", methods=["GET", "HEAD"], name="account-new")
def new_account_form(request: Request) -> HTMLResponse:
    return _page(request, "accounts/new.html", {"values": {"username": "", "name": "", "role": "", "senders": ""}})


@router.post("/accounts/new", name="account-create")
def create_account(  # noqa: PLR0917 - the form's fields
    request: Request, ctx: ContextDep, username: Field = "", name: Field = "", role: Field = "", senders: Field = ""
) -> Response:
    from_portal(request)
    values = {"username": username, "name": name, "role": role, "senders": senders}
    admin = administration(request, ctx)
    try:
        if not username.strip():
            raise Refused("Enter a username for the account.", "username")
        if not role:
            raise Refused("Choose the account's role.", "role")
        user, link = admin.create(username, name, role, senders_of(role, senders), portal_address(request))
    except Refused as exc:
        return _page(request, "accounts/new.html", {"values": values, "errors": {exc.field: exc.message}}, 400)
    return _account_page(request, found(admin, str(user.id)), link=link, created=True)


@router.api_route("/accounts/{account_id}", methods=["GET", "HEAD"], name="account")
def account_page(request: Request, ctx: ContextDep, account_id: str, done: str = "") -> HTMLResponse:
    return _account_page(request, found(administration(request, ctx), account_id), done=DONE.get(done, ""))


def _act(request: Request, ctx: ContextDep, account_id: str, action: str, **form: str) -> Response:
    """Make one change to an account from its page; then back to the page, saying what was done."""
    from_portal(request)
    admin = administration(request, ctx)
    view = found(admin, account_id)
    try:
        if action == "role":
            admin.change_role(view.user, form["role"], senders_of(form["role"], form["senders"]))
        elif action == "disabled":
            admin.disable(view.user)
        elif action == "enabled":
            admin.enable(view.user)
        elif action == "reset":
            admin.reset_two_factor(view.user)
        elif action == "tokens":
            admin.revoke_tokens(view.user)
        else:
            link = admin.sign_in_link(view.user, portal_address(request))
            return _account_page(request, view, link=link)
    except Refused as exc:
        values = {"role": form.get("role", view.user.role), "senders": form.get("senders", "\n".join(view.user.scope))}
        return _account_page(request, view, status_code=400, errors={exc.field: exc.message}, values=values)
    return RedirectResponse(f"/accounts/{view.user.id}?done={action}", status_code=303)


@router.post("/accounts/{account_id}/role", name="account-role")
def change_role(request: Request, ctx: ContextDep, account_id: str, role: Field = "", senders: Field = "") -> Response:
    return _act(request, ctx, account_id, "role", role=role, senders=senders)


@router.post("/accounts/{account_id}/disable", name="account-disable")
def disable(request: Request, ctx: ContextDep, account_id: str) -> Response:
    return _act(request, ctx, account_id, "disabled")


@router.post("/accounts/{account_id}/enable", name="account-enable")
def enable(request: Request, ctx: ContextDep, account_id: str) -> Response:
    return _act(request, ctx, account_id, "enabled")


@router.post("/accounts/{account_id}/two-factor-reset", name="account-two-factor-reset")
def reset_two_factor(request: Request, ctx: ContextDep, account_id: str) -> Response:
    return _act(request, ctx, account_id, "reset")


@router.post("/accounts/{account_id}/tokens-revoke", name="account-tokens-revoke")
def revoke_tokens(request: Request, ctx: ContextDep, account_id: str) -> Response:
    return _act(request, ctx, account_id, "tokens")


@router.post("/accounts/{account_id}/sign-in-link", name="account-sign-in-link")
def sign_in_link(request: Request, ctx: ContextDep, account_id: str) -> Response:
    return _act(request, ctx, account_id, "link")
