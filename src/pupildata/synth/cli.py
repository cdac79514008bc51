"""The ``pupildata synth`` command: generate a synthetic England's data returns with ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``synth`` to the root command."""
    app.command(name="synth")(synth)


def synth(
    out: Annotated[Path, typer.Option("--out", help="The folder to write into (created if missing).")],
    scale: Annotated[
        str | None,
        typer.Option("--scale", help="school, la, region or national (default la).", show_default=False),
    ] = None,
    pupils: Annotated[
        int | None,
        typer.Option("--pupils", help="Census pupils in the last year, instead of the scale's usual number."),
    ] = None,
    years: Annotated[str, typer.Option("--years", help="Academic years, e.g. 2006/07..2008/09.")] = "2006/07..2008/09",
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same bytes.")] = 2009,
    workers: Annotated[int, typer.Option("--workers", help="Processes writing files (the output is the same).")] = 2,
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Generate realistic data returns, with the truth of every record, from one school to the whole country."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pupildata.cli import emit_json, err
    from pupildata.cli import out as console
    from pupildata.synth.config import make_config
    from pupildata.synth.generate import generate

    config = make_config(scale, pupils, years, seed, out, workers=workers)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=json_out) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = int(bar.add_task(stage, total=total))
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        manifest = generate(config, out, progress)
    if json_out:
        emit_json(manifest.to_dict())
        return
    sources = ("census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey")
    console.print(
        f"Wrote {len(manifest.files)} files for {len(config.years)} academic year(s) "
        f"({manifest.people:,} people) to {out}",
        markup=False,
    )
    for source in sources:
        files = [f for f in manifest.files if f.source == source]
        if files:
            console.print(f"  {source:<7} {len(files):>6} files {manifest.records(source):>11,} records", markup=False)
    console.print(f"  truth   {len(manifest.truth):>6} files in {out / 'truth'}", markup=False)
