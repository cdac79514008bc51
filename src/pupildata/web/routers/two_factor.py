"""One's own two-factor sign-in (``/account/two-factor``, permission ``account:own``): setting it up, turning it
off, and recovery codes.

Switching it on shows the account's ten recovery codes, once: the page that shows them is the answer to the form,
never a page that can be asked for again. A new set (which ends the old one) needs a current code from the app,
as turning it off does. Each change is an event in the audit trail; no secret or code is ever recorded.
"""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from pupildata.errors import UsageError
from pupildata.web import auth, recovery, totp
from pupildata.web.accounts import CodeRefused, User
from pupildata.web.deps import ContextDep, get_context
from pupildata.web.permissions import OWN_ACCOUNT
from pupildata.web.routers.account import CODE_FORMAT, Field, page, record

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

#: The field of the form that makes new recovery codes (the page's other form has ``code``).
NEW_CODES = "new-codes-code"


def _qr_code(uri: str) -> Markup:
    """The set-up address as a QR code: an inline SVG image (no script, no style: the CSP holds)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#0b0c0c", light="#ffffff", title="QR code to scan with your authenticator app"
    )
    # segno writes the SVG itself from the address's bits: no text of ours or the person's is put in unescaped.
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="QR code to scan with your authenticator app" ', 1)
    return Markup(labelled)  # noqa: S704


def _two_factor_page(
    request: Request,
    user: User,
    target: str,
    error: str = "",
    *,
    status_code: int = 200,
    done: str = "",
    field: str = "code",
) -> HTMLResponse:
    context: dict[str, Any] = {
        "next": target,
        "done": done if done in ("on", "off") else "",
        "errors": {field: error} if error else {},
        "two_factor": user.two_factor,
        "required": user.role in get_context(request).policy.sign_in.two_factor_roles,
        "new_codes_field": NEW_CODES,
    }
    if user.two_factor:
        context["codes_left"] = auth.accounts(request).recovery_codes_left(user.username)
    else:
        secret = auth.accounts(request).begin_two_factor(user.username)
        uri = totp.provisioning_uri(secret, user.username)
        context |= {"key": totp.grouped(secret), "uri": uri, "qr": _qr_code(uri)}
    return page(request, "account/two_factor.html", context, status_code=status_code)


def _codes_page(request: Request, codes: list[str], target: str, *, turned_on: bool) -> HTMLResponse:
    context = {"codes": codes, "next": target, "turned_on": turned_on, "count": recovery.COUNT}
    return page(request, "account/recovery_codes.html", context)


@router.api_route(
    "/account/two-factor", methods=["GET", "HEAD"], name="two-factor", dependencies=[auth.needs(OWN_ACCOUNT)]
)
def two_factor_form(request: Request, next: str = "/", done: str = "") -> HTMLResponse:
    return _two_factor_page(request, auth.signed_in(request), auth.local_path(next), done=done)


@router.post("/account/two-factor", name="two-factor-on", dependencies=[auth.needs(OWN_ACCOUNT)])
def two_factor_on(request: Request, ctx: ContextDep, code: Field = "", next: Field = "/") -> Response:
    """Switch two-factor sign-in on with the first code of the key just shown, and show the recovery codes once;
    other browsers are signed out."""
    auth.from_portal(request)
    user, target = auth.signed_in(request), auth.local_path(next)
    if user.two_factor:
        return _two_factor_page(request, user, target)
    if totp.normalise(code) is None:
        return _two_factor_page(request, user, target, CODE_FORMAT, status_code=400)
    try:
        codes = auth.accounts(request).confirm_two_factor(user.username, code)
    except CodeRefused as exc:
        return _two_factor_page(request, user, target, str(exc), status_code=400)
    except UsageError:  # switched on meanwhile, in another browser
        return _two_factor_page(request, auth.accounts(request).get(user.username), target)
    auth.accounts(request).end_all(user, keep=request.cookies.get(auth.COOKIE))
    record(ctx, request, user.actor, "two-factor on", user.username, recovery_codes=len(codes))
    return _codes_page(request, codes, target, turned_on=True)


@router.post("/account/two-factor/off", name="two-factor-off", dependencies=[auth.needs(OWN_ACCOUNT)])
def two_factor_off(request: Request, ctx: ContextDep, code: Field = "") -> Response:
    """Switch two-factor sign-in off, with a current code (a role that must use it is asked to set it up again)."""
    auth.from_portal(request)
    user = auth.signed_in(request)
    if not user.two_factor:
        return _two_factor_page(request, user, "/")
    if totp.normalise(code) is None:
        return _two_factor_page(request, user, "/", CODE_FORMAT, status_code=400)
    try:
        auth.accounts(request).turn_off_two_factor(user.username, code)
    except CodeRefused as exc:
        record(ctx, request, user.actor, "two-factor off refused", user.username)
        return _two_factor_page(request, user, "/", str(exc), status_code=400)
    record(ctx, request, user.actor, "two-factor off", user.username)
    return RedirectResponse(auth.TWO_FACTOR_PAGE + "?done=off", status_code=303)


@router.post("/account/two-factor/recovery-codes", name="recovery-codes", dependencies=[auth.needs(OWN_ACCOUNT)])
def new_recovery_codes(request: Request, ctx: ContextDep, code: Field = "") -> Response:
    """A new set of recovery codes, shown once; the old set stops working. Needs a current code from the app."""
    auth.from_portal(request)
    user = auth.signed_in(request)
    if not user.two_factor:
        return _two_factor_page(request, user, "/")
    if totp.normalise(code) is None:
        return _two_factor_page(request, user, "/", CODE_FORMAT, status_code=400, field=NEW_CODES)
    try:
        codes = auth.accounts(request).new_recovery_codes(user.username, code)
    except CodeRefused as exc:
        record(ctx, request, user.actor, "recovery codes refused", user.username)
        return _two_factor_page(request, user, "/", str(exc), status_code=400, field=NEW_CODES)
    except UsageError:  # turned off meanwhile, in another browser
        return _two_factor_page(request, auth.accounts(request).get(user.username), "/")
    record(ctx, request, user.actor, "recovery codes made", user.username, count=len(codes))
    return _codes_page(request, codes, "/", turned_on=False)
