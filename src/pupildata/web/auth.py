"""Who is asking, and may they: the portal's sign-in and each route's declared permission.

Every route declares the one permission it needs where it is declared::

    @router.get("/receipts/{receipt_id}", dependencies=[needs(READ_RETURNS)])

``needs`` finds the account — a browser's session cookie, or an API token sent as ``Authorization: Bearer`` —
and refuses the request before the route runs: a page sends a person who has not signed in to the sign-in page
(and back afterwards), the API answers 401; an account whose role lacks the permission gets 403. Tests walk every
route for every role (``tests/web/test_permissions.py``).

The session cookie is ``HttpOnly``, ``SameSite=Strict`` (so no other site can make a signed-in request) and
``Secure`` when the portal is served over HTTPS; requests that change state (signing in and out) must also come
from the portal's own pages (``Origin``).

Two-factor sign-in: between a right password and the code, the browser holds only a pending secret in a cookie of
its own (``pupildata_two_factor``, same flags, sent only to ``/sign-in``). A browser signed in to an account whose
role must use two factors (policy ``sign_in.two_factor_roles``) but which has not set them up yet is sent to set
them up (``/account/two-factor``) by every route that needs more than ``PUBLIC`` or ``OWN_ACCOUNT``; API tokens
are not asked for codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request

from pupildata.web.accounts import API, BROWSER, Accounts, User
from pupildata.web.deps import ANONYMOUS, get_context
from pupildata.web.permissions import OWN_ACCOUNT, PUBLIC, ROLES

COOKIE = "pupildata_session"
#: The pending secret of a right password (or link) waiting for its two-factor code.
PENDING_COOKIE = "pupildata_two_factor"
PENDING_PATH = "/sign-in"
TWO_FACTOR_PAGE = "/account/two-factor"
_UNSET = object()


class SignInRequired(Exception):
    """Raised by ``needs`` when no one is signed in; turned into a redirect (pages) or a 401 (API)."""


class TwoFactorSetupRequired(Exception):
    """Raised by ``needs`` when a browser's account must set up two-factor sign-in before anything else."""


def accounts(request: Request) -> Accounts:
    ctx = get_context(request)
    return Accounts(ctx.registry, ctx.keys)


def must_set_up_two_factor(request: Request, user: User) -> bool:
    """Whether ``user``, signed in by this browser, must set up two-factor sign-in before doing anything else."""
    if user.two_factor or getattr(request.state, "by_token", False):
        return False
    return user.role in get_context(request).policy.sign_in.two_factor_roles


def current_user(request: Request) -> User | None:
    """The signed-in account of this request (looked up once), or None."""
    state = request.state
    found = getattr(state, "user", _UNSET)
    if found is not _UNSET:
        assert found is None or isinstance(found, User)
        return found
    user = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = accounts(request).holder(header[7:].strip(), API)
        state.by_token = True
    elif cookie := request.cookies.get(COOKIE):
        user = accounts(request).holder(cookie, BROWSER)
    state.user = user
    return user


def actor(request: Request) -> str:
    """How the audit trail names whoever made this request."""
    user = current_user(request)
    return user.actor if user else ANONYMOUS


def signed_in(request: Request) -> User:
    """The account of a request that ``needs`` has already let through with a permission other than PUBLIC."""
    user = current_user(request)
    if user is None:  # pragma: no cover - needs() refused the request before the route ran
        raise SignInRequired
    return user


def needs(permission: str) -> Any:
    """The dependency declaring that a route needs ``permission`` (see the module's docstring)."""
    known = {p for role in ROLES.values() for p in role.permissions} | {PUBLIC}
    if permission not in known:
        raise ValueError(f"No role has the permission {permission!r}.")

    def check(request: Request) -> User | None:
        user = current_user(request)
        if permission == PUBLIC:
            return user
        if user is None:
            raise SignInRequired
        if permission != OWN_ACCOUNT and must_set_up_two_factor(request, user):
            raise TwoFactorSetupRequired
        if not user.can(permission):
            raise HTTPException(
                403, f"Your account ({user.role_title}) does not give you access to this. Ask the service's "
                "administrator if you need it."
            )  # fmt: skip
        return user

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def permission_of(dependency: Callable[..., Any]) -> str | None:
    return getattr(dependency, "permission", None)


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this portal (never another site), else the home page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_url(request: Request) -> str:
    return f"/sign-in?next={quote(_here(request), safe='')}"


def two_factor_url(target: str) -> str:
    """The page that sets up two-factor sign-in, and then goes on to ``target``."""
    target = local_path(target)
    return TWO_FACTOR_PAGE if target in ("/", TWO_FACTOR_PAGE) else f"{TWO_FACTOR_PAGE}?next={quote(target, safe='')}"


def set_up_url(request: Request) -> str:
    return two_factor_url(_here(request))


def same_origin(request: Request) -> bool:
    """A request that changes state must come from the portal's own pages (when the browser says where from)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.url.netloc


def from_portal(request: Request) -> None:
    """Refuse (403) a form that changes state unless it comes from the portal's own pages."""
    if not same_origin(request):
        raise HTTPException(403, "This form can only be sent from the portal's own pages.")


def in_a_browser(request: Request) -> None:
    """Refuse (403) a request signed in by an API token where only a person may act: one's password and one's
    tokens. A token that could make tokens would outlive its own revocation."""
    if getattr(request.state, "by_token", False):
        raise HTTPException(403, "This can only be done in a browser signed in to the portal, not with an API token.")


def set_session_cookie(response: Any, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip


def set_pending_cookie(response: Any, request: Request, token: str) -> None:
    """The pending secret between a right password and its code: no ``Max-Age``, it expires on the server."""
    response.set_cookie(
        PENDING_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
        path=PENDING_PATH,
    )  # fmt: skip


def clear_pending_cookie(response: Any) -> None:
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH, httponly=True, samesite="strict")


__all__ = [
    "COOKIE",
    "PENDING_COOKIE",
    "TWO_FACTOR_PAGE",
    "SignInRequired",
    "TwoFactorSetupRequired",
    "accounts",
    "actor",
    "clear_pending_cookie",
    "current_user",
    "from_portal",
    "in_a_browser",
    "local_path",
    "must_set_up_two_factor",
    "needs",
    "permission_of",
    "same_origin",
    "set_pending_cookie",
    "set_session_cookie",
    "set_up_url",
    "sign_in_url",
    "signed_in",
    "two_factor_url",
]  # fmt: skip
