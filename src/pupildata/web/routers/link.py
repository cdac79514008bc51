"""Clerical review of matching in the portal: the pairs the model was unsure of, each side by side, and a decision
that every later matching run honours (``pupildata.link.review``; the command-line twin is ``pupildata link
review``).

The two records name a child, so showing a pair is an audit event (``link.review.view``), written before the page
is sent; a decision is one too (``link.review.decide``), with the signed-in person as its actor.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.link import review
from pupildata.web.auth import actor, from_portal, needs
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.permissions import REVIEW_MATCHES
from pupildata.web.templating import templates
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable, read_only

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(REVIEW_MATCHES)])
api = APIRouter(prefix="/api/v1/matching", tags=["matching"], dependencies=[needs(REVIEW_MATCHES)])

#: Open pairs listed at once, most likely matches first.
LISTED = 100
CHOICES = {"same": "the same child", "different": "different children"}


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates().TemplateResponse(request, name, context, status_code=status_code)


def percent(probability: float) -> str:
    """A probability for people: whole percents, but never "100%" or "0%" for what is not certain."""
    shown = f"{probability:.0%}"
    if shown in ("100%", "0%") and 0 < probability < 1:
        shown = f"{probability:.2%}"
    return shown


def _source(key: str) -> str:
    return key.split(":", 1)[0]


@router.api_route("/matching/review", methods=["GET", "HEAD"], name="review-queue")
def queue(request: Request, ctx: ContextDep, decided: str = "", decision: str = "") -> HTMLResponse:
    pairs = review.open_pairs(ctx.registry, LISTED)
    context = {
        "pairs": [(p, _source(p.left_key), _source(p.right_key), percent(p.probability)) for p in pairs],
        "waiting": review.open_count(ctx.registry), "listed": LISTED,
        "decided": decided if decided.isdigit() else "", "decision": CHOICES.get(decision, ""),
    }  # fmt: skip
    return _page(request, "link/queue.html", context)


def _open_pair(ctx: ContextDep, pair_id: str) -> review.Pair:
    found = review.find_pair(ctx.registry, int(pair_id)) if pair_id.isdigit() else None
    if found is None:
        raise HTTPException(404, f"There is no pair numbered '{pair_id}' waiting for review.")
    pair, status = found
    if status != "open":
        raise HTTPException(404, f"Pair {pair.id} has already been decided.")
    return pair


def _compared(request: Request, ctx: ContextDep, pair: review.Pair) -> tuple[list[dict[str, Any]], bool]:
    """The pair's records field by field (and whether one is missing), read briefly and audited before return."""
    try:
        with read_only(ctx.settings.warehouse) as engine:
            found = review.records(engine, (pair.left_key, pair.right_key))
    except WarehouseUnavailable as exc:
        raise HTTPException(503, exc.message, headers={"Retry-After": RETRY_AFTER}) from None
    left, right = found.get(pair.left_key, {}), found.get(pair.right_key, {})
    rows = []
    for column, label in review.SHOWN:
        a, b = left.get(column), right.get(column)
        agree = None if a is None or b is None or column not in review.COMPARED else a == b
        rows.append({"field": column, "label": label, "left": a, "right": b, "agree": agree})
    ctx.audit.append(
        Event(
            actor(request), "link.review.view", "link_review", str(pair.id), "clerical review of matching",
            {"client": client_address(request), "records": [pair.left_key, pair.right_key]},
        )
    )  # fmt: skip
    return rows, len(found) < 2 - (pair.left_key == pair.right_key)


@router.api_route("/matching/review/{pair_id}", methods=["GET", "HEAD"], name="review-pair")
def pair_page(request: Request, ctx: ContextDep, pair_id: str) -> HTMLResponse:
    pair = _open_pair(ctx, pair_id)
    rows, missing = _compared(request, ctx, pair)
    context = {"pair": pair, "rows": rows, "probability": percent(pair.probability), "missing": missing}
    return _page(request, "link/pair.html", context)


def _decide(ctx: ContextDep, request: Request, pair_id: str, decision: str) -> review.Pair:
    pair = _open_pair(ctx, pair_id)
    if decision not in CHOICES:
        raise HTTPException(400, "Choose whether the two records are the same child or different children.")
    try:
        return review.decide(ctx.registry, ctx.audit, pair.id, decision, actor(request))
    except UsageError as exc:
        raise HTTPException(404, exc.message) from None


@router.post("/matching/review/{pair_id}", name="review-decide")
def decide(request: Request, ctx: ContextDep, pair_id: str, decision: Annotated[str, Form()] = "") -> Response:
    from_portal(request)
    pair = _decide(ctx, request, pair_id, decision)
    return RedirectResponse(f"/matching/review?decided={pair.id}&decision={decision}", status_code=303)


# --- the JSON twins --------------------------------------------------------------------------------------------


class PairOut(BaseModel):
    pair_id: int
    left_key: str = Field(description="The first record, as source:receipt:record.")
    right_key: str
    probability: float = Field(description="The model's probability that the two records are the same child.")


class FieldOut(BaseModel):
    field: str
    label: str
    left: Any
    right: Any
    agree: bool | None = Field(description="Whether the records agree on it; none when not compared or missing.")


class PairRecordsOut(BaseModel):
    pair: PairOut
    fields: list[FieldOut]
    missing: bool = Field(description="One of the records is no longer in the matched records.")


class DecisionIn(BaseModel):
    decision: Literal["same", "different"]


def _pair_out(pair: review.Pair) -> PairOut:
    return PairOut(pair_id=pair.id, left_key=pair.left_key, right_key=pair.right_key, probability=pair.probability)


@api.get("/review", response_model=list[PairOut], summary="Pairs waiting for review")
def api_queue(ctx: ContextDep, limit: int = Query(LISTED, ge=1, le=1000)) -> list[PairOut]:
    """The pairs matching set aside for a person to decide, most likely matches first."""
    return [_pair_out(p) for p in review.open_pairs(ctx.registry, limit)]


@api.get("/review/{pair_id}", response_model=PairRecordsOut, summary="A pair's two records, field by field")
def api_pair(request: Request, ctx: ContextDep, pair_id: int) -> PairRecordsOut:
    """The two records as matching compared them. Reading them is recorded in the audit trail."""
    pair = _open_pair(ctx, str(pair_id))
    rows, missing = _compared(request, ctx, pair)
    return PairRecordsOut(pair=_pair_out(pair), fields=[FieldOut(**row) for row in rows], missing=missing)


@api.post("/review/{pair_id}", response_model=PairOut, summary="Decide a pair")
def api_decide(request: Request, ctx: ContextDep, pair_id: int, body: DecisionIn) -> PairOut:
    """Record that the two records are the same child or different children; every later run keeps to it."""
    return _pair_out(_decide(ctx, request, str(pair_id), body.decision))
