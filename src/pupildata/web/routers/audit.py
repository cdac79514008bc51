"""The audit trail in the portal, for the Data Protection Officer: every event, filtered by who, what and which
object, and a check that the hash chain is intact (``pupildata audit verify``'s twin).

Reading the trail is itself an event (``audit.view``), so that looking at who looked is on the record too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pupildata.kernel.audit import Event
from pupildata.kernel.registry import AuditEvent
from pupildata.web.auth import actor as actor_of
from pupildata.web.auth import needs
from pupildata.web.charts import Series, stacked_bars
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.pagination import page_number, pagination
from pupildata.web.permissions import READ_AUDIT
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(READ_AUDIT)])
api = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[needs(READ_AUDIT)])

PER_PAGE = 50
EVENTS = Series("Events", "sent")
MAX_FILTER = 200


class EventOut(BaseModel):
    seq: int = Field(description="The event's place in the chain, from 1.")
    occurred_at: str = Field(description="When, in UTC (ISO 8601).")
    actor: str = Field(description="Who: portal:<username>, cli:<account>, or portal:anonymous.")
    action: str
    object_type: str
    object_id: str
    reason: str
    detail: dict[str, Any]


class EventsOut(BaseModel):
    total: int = Field(description="Events matching the filters.")
    actions: dict[str, int] = Field(description="Of those, how many each action has.")
    events: list[EventOut]


class VerificationOut(BaseModel):
    intact: bool
    checked: int = Field(description="Events checked.")
    first_bad: int | None = Field(description="The first event that is missing, out of place, forged or edited.")
    problem: str | None


def _out(row: AuditEvent) -> EventOut:
    return EventOut(
        seq=row.seq, occurred_at=row.occurred_at, actor=row.actor, action=row.action, object_type=row.object_type,
        object_id=row.object_id, reason=row.reason, detail=json.loads(row.detail),
    )  # fmt: skip


def _filters(actor_: str, action: str, object_id: str) -> dict[str, str]:
    filters = {"actor": actor_.strip(), "action": action.strip(), "object_id": object_id.strip()}
    for name, value in filters.items():
        if len(value) > MAX_FILTER:
            raise HTTPException(
                400, f"The {name.replace('_', ' ')} to look for is longer than {MAX_FILTER} characters."
            )
    return filters


def _search(request: Request, ctx: ContextDep, filters: dict[str, str], page: int, per_page: int) -> Any:
    rows, total, actions = ctx.audit.search(**filters, offset=(page - 1) * per_page, limit=per_page)
    ctx.audit.append(
        Event(actor_of(request), "audit.view", "audit_trail", "events", "checking the audit trail",
              {"client": client_address(request), "filters": {k: v for k, v in filters.items() if v}, "page": page})
    )  # fmt: skip
    return rows, total, actions


@router.api_route("/audit", methods=["GET", "HEAD"], name="audit")
def events_page(
    request: Request, ctx: ContextDep, *, actor: str = "", action: str = "", object_id: str = "", page: str = "1"
) -> HTMLResponse:
    filters = _filters(actor, action, object_id)
    number = page_number(page)
    rows, total, actions = _search(request, ctx, filters, number, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if number > pages:
        raise HTTPException(404, f"There is no page {number} of these events.")
    query = urlencode({k: v for k, v in filters.items() if v})
    chart = stacked_bars(
        "Events by action",
        "How many of the events found each action has, most common first. The same numbers are in the table below.",
        (EVENTS,),
        [(name, (n,)) for name, n in list(actions.items())[:10]],
    ) if actions else None  # fmt: skip
    context = {
        "events": [_out(row) for row in rows], "total": total, "actions": actions, "filters": filters,
        "chart": chart, "pagination": pagination(f"/audit?{query}" if query else "/audit", number, pages),
    }  # fmt: skip
    return templates().TemplateResponse(request, "audit/events.html", context)


@router.api_route("/audit/verify", methods=["GET", "HEAD"], name="audit-verify")
def verify_page(request: Request, ctx: ContextDep) -> HTMLResponse:
    result = ctx.audit.verify()
    return templates().TemplateResponse(request, "audit/verify.html", {"result": result})


@api.get("/events", response_model=EventsOut, summary="Audit events")
def api_events(
    request: Request,
    ctx: ContextDep,
    *,
    actor: str = Query("", description="Only events by this actor, e.g. portal:sam."),
    action: str = Query("", description="Only events of this action, e.g. collect.report.view."),
    object_id: str = Query("", description="Only events about this object, e.g. a receipt's number."),
    page: int = Query(1, ge=1),
    per_page: int = Query(100, ge=1, le=1000),
) -> EventsOut:
    """Events matching every filter given, newest first. Reading them is itself an audit event."""
    rows, total, actions = _search(request, ctx, _filters(actor, action, object_id), page, per_page)
    return EventsOut(total=total, actions=actions, events=[_out(row) for row in rows])


@api.get("/verify", response_model=VerificationOut, summary="Check the audit trail")
def api_verify(ctx: ContextDep) -> VerificationOut:
    """Walk the whole hash chain and name the first event missing, out of place, forged or edited."""
    result = ctx.audit.verify()
    return VerificationOut(
        intact=result.ok, checked=result.checked, first_bad=result.first_bad_seq, problem=result.problem or None
    )
