"""Error pages: GOV.UK-styled HTML for people, JSON for ``/api`` callers. A 500 never shows a traceback.

Unexpected exceptions are handled by Starlette's outermost middleware, outside the security headers
middleware, so the 500 handler sets those headers itself.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pupildata.web.auth import SignInRequired, TwoFactorSetupRequired, set_up_url, sign_in_url
from pupildata.web.security import request_nonce, security_headers
from pupildata.web.templating import templates

log = logging.getLogger("pupildata.web")

API_PREFIX = "/api/"


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def _reason(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def problem(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's answer to a request it cannot fulfil: the status and one sentence (the ``Problem`` model)."""
    return JSONResponse({"status": status_code, "detail": detail}, status_code=status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """404s, 405s and every ``HTTPException`` a route raises."""
    assert isinstance(exc, StarletteHTTPException)
    status_code = exc.status_code
    headers = dict(exc.headers or {})
    if wants_json(request):
        detail = exc.detail if exc.detail != _reason(status_code) else ""
        if status_code == 404 and not detail:
            detail = f"There is no API resource at {request.url.path}."
        return problem(status_code, detail or _reason(status_code), headers)
    if status_code in (204, 304):  # pragma: no cover - no body allowed
        return Response(status_code=status_code, headers=headers)
    name = "errors/404.html" if status_code == 404 else "errors/error.html"
    return templates().TemplateResponse(
        request,
        name,
        {"status_code": status_code, "reason": _reason(status_code), "detail": exc.detail},
        status_code=status_code,
        headers=headers,
    )


async def sign_in_required(request: Request, exc: Exception) -> Response:
    """No one is signed in: a person is sent to sign in (and brought back); the API says how to authenticate."""
    if wants_json(request):
        detail = "Sign in first: send an API token (made with `pupildata user token`) as 'Authorization: Bearer TOKEN'."
        return problem(401, detail, {"WWW-Authenticate": "Bearer"})
    return RedirectResponse(sign_in_url(request), status_code=303)


async def two_factor_setup_required(request: Request, exc: Exception) -> Response:
    """The account's role must sign in with two factors, and this browser's account has not set them up yet."""
    if wants_json(request):
        detail = "Set up two-factor sign-in first, on the portal's page /account/two-factor."
        return problem(403, detail)
    return RedirectResponse(set_up_url(request), status_code=303)


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: log it in full for the operators, tell the user only that something went wrong."""
    log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    nonce = request_nonce(request.scope)
    headers = security_headers(request.url.path, nonce)
    if wants_json(request):
        return problem(500, "Sorry, there is a problem with the service. Try again later.", headers)
    try:
        return templates().TemplateResponse(request, "errors/500.html", {}, status_code=500, headers=headers)
    except Exception:  # the page itself failed: fall back to plain text, still without details
        log.exception("The error page could not be rendered")
        return Response(
            "Sorry, there is a problem with the service. Try again later.\n",
            status_code=500,
            media_type="text/plain",
            headers=headers,
        )


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(TwoFactorSetupRequired, two_factor_setup_required)
    app.add_exception_handler(Exception, server_error)


__all__ = ["install", "wants_json"]
