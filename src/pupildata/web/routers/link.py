"""Clerical review of matching in the portal: the pairs the model was unsure of, each side by side, and a decision
that every later matching run honours (``pupildata.link.review``; the command-line twin is ``pupildata link
review``).

The two records name a child, so showing a pair is an audit event (``link.review.view``), written before the page
is sent; a decision is one too (``link.review.decide``), with the signed-in person as its actor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.link import review
from pupildata.web.auth import actor, needs, same_origin
from pupildata.web.deps import ContextDep, client_address
from pupildata.web.permissions import REVIEW_MATCHES
from pupildata.web.templating import templates
from pupildata.web.warehouse import RETRY_AFTER, WarehouseUnavailable, read_only

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(REVIEW_MATCHES)])

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


@router.api_route("/matching/review/{pair_id}", methods=["GET", "HEAD"], name="review-pair")
def pair_page(request: Request, ctx: ContextDep, pair_id: str) -> HTMLResponse:
    pair = _open_pair(ctx, pair_id)
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
        rows.append({"label": label, "left": "" if a is None else a, "right": "" if b is None else b, "agree": agree})
    ctx.audit.append(
        Event(
            actor(request), "link.review.view", "link_review", str(pair.id), "clerical review of matching",
            {"client": client_address(request), "records": [pair.left_key, pair.right_key]},
        )
    )  # fmt: skip
    context = {
        "pair": pair,
        "rows": rows,
        "probability": percent(pair.probability),
        "missing": len(found) < 2 - (pair.left_key == pair.right_key),
    }
    return _page(request, "link/pair.html", context)


@router.post("/matching/review/{pair_id}", name="review-decide")
def decide(request: Request, ctx: ContextDep, pair_id: str, decision: Annotated[str, Form()] = "") -> Response:
    if not same_origin(request):
        raise HTTPException(403, "This form can only be sent from the portal's own pages.")
    pair = _open_pair(ctx, pair_id)
    if decision not in CHOICES:
        raise HTTPException(400, "Choose whether the two records are the same child or different children.")
    try:
        review.decide(ctx.registry, ctx.audit, pair.id, decision, actor(request))
    except UsageError as exc:
        raise HTTPException(404, exc.message) from None
    return RedirectResponse(f"/matching/review?decided={pair.id}&decision={decision}", status_code=303)
