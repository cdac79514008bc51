"""Signing in and out: with a username and password, or with a one-time link made by ``pupildata user link``.

Each sign-in, refused sign-in and sign-out is an event in the audit trail. A refusal never says whether the
username exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.kernel.audit import Event
from pupildata.web import auth
from pupildata.web.accounts import BROWSER, LINK, SignInRefused, User
from pupildata.web.deps import ANONYMOUS, ContextDep, client_address
from pupildata.web.permissions import PUBLIC
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Field = Annotated[str, Form()]


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def _record(ctx: ContextDep, request: Request, actor: str, action: str, username: str, **detail: object) -> None:
    about = {"from": client_address(request), **detail}
    ctx.audit.append(Event(actor, action, "account", username[:100], "portal sign-in", about))


def _signed_in(request: Request, ctx: ContextDep, user: User, how: str, target: str) -> Response:
    """A new session (any earlier one of this browser ends: a session is never carried across a sign-in)."""
    if earlier := request.cookies.get(auth.COOKIE):
        auth.accounts(request).end(earlier)
    token = auth.accounts(request).start(user, BROWSER)
    _record(ctx, request, user.actor, "sign in", user.username, method=how)
    response = RedirectResponse(auth.local_path(target), status_code=303)
    auth.set_session_cookie(response, request, token)
    return response


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
