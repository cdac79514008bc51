"""Matching commands: ``link``, ``link report``, ``link review`` and ``match``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pupildata.cli import HomeOpt, JsonOpt, emit_json, out, settings_for
from pupildata.errors import UsageError
from pupildata.kernel.context import Context

link_app = typer.Typer(
    help="Match every collected record to the spine: one record per child, with a stable PMR.",
    invoke_without_command=True,
)


@link_app.callback()
def link(ctx: typer.Context, home: HomeOpt = None, json_out: JsonOpt = False) -> None:
    """Match every collected record to the spine (new records only; earlier links and decisions are kept)."""
    if ctx.invoked_subcommand is not None:
        return
    from pupildata.link import pipeline

    with Context(settings_for(home)) as context:
        counts = pipeline.run(context)
    if json_out:
        emit_json(counts)
        return
    out.print(
        f"Matched {counts['records']} records ({counts['new_records']} new) to {counts['people']} people: "
        f"{counts['new_pmrs']} new PMRs, {counts['merges']} merges, {counts['splits']} splits, "
        f"{counts['review_queued']} pairs queued for review (run {counts['run_id']}).",
        markup=False,
    )


@link_app.command("report")
def report(
    home: HomeOpt = None,
    truth: Annotated[Path | None, typer.Option(help="A synthetic folder: also measure against its truth.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Match rates by source, year, sex, ethnicity, FSM and EAL; with --truth, precision, recall and F1."""
    from pupildata.link import quality

    with Context(settings_for(home)) as context:
        result: dict[str, Any] = {"match_rates": quality.rates(context.warehouse)}
        if truth is not None:
            result["truth"] = quality.with_truth(context.warehouse, truth)
    if json_out:
        emit_json(result)
        return
    for by, rows in result["match_rates"].items():
        out.print(f"Match rate by {by}:", markup=False)
        for row in rows:
            out.print(f"  {row[by]:<12} {row['match_rate']:.4f}  ({row['linked']} of {row['records']})", markup=False)
    if truth is not None:
        out.print("Against the truth (pairs of records):", markup=False)
        for row in result["truth"]["by_source"]:
            out.print(
                f"  {row['source']:<8} precision {row['precision']:.5f}  recall {row['recall']:.5f}  "
                f"F1 {row['f1']:.5f}",
                markup=False,
            )


def _show_pair(context: Context, pair: Any) -> None:
    from pupildata.link import quality

    models = sorted((context.settings.home / "models").glob("link-*.json"), key=lambda p: p.stat().st_mtime)
    out.print(
        f"Pair {pair.id}: {pair.left_key}  |  {pair.right_key}  (probability {pair.probability:.4f})", markup=False
    )
    if not models:
        return
    for row in quality.explain(context.warehouse, models[-1], pair.left_key, pair.right_key):
        left, right = row.get("left", ""), row.get("right", "")
        out.print(
            f"  {row['comparison']:<14} {left!s:<22} {right!s:<22} {row['level']:<34} {row['match_weight']:+.2f}",
            markup=False,
        )


@link_app.command("review")
def review_command(
    home: HomeOpt = None,
    decide: Annotated[
        tuple[int, str] | None, typer.Option(help="Decide one pair without prompting: PAIR same|different.")
    ] = (None, None),  # type: ignore[assignment]
    limit: Annotated[int, typer.Option(min=1, help="How many open pairs to go through.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """Go through pairs the model was unsure about: each side by side with its explanation; decide same or
    different. Decisions are kept and honoured by every later run."""
    from pupildata.kernel.runs import default_actor
    from pupildata.link import review

    with Context(settings_for(home)) as context:
        if decide and decide[0] is not None:
            pair_id, decision = decide
            pair = review.decide(context.registry, context.audit, int(pair_id), str(decision), default_actor())
            if json_out:
                emit_json({"pair": pair.id, "decision": decision})
            else:
                out.print(f"Pair {pair.id}: recorded as {decision}.", markup=False)
            return
        pairs = review.open_pairs(context.registry, limit)
        if json_out:
            emit_json([p.__dict__ for p in pairs])
            return
        if not pairs:
            out.print("No pairs are waiting for review.")
            return
        for pair in pairs:
            _show_pair(context, pair)
            answer = typer.prompt("Same child? [s]ame / [d]ifferent / [k] skip / [q] quit", default="k").strip().lower()
            if answer.startswith("q"):
                break
            if answer[:1] in ("s", "d"):
                choice = "same" if answer.startswith("s") else "different"
                review.decide(context.registry, context.audit, pair.id, choice, default_actor())
                out.print(f"  recorded as {choice}.", markup=False)


def match_command(  # noqa: PLR0917 - a command takes its options as parameters
    file: Annotated[Path, typer.Argument(help="The CSV file to match.")],
    columns: Annotated[
        str,
        typer.Option(
            help="field=column,... for FILE (fields: forename, middle_names, surname, "
            "dob, sex, postcode, address, upn, uln)."
        ),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the pairs (CSV).")],
    against: Annotated[Path | None, typer.Option(help="Match to this second CSV file instead of the spine.")] = None,
    against_columns: Annotated[
        str | None, typer.Option(help="field=column,... for FILE2 (default: --columns).")
    ] = None,
    left_id: Annotated[str | None, typer.Option(help="FILE's id column (default: row numbers).")] = None,
    right_id: Annotated[str | None, typer.Option(help="FILE2's id column (default: row numbers).")] = None,
    dob_format: Annotated[str | None, typer.Option(help="strptime format of dates of birth, e.g. %d/%m/%Y.")] = None,
    one_to_one: Annotated[bool, typer.Option("--one-to-one", help="Keep only mutual best links.")] = False,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Smallest match probability kept.")] = 0.9,
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Match a file to the spine (right_id is the PMR) or to a second file.

    Writes CSV left_id,right_id,match_probability."""
    from pupildata.link import match

    if right_id and against is None:
        raise UsageError("--right-id needs --against FILE2.")
    left = match.Side(file, match.parse_columns(columns), left_id)
    right = None
    if against is not None:
        right = match.Side(against, match.parse_columns(against_columns or columns, "--against-columns"), right_id)
    settings = settings_for(home)
    with Context(settings) as context:
        engine = context.warehouse if against is None else _scratch()
        written = match.match(
            engine,
            left,
            right,
            out_path,
            dob_format=dob_format,
            one_to_one=one_to_one,
            threshold=threshold,
            models=settings.home / "models",
        )
    if json_out:
        emit_json({"pairs": written, "out": str(out_path)})
    else:
        out.print(f"Wrote {written} pairs to {out_path}.", markup=False)


def _scratch() -> Any:
    from pupildata.kernel.engine import DuckDBEngine

    return DuckDBEngine()


def register(app: typer.Typer) -> None:
    app.add_typer(link_app, name="link")
    app.command("match")(match_command)
