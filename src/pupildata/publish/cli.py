"""``pupildata publish [RELEASE...]``: build, protect, audit and write releases, each recorded as a run."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pupildata.cli import HomeOpt, JsonOpt, emit_json, out, settings_for
from pupildata.errors import UsageError


def publish_command(
    releases: Annotated[
        list[str] | None, typer.Argument(help="Releases to publish (default: all).", show_default=False)
    ] = None,
    year: Annotated[
        int | None, typer.Option(help="Academic year by its first calendar year (default: the latest).")
    ] = None,
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Publish statistics releases: tables from the linked record, disclosure control, audit, open-data files."""
    from rich.progress import Progress

    from pupildata.kernel.context import Context
    from pupildata.publish.releases import RELEASES
    from pupildata.publish.service import latest_year, prepare_inputs, publish_releases
    from pupildata.publish.specs import validate

    names = list(releases or RELEASES)
    unknown = [n for n in names if n not in RELEASES]
    if unknown:
        raise UsageError(f"Unknown release '{unknown[0]}' (known: {', '.join(RELEASES)}).")
    results: list[dict[str, Any]] = []
    with Context(settings_for(home)) as ctx:
        for name in names:  # every spec is checked before anything is built
            validate(RELEASES[name], ctx.policy.disclosure)
        inputs = prepare_inputs(ctx)
        chosen = year if year is not None else latest_year(ctx.warehouse)
        with Progress(transient=True, disable=json_out) as progress:
            task = progress.add_task("Publishing", total=len(names))

            def done(name: str) -> None:
                progress.update(task, description=f"Published {name}")
                progress.advance(task)

            published = publish_releases(ctx, [RELEASES[n] for n in names], chosen, done=done, contract=inputs)
        made = {"seconds": round(inputs.seconds, 3), "reused": inputs.reused}  # once, for every release
        for result in published:
            assert not isinstance(result, Exception)  # without keep_going, the first error is raised
            results.append({**result, "contract_tables": made})
    if json_out:
        emit_json(results)
        return
    for r in results:
        counts = r["disclosure"]["counts"]
        hidden = counts.get("secondary", 0) + counts.get("primary", 0)
        out.print(
            f"{r['release']} {r['time_period']}: {len(r['files'])} files, {hidden} cells withheld, "
            f"audit passed — {r['folder']}",
            markup=False,
        )
        for note in r.get("notes", []):
            out.print(f"  note: {note}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_command)
