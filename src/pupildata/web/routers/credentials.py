"""One's own account (``/account``: what it is, and the way to its password, two-factor sign-in and API tokens),
one's own password (``/account/password``, permission ``account:own``) and API tokens (``/account/tokens``,
permission ``tokens:own``), so that no one needs the command line for either.

Changing a password needs the current one, unless the account has none yet (its holder signed in with a one-time
link); a wrong one counts in the sign-in lockout, so the form is no way to guess it. The change signs out the
account's other browsers, this one kept. A new API token is shown once, as the answer to the form that made it
(never a page that can be asked for again); the list names each token by its public id, never its secret, and
revoking one finds it among the signed-in account's own tokens only. Both pages refuse a request signed in by an
API token (``auth.in_a_browser``). Every change is an event in the audit trail, with the token's label and public
id; no password or secret is recorded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.errors import UsageError
from pupildata.web import auth, tokens
from pupildata.web.accounts import SignInRefused, User, check_password
from pupildata.web.deps import ContextDep
from pupildata.web.permissions import OWN_ACCOUNT, OWN_TOKENS
from pupildata.web.routers.account import Field, page, record
from pupildata.web.users import MIN_PASSWORD

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PASSWORD_PAGE = "/account/password"  # noqa: S105 - a page's address
TOKENS_PAGE = "/account/tokens"
NOT_THE_SAME = "Enter the same new password twice: the two you entered are not the same."


# --- your account -----------------------------------------------------------------------------------------------


@router.api_route("/account", methods=["GET", "HEAD"], name="account", dependencies=[auth.needs(OWN_ACCOUNT)])
def account_page(request: Request) -> HTMLResponse:
    """The signed-in account at a glance, each setting with the way to change it (the account bar links here)."""
    user, accounts = auth.signed_in(request), auth.accounts(request)
    context = {
        "has_password": accounts.has_password(user),
        "codes_left": accounts.recovery_codes_left(user.username) if user.two_factor else 0,
        "tokens": len(accounts.api_tokens(user)) if user.can(OWN_TOKENS) else None,
    }
    return page(request, "account/overview.html", context)


# --- your password ----------------------------------------------------------------------------------------------


def _password_page(
    request: Request, user: User, errors: dict[str, str] | None = None, *, done: bool = False, status_code: int = 200
) -> HTMLResponse:
    context = {
        "errors": errors or {},
        "has_password": auth.accounts(request).has_password(user),
        "done": done,
        "min_password": MIN_PASSWORD,
    }
    return page(request, "account/password.html", context, status_code=status_code)


@router.api_route(PASSWORD_PAGE, methods=["GET", "HEAD"], name="password", dependencies=[auth.needs(OWN_ACCOUNT)])
def password_form(request: Request, done: str = "") -> HTMLResponse:
    auth.in_a_browser(request)
    return _password_page(request, auth.signed_in(request), done=done == "changed")


def _new_password_errors(new: str, confirm: str) -> dict[str, str]:
    if not new:
        return {"new": "Enter a new password."}
    try:
        check_password(new)
    except UsageError as exc:
        return {"new": exc.message}
    return {"confirm": NOT_THE_SAME} if confirm != new else {}


@router.post(PASSWORD_PAGE, name="password-change", dependencies=[auth.needs(OWN_ACCOUNT)])
def change_password(
    request: Request, ctx: ContextDep, current: Field = "", new: Field = "", confirm: Field = ""
) -> Response:
    """Set or change one's own password; the account's other browsers are signed out."""
    auth.from_portal(request)
    auth.in_a_browser(request)
    user, accounts = auth.signed_in(request), auth.accounts(request)
    had_one = accounts.has_password(user)
    errors = {"current": "Enter your current password."} if had_one and not current else {}
    errors |= _new_password_errors(new, confirm)
    if errors:
        return _password_page(request, user, errors, status_code=400)
    try:
        accounts.change_password(user, current if had_one else None, new)
    except SignInRefused as exc:
        record(ctx, request, user.actor, "password change refused", user.username)
        return _password_page(request, user, {"current": str(exc)}, status_code=400)
    ended = accounts.end_all(user, keep=request.cookies.get(auth.COOKIE))
    action = "password changed" if had_one else "password set"
    record(ctx, request, user.actor, action, user.username, browsers_signed_out=ended)
    return RedirectResponse(PASSWORD_PAGE + "?done=changed", status_code=303)


# --- your API tokens --------------------------------------------------------------------------------------------

DONE = {"revoked": "The token was revoked: it no longer works."}


def _tokens_page(
    request: Request,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "tokens": auth.accounts(request).api_tokens(user),
        "errors": errors or {},
        "values": values or {"label": "", "days": str(tokens.DEFAULT_DAYS)},
        "done": DONE.get(done, ""),
        "max_label": tokens.MAX_LABEL,
        "max_days": tokens.MAX_DAYS,
    }
    return page(request, "account/tokens.html", context, status_code=status_code)


@router.api_route(TOKENS_PAGE, methods=["GET", "HEAD"], name="tokens", dependencies=[auth.needs(OWN_TOKENS)])
def tokens_page(request: Request, done: str = "") -> HTMLResponse:
    auth.in_a_browser(request)
    return _tokens_page(request, auth.signed_in(request), done=done)


@router.post(TOKENS_PAGE, name="token-make", dependencies=[auth.needs(OWN_TOKENS)])
def make_token(request: Request, ctx: ContextDep, label: Field = "", days: Field = "") -> Response:
    """A new API token, shown once in the answer (which, as every page, is never cached)."""
    auth.from_portal(request)
    auth.in_a_browser(request)
    user = auth.signed_in(request)
    values = {"label": label, "days": days}
    try:
        checked = tokens.check_label(label)
    except UsageError as exc:
        return _tokens_page(request, user, errors={"label": exc.message}, values=values, status_code=400)
    try:
        lifetime = tokens.check_days(days or tokens.DEFAULT_DAYS)
    except UsageError as exc:
        return _tokens_page(request, user, errors={"days": exc.message}, values=values, status_code=400)
    secret, made = auth.accounts(request).make_token(user, checked, lifetime)
    detail = {"label": checked, "days": lifetime, "token": made.public_id}
    record(ctx, request, user.actor, "API token made", user.username, **detail)
    response = page(request, "account/token_made.html", {"secret": secret, "token": made})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(TOKENS_PAGE + "/revoke", name="token-revoke", dependencies=[auth.needs(OWN_TOKENS)])
def revoke_token(request: Request, ctx: ContextDep, token: Field = "") -> Response:
    """End one of one's own tokens, named by its public id (another account's is never found)."""
    auth.from_portal(request)
    auth.in_a_browser(request)
    user = auth.signed_in(request)
    revoked = auth.accounts(request).revoke_token(user, token.strip().lower())
    if revoked is None:
        shown = token.strip()[:20]
        message = f"You have no token '{shown}' that still works: it may have been revoked already, or expired."
        return _tokens_page(request, user, errors={"tokens": message}, status_code=404)
    record(ctx, request, user.actor, "API token revoked", user.username, label=revoked.label, token=revoked.public_id)
    return RedirectResponse(TOKENS_PAGE + "?done=revoked", status_code=303)
