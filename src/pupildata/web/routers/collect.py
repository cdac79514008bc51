"""The collection pages: every collection, each collection's status (who has sent, who has not, with how many
errors), each receipt with its validation report, and the rules every return is checked against.

Each page has a JSON twin in ``collect_api``. Report rows name pupils, so reading them is audited
(``pupildata.web.collecting``); a warehouse busy with a load gives a 503 page with one sentence, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from pupildata.collect.collections import status, title_of
from pupildata.collect.formats import source_formats, xml_layout
from pupildata.collect.queries import find_receipt, receipts_of
from pupildata.collect.receipts import Receipt
from pupildata.kernel.context import Context
from pupildata.web import collecting as c
from pupildata.web.auth import actor, needs, signed_in
from pupildata.web.charts import Series, stacked_bars
from pupildata.web.correcting import correction_state
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.pagination import page_number, pagination
from pupildata.web.permissions import PUBLIC, READ_COLLECTIONS, READ_RETURNS, SEND_RETURNS
from pupildata.web.sending import outcome
from pupildata.web.templating import templates
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable, reading

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

PER_PAGE = 50
SHOWS = {"not-sent": "Not sent", "errors": "Sent with errors", "sent": "Sent"}
SENT = Series("Sent", "sent")
NOT_SENT = Series("Not sent", "not-sent")
FAILURES = Series("Records failing the rule", "errors")


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def unavailable(request: Request, exc: WarehouseUnavailable) -> HTMLResponse:
    return templates().TemplateResponse(
        request, "collect/unavailable.html", {"message": exc.message}, status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )  # fmt: skip


def receipt_or_404(request: Request, ctx: Context, receipt_id: str) -> tuple[Receipt, dict[str, int]]:
    """The receipt, if it exists and the account may see its sender's returns (to anyone else: not found)."""
    found = find_receipt(ctx.registry, int(receipt_id)) if receipt_id.isdigit() else None
    if found is None or not signed_in(request).may_see_sender(found[0].sender):
        raise HTTPException(404, f"There is no receipt numbered '{receipt_id}'.")
    return found


@router.api_route("/collections", methods=["GET", "HEAD"], name="collections", dependencies=[needs(READ_COLLECTIONS)])
def collection_list(request: Request, ctx: ContextDep) -> HTMLResponse:
    rows = c.collection_rows(ctx)
    chart = stacked_bars(
        "Returns sent and not sent, by collection",
        "For each collection, the share of its senders who have sent a return (blue) and who have not (grey). "
        "The same numbers are in the table below.",
        (SENT, NOT_SENT),
        [(row.title, (row.sent, row.not_sent)) for row in rows],
        total_text="{values[0]:,} of {total:,} sent",
        shares=True,
    )
    return _page(request, "collect/list.html", {"rows": rows, "chart": chart})


@router.api_route("/collections/rules", methods=["GET", "HEAD"], name="collection-rules", dependencies=[needs(PUBLIC)])
def rules(request: Request) -> HTMLResponse:
    return _page(request, "collect/rules.html", {"groups": c.rule_groups()})


@router.api_route(
    "/collections/formats", methods=["GET", "HEAD"], name="collection-formats", dependencies=[needs(PUBLIC)]
)
def formats(request: Request) -> HTMLResponse:
    """The data formats guide: each kind of return's fields, and how to write them."""
    return _page(request, "collect/formats.html", {"sources": source_formats(), "xml_layout": xml_layout})


@router.api_route(
    "/collections/{name}", methods=["GET", "HEAD"], name="collection", dependencies=[needs(READ_COLLECTIONS)]
)
def collection(request: Request, ctx: ContextDep, name: str, show: str = "") -> HTMLResponse:
    found = status(ctx.registry, name)
    if found is None:
        raise HTTPException(404, f"There is no collection called '{name}'.")
    groups = {"not-sent": found.missing, "errors": c.with_errors(found), "sent": c.without_errors(found)}
    shown = [show] if show in SHOWS else list(SHOWS)
    problems = c.rule_totals(found)
    chart = stacked_bars(
        "The rules failed most often",
        "For the rules failed most often in this collection's returns, how many records failed each. The same "
        "numbers are in the table below.",
        (FAILURES,),
        [(code, (n,)) for code, n in list(problems.items())[:8]],
    )
    context = {
        "status": found, "totals": found.totals(), "groups": groups, "shows": SHOWS, "show": show,
        "shown": shown, "problems": problems, "rules": c.rule_index(), "chart": chart,
        "source_title": c.source_title(found.source), "files": receipts_of(ctx.registry, name),
    }  # fmt: skip
    return _page(request, "collect/status.html", context)


@router.api_route("/returns", methods=["GET", "HEAD"], name="returns", dependencies=[needs(READ_RETURNS)])
def returns(request: Request, ctx: ContextDep) -> HTMLResponse:
    """The latest files the account may see: a sender's own, or (department staff) everyone's."""
    user = signed_in(request)
    files = c.visible_returns(ctx, user)
    context = {
        "files": files, "limit": c.RECENT, "user": user, "may_send": user.can(SEND_RETURNS),
        "senders": _senders_named(user.scope, files),
    }  # fmt: skip
    return _page(request, "collect/returns.html", context)


def _senders_named(scope: tuple[str, ...] | list[str], files: list[Receipt]) -> list[str]:
    """The senders an account sends for, as its people know them: a school by its name (as its files give it)
    and its code, an authority's schools as such."""
    names = {f.sender: f.sender_name for f in files if f.sender and f.sender_name}
    return [
        f"the schools of local authority {code.removeprefix('la:')}" if code.startswith("la:")
        else f"{names[code]} ({code})" if code in names else code
        for code in scope
    ]  # fmt: skip


@router.api_route("/receipts/{receipt_id}", methods=["GET", "HEAD"], name="receipt", dependencies=[needs(READ_RETURNS)])
def receipt(request: Request, ctx: ContextDep, receipt_id: str, page: str = "1", sent: str = "") -> HTMLResponse:
    """A receipt and a page of its report, and whether its quarantined records can still be corrected (with a way
    to send corrections to an account that sends returns); ``sent``: just sent in the portal, so a banner says what
    became of it."""
    found, counts = receipt_or_404(request, ctx, receipt_id)
    number = page_number(page)
    viewer = c.Viewer(actor(request), client_address(request), "page")
    try:
        with reading(ctx.settings.warehouse) as warehouse:  # opened once, if either needs it
            report = c.read_report_page(
                ctx, found, counts, page=number, per_page=PER_PAGE, viewer=viewer, warehouse=warehouse
            )
            correction = correction_state(ctx, found, warehouse)
    except WarehouseUnavailable as exc:
        return unavailable(request, exc)
    if number > report.pages:
        raise HTTPException(404, f"The report of receipt {found.receipt_id} has no page {number}.")
    title = title_of(found.collection) if found.collection else None
    context = {
        "receipt": found, "report": report, "collection_title": title, "rules": c.rule_index(),
        "pagination": pagination(f"/receipts/{found.receipt_id}", number, report.pages),
        "sent": outcome(found) if sent == "1" else "",
        "correction": correction, "may_correct": signed_in(request).can(SEND_RETURNS),
    }  # fmt: skip
    return _page(request, "collect/receipt.html", context)


def _receipt_csv(
    request: Request, ctx: Context, receipt_id: str, read: Callable[..., str | None], *, name: str, missing: str
) -> Response:
    """A CSV download of one receipt's records (read, and audited, by ``read``); 404 with ``missing`` if none."""
    found, _ = receipt_or_404(request, ctx, receipt_id)
    viewer = c.Viewer(actor(request), client_address(request), "csv")
    try:
        text = read(ctx, found, viewer)
    except WarehouseUnavailable as exc:
        return unavailable(request, exc)
    if text is None:
        raise HTTPException(404, missing.format(receipt=found.receipt_id))
    disposition = f'attachment; filename="receipt-{found.receipt_id}-{name}.csv"'
    return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


@router.get("/receipts/{receipt_id}/report.csv", name="receipt-report-csv", dependencies=[needs(READ_RETURNS)])
def report_csv(request: Request, ctx: ContextDep, receipt_id: str) -> Response:
    return _receipt_csv(
        request, ctx, receipt_id, c.read_report_csv, name="report", missing="Receipt {receipt} has no report."
    )


@router.get("/receipts/{receipt_id}/quarantine.csv", name="receipt-quarantine-csv", dependencies=[needs(READ_RETURNS)])
def quarantine_csv(request: Request, ctx: ContextDep, receipt_id: str) -> Response:
    """The quarantined records of a receipt, to correct and send back as a correction of it."""
    missing = "Receipt {receipt} has no quarantined records waiting for correction."
    return _receipt_csv(request, ctx, receipt_id, c.read_quarantine_csv, name="quarantined", missing=missing)
