"""Signing in and out: with a username and password, or with a one-time link made by ``pupildata user link``;
then, for an account with two-factor sign-in, a code from its authenticator app (``/sign-in/code``). And one's own
two-factor sign-in: setting it up and turning it off (``/account/two-factor``).

Each sign-in, refused sign-in, sign-out and change of two-factor sign-in is an event in the audit trail. A refusal
never says whether the username exists. Neither a secret nor a code is ever logged or recorded.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.web import auth, totp
from pupildata.web.accounts import BROWSER, LINK, PENDING, CodeRefused, SignInRefused, User
from pupildata.web.deps import ANONYMOUS, ContextDep, client_address, get_context
from pupildata.web.permissions import OWN_ACCOUNT, PUBLIC
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Field = Annotated[str, Form()]
#: How the audit trail names the second step of signing in.
CODE = "authenticator code"


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def _record(ctx: ContextDep, request: Request, actor: str, action: str, username: str, **detail: object) -> None:
    about = {"from": client_address(request), **detail}
    ctx.audit.append(Event(actor, action, "account", username[:100], "portal sign-in", about))


def _signed_in(request: Request, ctx: ContextDep, user: User, how: str, target: str) -> Response:
    """A new session (any earlier one of this browser ends: a session is never carried across a sign-in).

    With two-factor sign-in on, a right password or link gives no session yet, only the pending secret of the
    second step. An account whose role must use two factors but has not set them up is sent to set them up."""
    for cookie in (auth.COOKIE, auth.PENDING_COOKIE):
        if earlier := request.cookies.get(cookie):
            auth.accounts(request).end(earlier)
    target = auth.local_path(target)
    if user.two_factor and how != CODE:
        pending = auth.accounts(request).start(user, PENDING)
        _record(ctx, request, user.actor, "sign in code asked", user.username, method=how)
        response = RedirectResponse(_code_url(target), status_code=303)
        response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
        auth.set_pending_cookie(response, request, pending)
        return response
    token = auth.accounts(request).start(user, BROWSER)
    _record(ctx, request, user.actor, "sign in", user.username, method=how)
    if auth.must_set_up_two_factor(request, user):
        target = auth.two_factor_url(target)
    response = RedirectResponse(target, status_code=303)
    auth.set_session_cookie(response, request, token)
    auth.clear_pending_cookie(response)
    return response


def _code_url(target: str) -> str:
    return "/sign-in/code" if target == "/" else f"/sign-in/code?next={quote(target, safe='')}"


@router.api_route("/sign-in", methods=["GET", "HEAD"], name="sign-in", dependencies=[auth.needs(PUBLIC)])
def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    return _page(request, "account/sign_in.html", {"next": auth.local_path(next), "errors": {}, "username": ""})


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
            _record(ctx, request, ANONYMOUS, "sign in refused", username.strip().lower())
            errors["password"] = str(exc)
        else:
            return _signed_in(request, ctx, user, "password", next)
    context = {"next": auth.local_path(next), "errors": errors, "username": username}
    return _page(request, "account/sign_in.html", context, status_code=401 if "password" in errors else 400)


@router.api_route(
    "/sign-in/link/{token}", methods=["GET", "HEAD"], name="sign-in-link", dependencies=[auth.needs(PUBLIC)]
)
def sign_in_link_page(request: Request, token: str) -> HTMLResponse:
    """Opening a link uses nothing up (mail scanners open links): the button on this page does."""
    return _page(request, "account/link.html", {"token": token})


@router.post("/sign-in/link", name="sign-in-link-post", dependencies=[auth.needs(PUBLIC)])
def sign_in_with_link(request: Request, ctx: ContextDep, token: Field = "") -> Response:
    auth.from_portal(request)
    user = auth.accounts(request).holder(token, LINK)
    if user is None:
        _record(ctx, request, ANONYMOUS, "sign in refused", "", method="link")
        return _page(request, "account/link_used.html", {}, status_code=401)
    return _signed_in(request, ctx, user, "one-time link", "/")


@router.post("/sign-out", name="sign-out", dependencies=[auth.needs(PUBLIC)])
def sign_out(request: Request, ctx: ContextDep) -> Response:
    auth.from_portal(request)
    user = auth.current_user(request)
    if token := request.cookies.get(auth.COOKIE):
        auth.accounts(request).end(token)
    if user is not None:
        _record(ctx, request, user.actor, "sign out", user.username)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- the second step: a code from the authenticator app ---------------------------------------------------------


def _code_page(request: Request, target: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    errors = {"code": error} if error else {}
    return _page(request, "account/code.html", {"next": target, "errors": errors}, status_code=status_code)


def _pending_user(request: Request) -> User | None:
    token = request.cookies.get(auth.PENDING_COOKIE, "")
    return auth.accounts(request).holder(token, PENDING)


def _expired(request: Request) -> Response:
    response = _page(request, "account/code_expired.html", {}, status_code=401)
    auth.clear_pending_cookie(response)
    return response


@router.api_route("/sign-in/code", methods=["GET", "HEAD"], name="sign-in-code", dependencies=[auth.needs(PUBLIC)])
def sign_in_code_form(request: Request, next: str = "/") -> Response:
    if _pending_user(request) is None:
        return _expired(request)
    return _code_page(request, auth.local_path(next))


@router.post("/sign-in/code", name="sign-in-code-post", dependencies=[auth.needs(PUBLIC)])
def sign_in_with_code(request: Request, ctx: ContextDep, code: Field = "", next: Field = "/") -> Response:
    auth.from_portal(request)
    target = auth.local_path(next)
    user = _pending_user(request)
    if user is None:
        return _expired(request)
    if totp.normalise(code) is None:
        return _code_page(request, target, _CODE_FORMAT, status_code=400)
    try:
        user = auth.accounts(request).check_code(user, code)
    except CodeRefused as exc:
        _record(ctx, request, ANONYMOUS, "sign in refused", user.username, method=CODE)
        if exc.start_again:  # locked, or no longer able to sign in
            auth.accounts(request).end(request.cookies.get(auth.PENDING_COOKIE, ""))
            response = _page(request, "account/code_expired.html", {"reason": str(exc)}, status_code=401)
            auth.clear_pending_cookie(response)
            return response
        return _code_page(request, target, str(exc), status_code=401)
    auth.accounts(request).end(request.cookies.get(auth.PENDING_COOKIE, ""))
    return _signed_in(request, ctx, user, CODE, target)


_CODE_FORMAT = "Enter the 6-digit code your authenticator app shows now, like 123456."


# --- one's own two-factor sign-in ------------------------------------------------------------------------------


def _qr_code(uri: str) -> Markup:
    """The set-up address as a QR code: an inline SVG image (no script, no style: the CSP holds)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#0b0c0c", light="#ffffff", title="QR code to scan with your authenticator app"
    )
    # segno writes the SVG itself from the address's bits: no text of ours or the person's is put in unescaped.
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="QR code to scan with your authenticator app" ', 1)
    return Markup(labelled)  # noqa: S704


def _two_factor_page(
    request: Request, user: User, target: str, error: str = "", *, status_code: int = 200, done: str = ""
) -> HTMLResponse:
    context: dict[str, Any] = {
        "next": target,
        "done": done if done in ("on", "off") else "",
        "errors": {"code": error} if error else {},
        "two_factor": user.two_factor,
        "required": user.role in get_context(request).policy.sign_in.two_factor_roles,
    }
    if not user.two_factor:
        secret = auth.accounts(request).begin_two_factor(user.username)
        uri = totp.provisioning_uri(secret, user.username)
        context |= {"key": totp.grouped(secret), "uri": uri, "qr": _qr_code(uri)}
    return _page(request, "account/two_factor.html", context, status_code=status_code)


@router.api_route(
    "/account/two-factor", methods=["GET", "HEAD"], name="two-factor", dependencies=[auth.needs(OWN_ACCOUNT)]
)
def two_factor_form(request: Request, next: str = "/", done: str = "") -> HTMLResponse:
    return _two_factor_page(request, auth.signed_in(request), auth.local_path(next), done=done)


@router.post("/account/two-factor", name="two-factor-on", dependencies=[auth.needs(OWN_ACCOUNT)])
def two_factor_on(request: Request, ctx: ContextDep, code: Field = "", next: Field = "/") -> Response:
    """Switch two-factor sign-in on with the first code of the key just shown; other browsers are signed out."""
    auth.from_portal(request)
    user, target = auth.signed_in(request), auth.local_path(next)
    if user.two_factor:
        return _two_factor_page(request, user, target)
    if totp.normalise(code) is None:
        return _two_factor_page(request, user, target, _CODE_FORMAT, status_code=400)
    try:
        auth.accounts(request).confirm_two_factor(user.username, code)
    except CodeRefused as exc:
        return _two_factor_page(request, user, target, str(exc), status_code=400)
    except UsageError:  # switched on meanwhile, in another browser
        return _two_factor_page(request, auth.accounts(request).get(user.username), target)
    auth.accounts(request).end_all(user, keep=request.cookies.get(auth.COOKIE))
    _record(ctx, request, user.actor, "two-factor on", user.username)
    return RedirectResponse(target if target != "/" else auth.TWO_FACTOR_PAGE + "?done=on", status_code=303)


@router.post("/account/two-factor/off", name="two-factor-off", dependencies=[auth.needs(OWN_ACCOUNT)])
def two_factor_off(request: Request, ctx: ContextDep, code: Field = "") -> Response:
    """Switch two-factor sign-in off, with a current code (a role that must use it is asked to set it up again)."""
    auth.from_portal(request)
    user = auth.signed_in(request)
    if not user.two_factor:
        return _two_factor_page(request, user, "/")
    if totp.normalise(code) is None:
        return _two_factor_page(request, user, "/", _CODE_FORMAT, status_code=400)
    try:
        auth.accounts(request).turn_off_two_factor(user.username, code)
    except CodeRefused as exc:
        _record(ctx, request, user.actor, "two-factor off refused", user.username)
        return _two_factor_page(request, user, "/", str(exc), status_code=400)
    _record(ctx, request, user.actor, "two-factor off", user.username)
    return RedirectResponse(auth.TWO_FACTOR_PAGE + "?done=off", status_code=303)
