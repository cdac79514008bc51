"""Sending a return in the portal (``/returns/send``, permission ``returns:send``: senders only) and its JSON twin
(``POST /api/v1/returns``), both through ``pupildata.web.sending``.

A return the account may see (its own, or a copy of its own already received) sends the browser to its receipt,
with a banner saying what became of it. A file refused for coming from another sender, or refused before its
sender could be told, is shown on the send page (400): its receipt is not the account's to see. Each file
collected is an event in the audit trail (``return sent``) with the account, the file's name, size and SHA-256
and its receipt.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.collect.receipts import Receipt
from pupildata.kernel.context import Context
from pupildata.web import auth, sending
from pupildata.web.accounts import User
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.errors import problem
from pupildata.web.permissions import SEND_RETURNS
from pupildata.web.routers.collect_api import Problem, ReceiptOut, receipt_out
from pupildata.web.templating import templates
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api = APIRouter(prefix="/api/v1", tags=["collections"])

#: The answers of the API's uploads (a return, corrections) that their files can be given whatever they hold.
UPLOAD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "The file is larger than the portal accepts."},
    503: {"model": Problem, "description": "Returns are being loaded just now: nothing was kept."},
}

SEND_PAGE = "/returns/send"


def _send_page(
    request: Request, ctx: Context, error: str = "", status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "errors": {sending.FIELD: error} if error else {},
        "limit_mb": ctx.settings.portal_max_upload_mb,
    }
    return templates().TemplateResponse(request, "collect/send.html", context, status_code=status_code, headers=headers)


async def _sent(request: Request, ctx: Context, user: User) -> Receipt:
    """Receive the request's file and collect it for ``user`` (audited); ``UploadRefused`` or
    ``WarehouseUnavailable`` when nothing was collected."""
    upload = await sending.receive_upload(request, ctx.settings.incoming_dir, ctx.settings.portal_max_upload_mb)
    receipt = await run_in_threadpool(sending.send, ctx, user, upload)
    sending.audit_sent(ctx, user, upload, receipt, client_address(request))
    return receipt


@router.api_route(SEND_PAGE, methods=["GET", "HEAD"], name="send-return", dependencies=[auth.needs(SEND_RETURNS)])
def send_form(request: Request, ctx: ContextDep) -> HTMLResponse:
    return _send_page(request, ctx)


@router.post(SEND_PAGE, name="send-return-post", dependencies=[auth.needs(SEND_RETURNS)])
async def send_return(request: Request, ctx: ContextDep) -> Response:
    """Receive one file and collect it; on to its receipt, or back to the form with the one reason it failed."""
    auth.from_portal(request)
    user = auth.signed_in(request)
    try:
        receipt = await _sent(request, ctx, user)
    except sending.UploadRefused as exc:
        return _send_page(request, ctx, exc.message, exc.status_code)
    except WarehouseUnavailable as exc:
        return _send_page(request, ctx, exc.message, 503, {"Retry-After": RETRY_AFTER})
    if not user.may_see_sender(receipt.sender):
        return _send_page(request, ctx, receipt.message or sending.outcome(receipt), 400)
    return RedirectResponse(f"/receipts/{receipt.receipt_id}?sent=1", status_code=303)


@api.post(
    "/returns",
    response_model=ReceiptOut,
    status_code=201,
    summary="Send a return",
    dependencies=[auth.needs(SEND_RETURNS)],
    responses={
        400: {"model": Problem, "description": "No file, an empty file, or a return from another sender."},
        **UPLOAD_PROBLEMS,
    },
)
async def api_send_return(request: Request, ctx: ContextDep) -> Any:
    """Send one file, as the multipart form field ``file``: it is collected at once, as a return from one of the
    account's senders (any other is refused), and its receipt is the answer."""
    auth.from_portal(request)
    user = auth.signed_in(request)
    try:
        receipt = await _sent(request, ctx, user)
    except sending.UploadRefused as exc:
        return problem(exc.status_code, exc.message, exc.headers)
    except WarehouseUnavailable as exc:
        return problem(503, exc.message, {"Retry-After": RETRY_AFTER})
    if not user.may_see_sender(receipt.sender):
        return problem(400, receipt.message or sending.outcome(receipt))
    return receipt_out(receipt)
