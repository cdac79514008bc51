"""The main job on the embedded defaults: a synthetic local authority taken through every pipeline step.

Each domain contributes one step, in pipeline order. A step gets the context and a progress reporter and returns
a short summary of what it made and where; the demo prints them and records the whole job as a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.runs import default_actor
from pupildata.settings import Settings

#: A progress reporter: (what is happening, done so far, total).
Report = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[Context, Report], dict[str, Any]]


def _stores(ctx: Context, report: Report) -> dict[str, Any]:
    """Create the data home and its stores: registry (migrated), warehouse, reference tables, keys."""
    report("registry", 0, 3)
    registry = ctx.registry
    report("warehouse", 1, 3)
    from pupildata.kernel.reference.tables import install_reference_tables

    tables = install_reference_tables(ctx.warehouse)
    report("keys", 2, 3)
    ctx.keys.key("spine")
    report("done", 3, 3)
    return {
        "home": str(ctx.settings.home.resolve()),
        "registry": registry.safe_url,
        "warehouse": str(ctx.settings.warehouse.resolve()),
        "reference tables": ", ".join(f"{name} ({rows})" for name, rows in tables.items()),
    }


def _synth(ctx: Context, report: Report) -> dict[str, Any]:
    """Generate a synthetic local authority's returns for three years (the embedded default data)."""
    from pupildata.synth import generate_demo

    out = ctx.settings.home / "synth"
    with ctx.runs.record("synth", parameters={"out": str(out)}) as run:
        manifest = generate_demo(out, report)
        for source in sorted({f.source for f in manifest.files}):
            run.count(source, manifest.records(source))
        run.output("folder", str(out))
    years = sorted({f.year for f in manifest.files})
    return {
        "returns": str(out),
        "years": f"{years[0]} to {years[-1]}" if years else "none",
        "people": f"{manifest.people:,}",
        "files": f"{len(manifest.files):,}",
        "records": ", ".join(f"{s} {manifest.records(s):,}" for s in sorted({f.source for f in manifest.files})),
    }


def _collect(ctx: Context, report: Report) -> dict[str, Any]:
    """Collect the synthetic returns written to home/synth: archive, validate, load, receipts and reports."""
    from pupildata.collect import Options, collect

    folder = ctx.settings.home / "synth"
    if not folder.is_dir():
        return {"collected": "nothing: there is no synth folder in the home"}
    summary = collect(ctx, [folder], Options(), progress=report)
    totals = summary.totals()
    return {
        "files": totals["files"],
        "accepted": totals["accepted"],
        "quarantined": totals["quarantined"],
        "queried": totals["queried"],
        "rejected files": totals["rejected"],
        "reports": str((ctx.settings.outputs_dir / "collect" / "reports").resolve()),
    }


#: How each record came to share its person with others: by an identifier (UPN, ULN, the sender's id), by the
#: model (the record that needed it: a model link's probe side, or a record without an identifier linked to it),
#: or not at all (the only record of its person).
_HOW_SQL = """
WITH m AS (SELECT how, count(*) OVER (PARTITION BY pmr) AS size FROM link_member)
SELECT count(*), count(*) FILTER (WHERE size > 1),
  count(*) FILTER (WHERE size > 1 AND how NOT IN ('model', 'alone')),
  count(*) FILTER (WHERE size > 1 AND how IN ('model', 'alone')),
  count(*) FILTER (WHERE size = 1)
FROM m
"""


def _link(ctx: Context, report: Report) -> dict[str, Any]:
    """Match the collected records into one record per child; the demo's data is synthetic, so also measure the
    matching against the generator's truth (read here for this report only — the pipeline never reads it)."""
    from pupildata.link import pipeline, quality, review

    report("matching", 0, 3)
    counts = pipeline.run(ctx)
    report("match rates", 1, 3)
    engine = ctx.warehouse
    records, linked, deterministic, model, alone = engine.fetchone(_HOW_SQL) or (0, 0, 0, 0, 0)
    rates = quality.rates(engine)
    summary: dict[str, Any] = {
        "people on the spine": counts["people"],
        "records": records,
        "records linked": f"{linked:,} ({linked / records:.2%}) share their person with another record",
        "how": (
            f"by UPN, ULN or sender's id {deterministic:,}; by the model or a review decision {model:,}; "
            f"not linked {alone:,}"
        ),
        "review queue": f"{review.open_count(ctx.registry):,} pairs wait for a clerical decision",
        "match rate by source": {r["source"]: r["match_rate"] for r in rates["source"]},
    }
    truth = ctx.settings.home / "synth"
    if (truth / "truth").is_dir():
        report("checking against the truth", 2, 3)
        result = quality.with_truth(engine, truth)
        summary["checked against the generator's truth (pairs of records)"] = {
            r["source"]: {"precision": r["precision"], "recall": r["recall"]} for r in result["by_source"]
        }
    report("done", 3, 3)
    summary["run"] = counts["run_id"]
    return summary


#: The demo's time limit for each disclosure-control integer programme, in seconds.
DEMO_SOLVER_SECONDS = 30.0


def _publish(ctx: Context, report: Report) -> dict[str, Any]:
    """Publish every release from the linked record: disclosure control, audit, open-data files.

    A release that cannot be protected at the demo's scale fails with its one sentence; the others carry on. Each
    integer programme gets at most ``DEMO_SOLVER_SECONDS`` (or the policy's limit, if shorter) so the demo stays
    short.
    """
    from pupildata.errors import DataError, UsageError
    from pupildata.publish.releases import RELEASES
    from pupildata.publish.service import latest_year, prepare_inputs, publish_recorded

    try:
        prepare_inputs(ctx)
        year = latest_year(ctx.warehouse)
    except DataError as exc:
        return {"published": f"nothing: {exc}"}
    disclosure = ctx.policy.disclosure
    limit = min(disclosure.solver_time_limit_seconds, DEMO_SOLVER_SECONDS)
    disclosure = disclosure.model_copy(update={"solver_time_limit_seconds": limit})
    summary: dict[str, Any] = {}
    published = 0
    primary = secondary = 0
    checked = 0
    for done, (name, spec) in enumerate(RELEASES.items()):
        report(name, done, len(RELEASES))
        try:
            result = publish_recorded(ctx, spec, year, disclosure)
        except (DataError, UsageError) as exc:
            summary[name] = f"not published: {exc}"
            continue
        published += 1
        counts = result["disclosure"]["counts"]
        primary += counts.get("primary", 0)
        secondary += counts.get("secondary", 0)
        checked += int(counts.get("audit", {}).get("hidden_cells", 0))
        summary[name] = (
            f"{result['time_period']}: {len(result['files'])} files, {counts.get('primary', 0)} primary and "
            f"{counts.get('secondary', 0)} secondary cells suppressed"
        )
    report("done", len(RELEASES), len(RELEASES))
    return {
        "releases published": f"{published} of {len(RELEASES)}",
        **summary,
        "cells suppressed": f"{primary} primary, {secondary} secondary",
        "audit": f"passed: {checked} hidden cells checked" if published else "no release published",
        "files": str((ctx.settings.outputs_dir / "releases").resolve()),
    }


def steps() -> list[Step]:
    """The pipeline, in order. Each later capability adds its step here."""
    return [
        Step("stores", "Create the data home and its stores", _stores),
        Step("synth", "Generate a synthetic local authority", _synth),
        Step("collect", "Collect the data returns", _collect),
        Step("link", "Match records into one record per child", _link),
        Step("publish", "Publish statistics with disclosure control", _publish),
    ]


@contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Callable[[str], Report]]:
    if quiet:
        yield lambda _title: lambda _what, _done, _total: None
        return
    columns = (
        TextColumn("{task.description:<40}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[what]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:

        def for_step(title: str) -> Report:
            task = progress.add_task(title, total=None, what="")

            def report(what: str, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total or None, what=what)

            return report

        yield for_step


def run_demo(settings: Settings, *, quiet: bool = False, console: Console | None = None) -> dict[str, Any]:
    """Run every step; returns what was made and where."""
    console = console or Console(highlight=False)
    summary: dict[str, Any] = {"home": str(settings.home.resolve()), "steps": {}}
    with Context(settings) as ctx, _progress(console, quiet) as progress:
        with ctx.runs.record("demo", parameters={"home": str(settings.home)}) as run:
            for step in steps():
                result = step.run(ctx, progress(step.title))
                summary["steps"][step.name] = result
                run.output("step", step.name)
        ctx.audit.append(Event(default_actor(), "demo.run", "run", str(run.id), "the demonstration job"))
        summary["run_id"] = run.id
    if not quiet:
        console.print()
        console.print(f"[bold]The main job is done.[/] Everything is in {summary['home']}")
        for name, result in summary["steps"].items():
            console.print(f"  [bold]{name}[/]")
            for key, value in result.items():
                if isinstance(value, dict):
                    console.print(f"    {key}:", markup=False)
                    for part, detail in value.items():
                        shown = (
                            ", ".join(f"{k} {_count(v)}" for k, v in detail.items())
                            if isinstance(detail, dict)
                            else _count(detail)
                        )
                        console.print(f"      {part}: {shown}", markup=False)
                else:
                    console.print(f"    {key}: {_count(value)}", markup=False)
    return summary


def _count(value: object) -> object:
    """A count as people read it (139,974), anything else as it is."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
