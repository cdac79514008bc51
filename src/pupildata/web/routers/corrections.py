"""Sending corrections in the portal (``/receipts/{id}/corrections``, permission ``returns:send``: senders only)
and its JSON twin (``POST /api/v1/receipts/{id}/corrections``), both through ``pupildata.web.correcting``.

The receipt must be one the account may see (any other is not found, as its page is) and still correctable. A
correction refused — the receipt cannot be corrected, the file's columns are not the return's, its records are
another sender's — is one sentence on the form (400). Corrections collected send the browser to their new
receipt, whose banner says how many records joined the return and how many are still quarantined. Each file
collected is an event in the audit trail (``corrections sent``) about the receipt corrected, naming the new one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.collect.receipts import LOADED, Receipt
from pupildata.errors import UsageError
from pupildata.kernel.context import Context
from pupildata.web import auth, sending
from pupildata.web.correcting import CORRECTED, correct, correction_state
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.errors import problem
from pupildata.web.permissions import SEND_RETURNS
from pupildata.web.routers.collect import receipt_or_404, unavailable
from pupildata.web.routers.collect_api import Problem, ReceiptOut, receipt_out
from pupildata.web.routers.send import UPLOAD_PROBLEMS
from pupildata.web.templating import templates
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
api = APIRouter(prefix="/api/v1", tags=["collections"])

PAGE = "/receipts/{receipt_id}/corrections"


def _form(
    request: Request, ctx: Context, receipt: Receipt, *, reason: str = "", refused: sending.UploadRefused | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {
        "receipt": receipt, "reason": reason, "errors": {sending.FIELD: refused.message} if refused else {},
        "limit_mb": ctx.settings.portal_max_upload_mb,
    }  # fmt: skip
    status_code, headers = (refused.status_code, refused.headers) if refused else (200, None)
    return templates().TemplateResponse(
        request, "collect/corrections.html", context, status_code=status_code, headers=headers
    )


async def _corrected(request: Request, ctx: Context, receipt: Receipt) -> Receipt:
    """Receive the request's file and collect it as a correction of ``receipt`` (audited);
    ``sending.UploadRefused`` when nothing was collected or the correction was refused."""
    user = auth.signed_in(request)
    try:
        upload = await sending.receive_upload(request, ctx.settings.incoming_dir, ctx.settings.portal_max_upload_mb)
        new = await run_in_threadpool(correct, ctx, user, upload, receipt.receipt_id)
    except UsageError as exc:  # not correctable (now): nothing was kept
        raise sending.UploadRefused(400, str(exc)) from None
    except WarehouseUnavailable as exc:
        raise sending.UploadRefused(503, exc.message, {"Retry-After": RETRY_AFTER}) from None
    sending.audit_upload(ctx, user, upload, new, client_address(request), CORRECTED, receipt.receipt_id)
    if new.status not in (*LOADED, "duplicate"):
        raise sending.UploadRefused(400, new.message or sending.outcome(new))
    if not user.may_see_sender(new.sender):
        raise sending.UploadRefused(400, sending.outcome(new))
    return new


@router.api_route(PAGE, methods=["GET", "HEAD"], name="send-corrections", dependencies=[auth.needs(SEND_RETURNS)])
def corrections_form(request: Request, ctx: ContextDep, receipt_id: str) -> HTMLResponse:
    """The form, or the one sentence saying why the receipt's records cannot be corrected."""
    found, _ = receipt_or_404(request, ctx, receipt_id)
    try:
        state = correction_state(ctx, found)
    except WarehouseUnavailable as exc:
        return unavailable(request, exc)
    reason = f"Receipt {found.receipt_id} has no quarantined records to correct." if state is None else state
    return _form(request, ctx, found, reason=reason)


@router.post(PAGE, name="send-corrections-post", dependencies=[auth.needs(SEND_RETURNS)])
async def send_corrections(request: Request, ctx: ContextDep, receipt_id: str) -> Response:
    """Receive the corrected file and collect it; on to its receipt, or back to the form with the one reason."""
    auth.from_portal(request)
    found, _ = receipt_or_404(request, ctx, receipt_id)
    try:
        new = await _corrected(request, ctx, found)
    except sending.UploadRefused as exc:
        return _form(request, ctx, found, refused=exc)
    return RedirectResponse(f"/receipts/{new.receipt_id}?sent=1", status_code=303)


@api.post(
    "/receipts/{receipt_id}/corrections",
    response_model=ReceiptOut,
    status_code=201,
    summary="Send corrections of a receipt's quarantined records",
    dependencies=[auth.needs(SEND_RETURNS)],
    responses={
        400: {"model": Problem, "description": "No file, an empty file, a receipt that cannot be corrected (now), "
              "or a file that is no correction of it."},
        404: {"model": Problem, "description": "No such receipt among the account's senders'."},
        **UPLOAD_PROBLEMS,
    },
)  # fmt: skip
async def api_send_corrections(request: Request, ctx: ContextDep, receipt_id: str) -> Any:
    """Send the receipt's quarantined records, corrected (its quarantine CSV, the same columns), as the multipart
    form field ``file``: they are collected at once as a correction of that receipt, and the new receipt is the
    answer (its ``accepted`` records joined the return; its ``quarantined`` ones are still wrong)."""
    auth.from_portal(request)
    found, _ = receipt_or_404(request, ctx, receipt_id)
    try:
        new = await _corrected(request, ctx, found)
    except sending.UploadRefused as exc:
        return problem(exc.status_code, exc.message, exc.headers)
    return receipt_out(new)
