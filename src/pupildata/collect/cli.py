"""Commands: ``pupildata collect PATH...`` receives data returns; ``pupildata collection ...`` shows collections,
their status, receipts' validation reports, the rule catalogue, and exports quarantined records for correction.

Exit codes: 0 every record accepted (queries allowed), 1 some records quarantined or files refused, 2 usage error.
"""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pupildata.cli import HomeOpt, JsonOpt, emit_json, err, out, settings_for
from pupildata.errors import UsageError

if TYPE_CHECKING:
    from pupildata.collect.receipts import Receipt


class SourceName(StrEnum):
    census = "census"
    ks = "ks"
    ncmp = "ncmp"
    ilr = "ilr"
    survey = "survey"
    parquet = "parquet"


collection_app = typer.Typer(help="Collections of returns: status, receipts' reports, rules, corrections.")


def collect_command(  # noqa: PLR0917 - a command's options
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of returns.", show_default=False)],
    source: Annotated[
        SourceName | None, typer.Option("--source", help="What the files are (default: told from each file).")
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="The collection, e.g. census-2009-spr (default: from the file).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="The CSV files' encoding if not UTF-8, e.g. windows-1252.")
    ] = None,
    corrects: Annotated[
        int | None,
        typer.Option(
            "--corrects",
            metavar="RECEIPT",
            help="The file corrects the quarantined records of this receipt (as exported by "
            "'pupildata collection quarantine RECEIPT').",
        ),
    ] = None,
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Receive data returns: archive, validate and load each file; a receipt and a report for every file."""
    from pupildata.collect.load import Options
    from pupildata.collect.schemas import SOURCES
    from pupildata.collect.service import collect
    from pupildata.kernel.context import Context

    chosen = SOURCES[source.value] if source and source is not SourceName.parquet else None
    options = Options(source=chosen, collection=collection, encoding=encoding, corrects=corrects)
    with Context(settings_for(home)) as ctx:
        if json_out or not sys.stderr.isatty():
            summary = collect(ctx, paths, options)
        else:
            columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err, transient=True) as bar:
                task = bar.add_task("collecting", total=None)

                def progress(name: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, description=name[:40])

                summary = collect(ctx, paths, options, progress)
    if json_out:
        emit_json(
            {"run_id": summary.run_id, "totals": summary.totals(), "receipts": [r.as_dict() for r in summary.receipts]}
        )
    else:
        _print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


#: Up to this many files, the summary lists every file's receipt; beyond it, one line per collection, then the
#: files that need the sender's attention (records quarantined, or the file refused), up to ``ATTENTION`` of them.
LIST_EVERY = 20
ATTENTION = 20


#: Columns of counts and numbers, right-aligned in every table.
_NUMBERS = frozenset({"Receipt", "Files", "Sent", "Not sent", "Accepted", "Quarantined", "Queried", "Refused",
                      "Already received"})  # fmt: skip


#: Columns of identifiers, never folded nor cut (in a narrow terminal, the names and texts beside them are).
_KEYS = frozenset({"Sender", "Collection"})


def _table(columns: list[str], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in _NUMBERS else "left", no_wrap=name in _KEYS)
    return table


def _receipt_table(title: str, receipts: list[Receipt]) -> Table:
    from pupildata.collect.reports import safe_cell

    table = _table(["Receipt", "File", "Collection", "Sender", "Outcome", "Accepted", "Quarantined", "Queried"], title)
    for r in receipts:
        outcome = r.status if not r.rule_code else f"{r.status} ({r.rule_code})"
        table.add_row(
            str(r.receipt_id), safe_cell(r.file_name)[:60], r.collection or "", safe_cell(r.sender)[:30], outcome,
            f"{r.accepted:,}", f"{r.quarantined:,}", f"{r.queried:,}",
        )  # fmt: skip
    return table


def _collection_table(receipts: list[Receipt]) -> Table:
    """One line per collection (files of no collection: refused before one could be told): files, records."""
    by_collection: dict[str, list[Receipt]] = {}
    for r in receipts:
        by_collection.setdefault(r.collection or "(none)", []).append(r)
    columns = ["Collection", "Files", "Accepted", "Quarantined", "Queried", "Refused", "Already received"]
    table = _table(columns, f"Returns received: {len(receipts):,} files")
    for name, group in sorted(by_collection.items()):
        table.add_row(
            name, f"{len(group):,}", f"{sum(r.accepted for r in group):,}", f"{sum(r.quarantined for r in group):,}",
            f"{sum(r.queried for r in group):,}", f"{sum(r.status == 'rejected' for r in group):,}",
            f"{sum(r.status == 'duplicate' for r in group):,}",
        )  # fmt: skip
    return table


def _print_summary(summary: object) -> None:
    from pupildata.collect.receipts import REFUSED
    from pupildata.collect.reports import safe_cell
    from pupildata.collect.service import Summary

    assert isinstance(summary, Summary)
    receipts = summary.receipts
    if len(receipts) <= LIST_EVERY:
        out.print(_receipt_table("Returns received", receipts), markup=False)
    else:
        out.print(_collection_table(receipts), markup=False)
        # refused files first (nothing of them was loaded), then those with the most records quarantined
        attention = sorted(
            (r for r in receipts if r.quarantined or r.status == "rejected"),
            key=lambda r: (r.status != "rejected", -r.quarantined, r.receipt_id),
        )
        if attention:
            title = f"Files with records quarantined, or refused: {len(attention):,}"
            out.print(_receipt_table(title, attention[:ATTENTION]), markup=False)
        if len(attention) > ATTENTION:
            out.print(
                f"... and {len(attention) - ATTENTION:,} more: 'pupildata collection status COLLECTION' lists every "
                "file of a collection.",
                markup=False,
            )
    for r in receipts:
        if r.message and r.status in REFUSED:
            out.print(f"Receipt {r.receipt_id} ({safe_cell(r.file_name)[:60]}): {safe_cell(r.message)}", markup=False)
    t = summary.totals()
    out.print(
        f"{_many(t['files'], 'file')}: {_many(t['accepted'], 'record')} accepted, {t['quarantined']:,} quarantined, "
        f"{t['queried']:,} queried; {_many(t['rejected'], 'file')} refused, {t['duplicates']:,} already received. "
        "Reports: pupildata collection report RECEIPT",
        markup=False,
    )


def _many(count: int, thing: str) -> str:
    """'1 file', '2 files', '1,024 files'."""
    return f"{count:,} {thing}{'' if count == 1 else 's'}"


@collection_app.command("list")
def list_collections(home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Every collection, and how many of its expected senders have sent."""
    from pupildata.collect.collections import collections, status
    from pupildata.kernel.context import Context

    with Context(settings_for(home)) as ctx:
        found = [status(ctx.registry, c.name) for c in collections(ctx.registry)]
    rows = [s for s in found if s is not None]
    if json_out:
        emit_json([{"name": s.name, "title": s.title, "source": s.source, "sent": s.sent,
                    "expected": len(s.senders), **s.totals()} for s in rows])  # fmt: skip
        return
    table = _table(["Collection", "Title", "Sent", "Not sent", "Accepted", "Quarantined", "Queried"])
    for s in rows:
        t = s.totals()
        table.add_row(s.name, s.title, f"{s.sent:,}", f"{len(s.missing):,}", f"{t['accepted']:,}",
                      f"{t['quarantined']:,}", f"{t['queried']:,}")  # fmt: skip
    out.print(table, markup=False)


@collection_app.command("status")
def collection_status(
    name: Annotated[str, typer.Argument(help="The collection, e.g. census-2009-spr.")],
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Who has sent, who has not, and each return's counts and error codes."""
    from pupildata.collect.collections import status
    from pupildata.collect.reports import safe_cell
    from pupildata.kernel.context import Context

    with Context(settings_for(home)) as ctx:
        found = status(ctx.registry, name)
    if found is None:
        raise UsageError(f"There is no collection called '{name}'; 'pupildata collection list' shows them.")
    if json_out:
        emit_json({"name": found.name, "title": found.title, "totals": found.totals(),
                   "senders": [vars(s) for s in found.senders]})  # fmt: skip
        return
    title = f"{found.title}: {found.sent} sent, {len(found.missing)} not sent"
    columns = ["Sender", "Name", "Expected", "Receipt", "Outcome", "Accepted", "Quarantined", "Queried", "Rules"]
    table = _table(columns, title)
    for s in found.senders:
        rules = ", ".join(f"{code} ×{n}" for code, n in sorted(s.rule_counts.items()))
        table.add_row(safe_cell(s.sender), safe_cell(s.sender_name), "yes" if s.expected else "no",
                      str(s.receipt_id or ""), s.status, f"{s.accepted:,}", f"{s.quarantined:,}", f"{s.queried:,}",
                      rules[:80])  # fmt: skip
    out.print(table, markup=False)


@collection_app.command("report")
def report(
    receipt_id: Annotated[int, typer.Argument(help="The receipt number.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the CSV here (default: print it).")] = None,
    home: HomeOpt = None,
) -> None:
    """A receipt's validation report as CSV: each failing record with who it is, rule code, field, value and message.
    Reading it is recorded in the audit trail, as in the portal."""
    from pupildata.collect.receipts import REFUSED, get_receipt
    from pupildata.collect.reports import VIEW_ACTION, report_csv
    from pupildata.kernel.audit import Event
    from pupildata.kernel.context import Context
    from pupildata.kernel.runs import default_actor

    with Context(settings_for(home)) as ctx:
        receipt = get_receipt(ctx.warehouse, receipt_id) if ctx.warehouse.table_exists("collect_receipt") else None
        if receipt is None:
            raise UsageError(f"There is no receipt {receipt_id}.")
        text = report_csv(ctx.warehouse, receipt)
        if receipt.status not in REFUSED:  # a refusal's one row names no pupil
            where = str(out_file) if out_file else "standard output"
            ctx.audit.append(
                Event(default_actor(), VIEW_ACTION, "receipt", str(receipt_id), "validation report",
                      {"how": "command line", "rows": max(text.count("\n") - 1, 0), "to": where})
            )  # fmt: skip
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"Wrote the report of receipt {receipt_id} to {out_file}.", markup=False)
    else:
        sys.stdout.write(text)


@collection_app.command("quarantine")
def quarantine(
    receipt_id: Annotated[int, typer.Argument(help="The receipt number.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the CSV here (default: print it).")] = None,
    home: HomeOpt = None,
) -> None:
    """A receipt's quarantined records as CSV, to correct and send back with 'pupildata collect FILE --corrects
    RECEIPT': each record as sent, with its rule codes and messages."""
    from pupildata.collect.corrections import export_csv
    from pupildata.kernel.audit import Event
    from pupildata.kernel.context import Context
    from pupildata.kernel.runs import default_actor

    with Context(settings_for(home)) as ctx:
        text, count = export_csv(ctx.warehouse, receipt_id, ctx.settings.archive_dir)
        where = str(out_file) if out_file else "standard output"
        ctx.audit.append(
            Event(default_actor(), "collect.quarantine.export", "receipt", str(receipt_id),
                  "quarantined records exported for correction", {"records": count, "to": where})
        )  # fmt: skip
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"Wrote the {count:,} quarantined records of receipt {receipt_id} to {out_file}.", markup=False)
    else:
        sys.stdout.write(text)


@collection_app.command("rules")
def rules(json_out: JsonOpt = False) -> None:
    """The catalogue of validation rules: code, severity, field and message."""
    from pupildata.collect.catalogue import all_rules

    found = all_rules()
    if json_out:
        emit_json(found)
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=["code", "severity", "field", "message"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(found)


@collection_app.command("formats")
def formats(
    source: Annotated[
        str | None,
        typer.Argument(metavar="SOURCE", help="One kind of return: census, ks, ncmp, ilr or survey (default: all)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The data formats guide: each kind of return's fields, as they are named in the file, and how to write them."""
    from dataclasses import asdict

    from pupildata.collect.formats import source_formats, xml_layout

    found = [s for s in source_formats() if source in (None, s.name)]
    if not found:
        known = ", ".join(s.name for s in source_formats())
        raise UsageError(f"There is no kind of return called '{source}'; the kinds are {known}.")
    if json_out:
        emit_json([asdict(s) for s in found])
        return
    for src in found:
        xml = f"; in XML, {xml_layout(src)}" if src.xml_records else ""
        title = f"{src.title}: sent by each {src.sender}, as {', '.join(src.formats)}{xml}"
        table = _table(["Name in the file", "What to write", "Needed", "Personal"], title)
        for f in src.fields:
            name = f.label + (f" (or {', '.join(f.other_names)})" if f.other_names else "")
            if f.codes:
                shown = ", ".join(c.code for c in f.codes)
                what = f"One of: {shown}" if len(shown) <= 60 else f"One of {len(f.codes)} codes ('--json' lists them)"
            else:
                what = f.kind + (f", up to {f.max_length} characters" if f.max_length else "")
            table.add_row(name, f"{what}. {f.notes}".strip(), "yes" if f.mandatory else "no",
                          "yes" if f.identifying else "no")  # fmt: skip
        out.print(table, markup=False)
        if src.notes:
            out.print(src.notes, markup=False)
        out.print()


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_command)
    app.add_typer(collection_app, name="collection")
