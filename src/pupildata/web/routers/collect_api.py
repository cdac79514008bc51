"""The JSON twins of the collection pages, under ``/api/v1``: collections, a collection's status, the rules, and a
receipt with its validation report (paginated; reading the rows is audited, as on the page)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from pupildata.collect.collections import SenderStatus, status
from pupildata.collect.formats import SourceFormat, source_formats
from pupildata.collect.queries import find_receipt, receipts_of
from pupildata.collect.receipts import Receipt
from pupildata.web import collecting as c
from pupildata.web.auth import actor, needs, signed_in
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.errors import problem
from pupildata.web.permissions import PUBLIC, READ_COLLECTIONS, READ_RETURNS
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable

router = APIRouter(prefix="/api/v1", tags=["collections"])

Group = Literal["not sent", "sent with errors", "sent"]


class CollectionOut(BaseModel):
    name: str = Field(description="The collection's name, e.g. census-2009-spr.")
    title: str
    source: str = Field(description="The kind of return: census, ks, ncmp, ilr or survey.")
    source_title: str
    due_on: date | None
    expected: int = Field(description="Senders expected to send a return.")
    sent: int = Field(description="Senders who have sent a return (expected or not).")
    not_sent: int
    with_errors: int = Field(description="Senders whose current return has quarantined records.")
    files: int = Field(description="Files received, including refused and repeated ones.")
    records: int
    accepted: int
    quarantined: int
    queried: int


class SenderOut(BaseModel):
    sender: str
    sender_name: str | None
    expected: bool
    group: Group
    receipt_id: int | None = Field(description="The sender's current return, if any.")
    status: str
    received_at: datetime | None
    records: int
    accepted: int
    quarantined: int
    queried: int
    rule_counts: dict[str, int] = Field(description="Records failing each rule, by rule code.")


class ReceiptOut(BaseModel):
    receipt_id: int
    file_name: str
    sha256: str
    size_bytes: int
    received_at: datetime
    status: str = Field(description="accepted, partly accepted, quarantined, rejected or duplicate.")
    source: str | None
    format: str | None
    collection: str | None
    sender: str | None
    sender_name: str | None
    records: int
    accepted: int
    quarantined: int
    queried: int
    superseded_by: int | None
    duplicate_of: int | None
    corrects: int | None
    rule_code: str | None = Field(description="Why a refused file was refused.")
    message: str | None


class CollectionStatusOut(BaseModel):
    collection: CollectionOut
    senders: list[SenderOut]
    rule_counts: dict[str, int] = Field(description="Records failing each rule over the current returns.")
    files: list[ReceiptOut] = Field(description="Every file received for the collection.")


class RuleOut(BaseModel):
    code: str
    severity: str = Field(description="error (record quarantined), query (accepted, to check) or file (refused).")
    field: str
    message: str = Field(description="The message; {value} stands for the value sent.")


class ReportRowOut(BaseModel):
    record: int | None = Field(description="The record's place in the file, from 1; none for a refused file.")
    surname: str = Field(description="Who the record is: as sent if it was quarantined, as loaded if accepted.")
    forename: str
    dob: str = Field(description="The date of birth: as sent if the record was quarantined, else YYYY-MM-DD.")
    rule: str
    severity: str
    field: str
    value: str = Field(description="The value as sent, made safe for spreadsheets.")
    message: str


class ReportOut(BaseModel):
    page: int
    per_page: int
    pages: int
    total: int = Field(description="Rows in the whole report.")
    rows: list[ReportRowOut]


class ReceiptReportOut(BaseModel):
    receipt: ReceiptOut
    rule_counts: dict[str, int]
    report: ReportOut


class Problem(BaseModel):
    status: int
    detail: str


def _group(sender: SenderStatus) -> Group:
    if sender.receipt_id is None:
        return "not sent"
    return "sent with errors" if sender.quarantined > 0 else "sent"


def receipt_out(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut.model_validate(receipt, from_attributes=True)


def _row(row: dict[str, str]) -> ReportRowOut:
    record = int(row["record"]) if row["record"].isdigit() else None
    return ReportRowOut(record=record, **{k: v for k, v in row.items() if k not in ("receipt", "file", "record")})


@router.get(
    "/collections", response_model=list[CollectionOut], summary="Collections", dependencies=[needs(READ_COLLECTIONS)]
)
def collection_list(ctx: ContextDep) -> list[CollectionOut]:
    """Every collection, with how many expected senders have sent and the records accepted, quarantined and queried."""
    return [CollectionOut.model_validate(row, from_attributes=True) for row in c.collection_rows(ctx)]


@router.get(
    "/collections/rules", response_model=list[RuleOut], summary="Validation rules", dependencies=[needs(PUBLIC)]
)
def rules() -> list[RuleOut]:
    """Every rule returns are checked against: code, severity, field and message."""
    return [RuleOut(**rule) for rule in c.rule_index().values()]


@router.get(
    "/collections/formats",
    response_model=list[SourceFormat],
    summary="Data formats",
    dependencies=[needs(PUBLIC)],
)
def formats() -> list[SourceFormat]:
    """Every kind of return the service takes: who sends it, in what files, and each field's name in the file,
    what it holds, the codes it may take, whether it is needed and whether it identifies a person."""
    return list(source_formats())


@router.get(
    "/collections/{name}",
    response_model=CollectionStatusOut,
    summary="A collection's status",
    dependencies=[needs(READ_COLLECTIONS)],
    responses={404: {"model": Problem, "description": "There is no such collection."}},
)
def collection(ctx: ContextDep, name: str) -> CollectionStatusOut:
    """Who has sent, who has not, each sender's counts and rules failed, and every file received."""
    found = status(ctx.registry, name)
    row = next((r for r in c.collection_rows(ctx) if r.name == name), None)
    if found is None or row is None:
        raise HTTPException(404, f"There is no collection called '{name}'.")
    senders = [SenderOut(**vars(s), group=_group(s)) for s in found.senders]
    files = [receipt_out(r) for r in receipts_of(ctx.registry, name)]
    summary = CollectionOut.model_validate(row, from_attributes=True)
    return CollectionStatusOut(collection=summary, senders=senders, rule_counts=c.rule_totals(found), files=files)


@router.get(
    "/returns",
    response_model=list[ReceiptOut],
    summary="Your returns",
    dependencies=[needs(READ_RETURNS)],
)
def returns(request: Request, ctx: ContextDep) -> list[ReceiptOut]:
    """The latest files (up to 500) the account may see, newest first: a sender's own, or everyone's for staff."""
    return [receipt_out(r) for r in c.visible_returns(ctx, signed_in(request))]


@router.get(
    "/receipts/{receipt_id}",
    response_model=ReceiptReportOut,
    summary="A receipt and its validation report",
    dependencies=[needs(READ_RETURNS)],
    responses={
        404: {"model": Problem, "description": "There is no such receipt, or no such page of its report."},
        503: {"model": Problem, "description": "The report's rows cannot be read while returns are loaded."},
    },
)
def receipt(
    request: Request,
    ctx: ContextDep,
    receipt_id: int,
    page: int = Query(1, ge=1, description="The page of the report, from 1."),
    per_page: int = Query(100, ge=1, le=1000, description="Rows per page."),
) -> Any:
    """The receipt of one file and one page of its validation report: each failing record with rule code, severity,
    field, value and message. Reading the rows is recorded in the audit trail."""
    found = find_receipt(ctx.registry, receipt_id)
    if found is None or not signed_in(request).may_see_sender(found[0].sender):
        raise HTTPException(404, f"There is no receipt numbered {receipt_id}.")
    viewer = c.Viewer(actor(request), client_address(request), "api")
    try:
        report = c.read_report_page(ctx, found[0], found[1], page=page, per_page=per_page, viewer=viewer)
    except WarehouseUnavailable as exc:
        return problem(503, exc.message, {"Retry-After": RETRY_AFTER})
    if page > report.pages:
        raise HTTPException(404, f"The report of receipt {receipt_id} has no page {page}.")
    rows = ReportOut(
        page=page, per_page=per_page, pages=report.pages, total=report.total, rows=[_row(r) for r in report.rows]
    )
    return ReceiptReportOut(receipt=receipt_out(found[0]), rule_counts=found[1], report=rows)
