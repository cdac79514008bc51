"""The clerical review queue: pairs the model was unsure about, and people's decisions on them.

The queue and the decisions live in the registry (the operational store the portal will share). A decision that
two records are the same child is a must-link, that they are different a cannot-link; every later run reads all
decisions first and honours them, whatever the model says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from pupildata.errors import UsageError
from pupildata.kernel.audit import AuditTrail, Event
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.registry import LinkDecision, LinkReview, Registry

DECISIONS = ("same", "different")


@dataclass(frozen=True)
class Pair:
    id: int
    left_key: str
    right_key: str
    probability: float


def decisions(registry: Registry) -> list[tuple[str, str, str]]:
    """Every decision, latest per pair wins: (left_key, right_key, same|different)."""
    with registry.session() as session:
        rows = session.execute(select(LinkDecision).order_by(LinkDecision.id)).scalars().all()
        latest: dict[tuple[str, str], str] = {}
        for row in rows:
            latest[tuple(sorted((row.left_key, row.right_key)))] = row.decision  # type: ignore[index]
    return [(a, b, decision) for (a, b), decision in sorted(latest.items())]


def enqueue(registry: Registry, run_id: int, pairs: list[tuple[str, str, float]]) -> int:
    """Add pairs not already queued or decided; returns how many were added."""
    with registry.session() as session:
        known = {tuple(sorted((r.left_key, r.right_key))) for r in session.execute(select(LinkReview)).scalars()} | {
            tuple(sorted((d.left_key, d.right_key))) for d in session.execute(select(LinkDecision)).scalars()
        }
        now = datetime.now(UTC)
        added = 0
        for left, right, probability in pairs:
            if tuple(sorted((left, right))) in known:
                continue
            session.add(
                LinkReview(
                    run_id=run_id,
                    left_key=left,
                    right_key=right,
                    probability=float(probability),
                    status="open",
                    created_at=now,
                )
            )
            known.add(tuple(sorted((left, right))))
            added += 1
    return added


def open_count(registry: Registry) -> int:
    """How many pairs wait for a decision."""
    with registry.session() as session:
        return int(
            session.execute(
                select(func.count()).select_from(LinkReview).where(LinkReview.status == "open")
            ).scalar_one()
        )


def open_pairs(registry: Registry, limit: int = 50) -> list[Pair]:
    with registry.session() as session:
        rows = session.execute(
            select(LinkReview)
            .where(LinkReview.status == "open")
            .order_by(LinkReview.probability.desc(), LinkReview.id)
            .limit(limit)
        ).scalars()
        return [Pair(r.id, r.left_key, r.right_key, r.probability) for r in rows]


def decide(registry: Registry, audit: AuditTrail, pair_id: int, decision: str, actor: str) -> Pair:
    """Record a decision on a queued pair (and audit it)."""
    if decision not in DECISIONS:
        raise UsageError(f"A decision is 'same' or 'different', not '{decision}'.")
    with registry.session() as session:
        row = session.get(LinkReview, pair_id)
        if row is None:
            raise UsageError(f"There is no review pair {pair_id}; `pupildata link review` lists the open ones.")
        row.status = "decided"
        session.add(
            LinkDecision(
                left_key=row.left_key,
                right_key=row.right_key,
                decision=decision,
                actor=actor,
                decided_at=datetime.now(UTC),
                review_id=row.id,
            )
        )
        pair = Pair(row.id, row.left_key, row.right_key, row.probability)
    audit.append(Event(actor, "link.review.decide", "link_review", str(pair_id), f"records are {decision}"))
    return pair


def decide_keys(registry: Registry, left_key: str, right_key: str, decision: str, actor: str) -> None:
    """Record a decision on any two records (queued or not)."""
    if decision not in DECISIONS:
        raise UsageError(f"A decision is 'same' or 'different', not '{decision}'.")
    with registry.session() as session:
        session.add(
            LinkDecision(
                left_key=left_key, right_key=right_key, decision=decision, actor=actor, decided_at=datetime.now(UTC)
            )
        )


def find_pair(registry: Registry, pair_id: int) -> tuple[Pair, str] | None:
    """A queued pair and its status (open or decided), if there is one numbered ``pair_id``."""
    with registry.session() as session:
        row = session.get(LinkReview, pair_id)
        return None if row is None else (Pair(row.id, row.left_key, row.right_key, row.probability), row.status)


#: What a reviewer sees, in order: (column of ``link_norm``, label).
SHOWN = (
    ("source", "Return"), ("year", "Year"), ("fn", "First name"), ("mn", "Middle names"), ("sn", "Surname"),
    ("dob", "Date of birth"), ("sex", "Sex"), ("pc", "Postcode"), ("upn", "UPN"), ("former_upn", "Former UPN"),
    ("uln", "ULN"), ("school", "School"), ("la_code", "Local authority"),
)  # fmt: skip
#: The columns that describe the child, so that two records may agree or not on them (a return's kind and year,
#: and a school's number — a URN in one return, an LA and establishment number in another — do not).
COMPARED = frozenset({"fn", "mn", "sn", "dob", "sex", "pc", "upn", "former_upn", "uln", "la_code"})


def records(engine: DuckDBEngine, keys: tuple[str, str]) -> dict[str, dict[str, object]]:
    """The two records of a pair as matching saw them (normalised), by record key."""
    columns = ", ".join(column for column, _ in SHOWN)
    rows = engine.fetchall(f"SELECT record_key, {columns} FROM link_norm WHERE record_key IN (?, ?)", list(keys))
    return {str(row[0]): dict(zip((c for c, _ in SHOWN), row[1:], strict=True)) for row in rows}
