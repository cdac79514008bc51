"""Security headers on every response, and the per-request nonce of the page template's one inline script.

Pupil data must never be cached by a browser or a proxy, so HTML and API responses are ``no-store``. Static
assets hold no personal data and may be kept, but are checked again before use. The referrer policy is
``same-origin``: other sites learn nothing, and the portal's own forms carry their origin, which the forms that
change state check (``no-referrer`` would make browsers send ``Origin: null``).
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIXES = ("/static/", "/assets/")

PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    """Only our own origin, plus the one inline script that carries this response's nonce."""
    directives = (
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
    return "; ".join(directives)


def security_headers(path: str, nonce: str) -> dict[str, str]:
    """The headers every response carries; ``path`` decides whether it may be cached."""
    static = path.startswith(STATIC_PREFIXES)
    return {
        "Content-Security-Policy": content_security_policy(nonce),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "no-cache" if static else "no-store",
    }


def request_nonce(scope: MutableMapping[str, object]) -> str:
    """The nonce of this request, made on first use and kept in the request state."""
    state = scope.setdefault("state", {})
    assert isinstance(state, dict)
    nonce = state.get("csp_nonce")
    if not isinstance(nonce, str):
        nonce = new_nonce()
        state["csp_nonce"] = nonce
    return nonce


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: sets the nonce before the app runs and the headers as the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = request_nonce(scope)
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(path, nonce).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["SecurityHeadersMiddleware", "content_security_policy", "request_nonce", "security_headers"]
