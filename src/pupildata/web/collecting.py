"""What the collection pages and their JSON twins show, read through collection's public functions.

Lists, status and receipts come from the registry. Only a validation report's record-level rows come from the
warehouse, opened read-only for the one read; showing them is access to pupils' data, so each time they are
read an audit event is written before the response is sent — if the event cannot be written, nothing is shown.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from pupildata.collect.catalogue import all_rules
from pupildata.collect.collections import CollectionStatus, SenderStatus, collections, status
from pupildata.collect.queries import file_counts, recent_receipts
from pupildata.collect.receipts import REFUSED, Receipt
from pupildata.collect.reports import VIEW_ACTION, issue_rows, refused_row, report_csv, report_path
from pupildata.collect.schemas import SOURCES
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.web.accounts import User
from pupildata.web.warehouse import Reader, read_only, reading

FILE_RULE_GROUP = "Whole files"


@dataclass(frozen=True)
class CollectionRow:
    name: str
    title: str
    source: str
    source_title: str
    due_on: date | None
    expected: int
    sent: int
    not_sent: int
    with_errors: int
    files: int
    records: int
    accepted: int
    quarantined: int
    queried: int


def source_title(source: str) -> str:
    found = SOURCES.get(source)
    return found.title if found else source


def collection_rows(ctx: Context) -> list[CollectionRow]:
    """Every collection with its senders and counts (from the registry)."""
    files = file_counts(ctx.registry)
    rows = []
    for collection in collections(ctx.registry):
        found = status(ctx.registry, collection.name)
        if found is None:  # pragma: no cover - removed between the two reads
            continue
        totals = found.totals()
        rows.append(
            CollectionRow(
                name=found.name,
                title=found.title,
                source=found.source,
                source_title=source_title(found.source),
                due_on=collection.due_on,
                expected=sum(s.expected for s in found.senders),
                sent=found.sent,
                not_sent=len(found.missing),
                with_errors=len(with_errors(found)),
                files=files.get(found.name, 0),
                **totals,
            )
        )
    return rows


def with_errors(found: CollectionStatus) -> list[SenderStatus]:
    return [s for s in found.senders if s.receipt_id is not None and s.quarantined > 0]


def without_errors(found: CollectionStatus) -> list[SenderStatus]:
    return [s for s in found.senders if s.receipt_id is not None and s.quarantined == 0]


def rule_totals(found: CollectionStatus) -> dict[str, int]:
    """Failures of each rule over the collection's current returns, most frequent first."""
    totals: dict[str, int] = {}
    for sender in found.senders:
        for code, n in sender.rule_counts.items():
            totals[code] = totals.get(code, 0) + n
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class RuleGroup:
    title: str
    slug: str
    rules: list[dict[str, str]]


@cache
def rule_index() -> dict[str, dict[str, str]]:
    """Each rule of the catalogue by its code."""
    return {rule["code"]: rule for rule in all_rules()}


def rule_groups() -> list[RuleGroup]:
    """The rule catalogue grouped as schools meet it: whole-file rules first, then each kind of return."""
    titles = {src.prefix: (src.title, src.name) for src in SOURCES.values()}
    groups: dict[str, RuleGroup] = {}
    for rule in all_rules():
        prefix = rule["code"].split("-", 1)[0]
        title, slug = titles.get(prefix, (FILE_RULE_GROUP, "files"))
        groups.setdefault(slug, RuleGroup(title, slug, [])).rules.append(rule)
    return list(groups.values())


@dataclass(frozen=True)
class Viewer:
    """Who is looking (``actor`` until sign-in exists is the anonymous portal user), from where, and how."""

    actor: str
    client: str
    how: str


@dataclass
class ReportPage:
    """One page of a receipt's validation report."""

    receipt: Receipt
    rule_counts: dict[str, int]
    page: int
    per_page: int
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.receipt.status in REFUSED

    @property
    def total(self) -> int:
        return 1 if self.refused else sum(self.rule_counts.values())

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def read_report_page(
    ctx: Context,
    receipt: Receipt,
    counts: dict[str, int],
    *,
    page: int,
    per_page: int,
    viewer: Viewer,
    warehouse: Reader | None = None,
) -> ReportPage:
    """The rows of one page, read from the warehouse only when the file had failing records; audited.
    ``warehouse``: the request's reader of it (``reading``), else it is opened for this read alone."""
    report = ReportPage(receipt, counts, page, per_page)
    if report.refused:
        report.rows = [refused_row(receipt)]
        return report
    if page > report.pages or report.total == 0:
        return report
    offset = (page - 1) * per_page
    with reading(ctx.settings.warehouse) if warehouse is None else nullcontext(warehouse) as reader:
        report.rows = issue_rows(reader(), receipt, limit=offset + per_page)[offset:]
    if report.rows:
        audit_view(ctx, receipt, viewer, rows=len(report.rows), page=page)
    return report


def read_report_csv(ctx: Context, receipt: Receipt, viewer: Viewer) -> str:
    """The CSV report: the copy written when the file was collected, else written afresh; audited."""
    stored = report_path(ctx.settings.outputs_dir, receipt.receipt_id)
    if stored.is_file():
        text = stored.read_text(encoding="utf-8")
    else:
        with read_only(ctx.settings.warehouse) as engine:
            text = report_csv(engine, receipt)
    if receipt.status not in REFUSED:
        audit_view(ctx, receipt, viewer, rows=max(text.count("\n") - 1, 0))
    return text


def read_quarantine_csv(ctx: Context, receipt: Receipt, viewer: Viewer) -> str | None:
    """The receipt's quarantined records not yet corrected, as CSV to correct and send back (None if there are
    none); audited."""
    from pupildata.collect.corrections import export_csv
    from pupildata.errors import UsageError

    with read_only(ctx.settings.warehouse) as engine:
        try:
            text, count = export_csv(engine, receipt.receipt_id, ctx.settings.archive_dir)
        except UsageError:
            return None
    audit_view(ctx, receipt, viewer, rows=count, export="quarantined records")
    return text


#: How many of the latest files "Your returns" lists.
RECENT = 500


def visible_returns(ctx: Context, user: User, limit: int = RECENT) -> list[Receipt]:
    """The latest files ``user`` may see, newest first: a sender's own, or everyone's for department staff."""
    senders, authorities = user.senders()
    found = recent_receipts(ctx.registry, senders=senders, prefixes=authorities, limit=limit)
    return [receipt for receipt in found if user.may_see_sender(receipt.sender)]


def audit_view(ctx: Context, receipt: Receipt, viewer: Viewer, **detail: object) -> None:
    about = {"how": viewer.how, "client": viewer.client, **detail}
    ctx.audit.append(Event(viewer.actor, VIEW_ACTION, "receipt", str(receipt.receipt_id), "validation report", about))


__all__ = [
    "RECENT",
    "CollectionRow",
    "ReportPage",
    "RuleGroup",
    "Viewer",
    "collection_rows",
    "read_report_csv",
    "read_report_page",
    "rule_groups",
    "rule_index",
    "rule_totals",
    "visible_returns",
    "with_errors",
    "without_errors",
]
