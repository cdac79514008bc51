"""Signing in and out: with a username and password, or with a one-time link made by ``pupildata user link`` or
on the accounts pages; then, for an account with two-factor sign-in, a code from its authenticator app or one of
its recovery codes (``/sign-in/code``). One's own two-factor sign-in is in ``two_factor``.

Each sign-in, refused sign-in, sign-out and change of two-factor sign-in is an event in the audit trail. A refusal
never says whether the username exists. Neither a secret nor a code is ever logged or recorded.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.kernel.audit import Event
from pupildata.web import auth, recovery, totp
from pupildata.web.accounts import BROWSER, LINK, PENDING, CodeRefused, SignInRefused, User
from pupildata.web.deps import ANONYMOUS, ContextDep, client_address
from pupildata.web.permissions import PUBLIC
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Field = Annotated[str, Form()]
#: How the audit trail names the second step of signing in: with the app's code, or a recovery code.
CODE = "authenticator code"
RECOVERY = "recovery code"
CODE_FORMAT = "Enter the 6-digit code your authenticator app shows now, like 123456."
SIGN_IN_FORMAT = "Enter the 6-digit code your authenticator app shows now, like 123456, or use a recovery code."
RECOVERY_FORMAT = "Enter a recovery code: 16 letters and digits, like 7k2m-9qrt-x4bd-h8wz."


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def record(ctx: ContextDep, request: Request, actor: str, action: str, username: str, **detail: object) -> None:
    about = {"from": client_address(request), **detail}
    ctx.audit.append(Event(actor, action, "account", username[:100], "portal sign-in", about))


def _signed_in(
    request: Request, ctx: ContextDep, user: User, how: str, target: str, *, shown: HTMLResponse | None = None
) -> Response:
    """A new session (any earlier one of this browser ends: a session is never carried across a sign-in), and
    the browser sent on to ``target`` (or shown the page ``shown`` instead).

    With two-factor sign-in on, a right password or link gives no session yet, only the pending secret of the
    second step. An account whose role must use two factors but has not set them up is sent to set them up."""
    for cookie in (auth.COOKIE, auth.PENDING_COOKIE):
        if earlier := request.cookies.get(cookie):
            auth.accounts(request).end(earlier)
    target = auth.local_path(target)
    if user.two_factor and how not in (CODE, RECOVERY):
        pending = auth.accounts(request).start(user, PENDING)
        record(ctx, request, user.actor, "sign in code asked", user.username, method=how)
        asked = RedirectResponse(_code_url(target), status_code=303)
        asked.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
        auth.set_pending_cookie(asked, request, pending)
        return asked
    token = auth.accounts(request).start(user, BROWSER)
    record(ctx, request, user.actor, "sign in", user.username, method=how)
    if auth.must_set_up_two_factor(request, user):
        target = auth.two_factor_url(target)
    response: Response = shown if shown is not None else RedirectResponse(target, status_code=303)
    auth.set_session_cookie(response, request, token)
    auth.clear_pending_cookie(response)
    return response


def _code_url(target: str) -> str:
    return "/sign-in/code" if target == "/" else f"/sign-in/code?next={quote(target, safe='')}"


@router.api_route("/sign-in", methods=["GET", "HEAD"], name="sign-in", dependencies=[auth.needs(PUBLIC)])
def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "account/sign_in.html", {"next": auth.local_path(next), "errors": {}, "username": ""})


@router.post("/sign-in", name="sign-in-post", dependencies=[auth.needs(PUBLIC)])
def sign_in(
    request: Request, ctx: ContextDep, username: Field = "", password: Field = "", next: Field = "/"
) -> Response:
    auth.from_portal(request)
    errors = {}
    if not username.strip():
        errors["username"] = "Enter your username"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 - a message, not a password
    if not errors:
        try:
            user = auth.accounts(request).sign_in(username, password)
        except SignInRefused as exc:
            record(ctx, request, ANONYMOUS, "sign in refused", username.strip().lower())
            errors["password"] = str(exc)
        else:
            return _signed_in(request, ctx, user, "password", next)
    context = {"next": auth.local_path(next), "errors": errors, "username": username}
    return page(request, "account/sign_in.html", context, status_code=401 if "password" in errors else 400)


@router.api_route(
    "/sign-in/link/{token}", methods=["GET", "HEAD"], name="sign-in-link", dependencies=[auth.needs(PUBLIC)]
)
def sign_in_link_page(request: Request, token: str) -> HTMLResponse:
    """Opening a link uses nothing up (mail scanners open links): the button on this page does."""
    return page(request, "account/link.html", {"token": token})


@router.post("/sign-in/link", name="sign-in-link-post", dependencies=[auth.needs(PUBLIC)])
def sign_in_with_link(request: Request, ctx: ContextDep, token: Field = "") -> Response:
    auth.from_portal(request)
    user = auth.accounts(request).holder(token, LINK)
    if user is None:
        record(ctx, request, ANONYMOUS, "sign in refused", "", method="link")
        return page(request, "account/link_used.html", {}, status_code=401)
    return _signed_in(request, ctx, user, "one-time link", "/")


@router.post("/sign-out", name="sign-out", dependencies=[auth.needs(PUBLIC)])
def sign_out(request: Request, ctx: ContextDep) -> Response:
    auth.from_portal(request)
    user = auth.current_user(request)
    if token := request.cookies.get(auth.COOKIE):
        auth.accounts(request).end(token)
    if user is not None:
        record(ctx, request, user.actor, "sign out", user.username)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- the second step: a code from the authenticator app ---------------------------------------------------------


def _code_page(
    request: Request, target: str, error: str = "", status_code: int = 200, field: str = "code"
) -> HTMLResponse:
    errors = {field: error} if error else {}
    return page(request, "account/code.html", {"next": target, "errors": errors}, status_code=status_code)


def _pending_user(request: Request) -> User | None:
    token = request.cookies.get(auth.PENDING_COOKIE, "")
    return auth.accounts(request).holder(token, PENDING)


def _expired(request: Request) -> Response:
    response = page(request, "account/code_expired.html", {}, status_code=401)
    auth.clear_pending_cookie(response)
    return response


@router.api_route("/sign-in/code", methods=["GET", "HEAD"], name="sign-in-code", dependencies=[auth.needs(PUBLIC)])
def sign_in_code_form(request: Request, next: str = "/") -> Response:
    if _pending_user(request) is None:
        return _expired(request)
    return _code_page(request, auth.local_path(next))


@router.post("/sign-in/code", name="sign-in-code-post", dependencies=[auth.needs(PUBLIC)])
def sign_in_with_code(
    request: Request, ctx: ContextDep, code: Field = "", next: Field = "/", kind: Field = ""
) -> Response:
    """The second step: the app's code, or a recovery code instead (used up, and how many are left is shown)."""
    auth.from_portal(request)
    target = auth.local_path(next)
    user = _pending_user(request)
    if user is None:
        return _expired(request)
    how = CODE if totp.normalise(code) is not None else RECOVERY if recovery.normalise(code) is not None else ""
    if not how:
        field = "recovery-code" if kind == "recovery" else "code"
        message = RECOVERY_FORMAT if kind == "recovery" else SIGN_IN_FORMAT
        return _code_page(request, target, message, status_code=400, field=field)
    left = 0
    try:
        if how == CODE:
            user = auth.accounts(request).check_code(user, code)
        else:
            user, left = auth.accounts(request).check_recovery_code(user, code)
    except CodeRefused as exc:
        record(ctx, request, ANONYMOUS, "sign in refused", user.username, method=how)
        if exc.start_again:  # locked, or no longer able to sign in
            auth.accounts(request).end(request.cookies.get(auth.PENDING_COOKIE, ""))
            response = page(request, "account/code_expired.html", {"reason": str(exc)}, status_code=401)
            auth.clear_pending_cookie(response)
            return response
        return _code_page(request, target, str(exc), 401, "code" if how == CODE else "recovery-code")
    auth.accounts(request).end(request.cookies.get(auth.PENDING_COOKIE, ""))
    if how == CODE:
        return _signed_in(request, ctx, user, CODE, target)
    record(ctx, request, user.actor, "recovery code used", user.username, left=left)
    shown = page(request, "account/recovery_used.html", {"next": target, "left": left})
    return _signed_in(request, ctx, user, RECOVERY, target, shown=shown)
