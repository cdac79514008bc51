"""Publishing as a recorded step: each release is a run (inputs, rules, audit result) and an audit-trail event."""

from __future__ import annotations

from typing import Any

from pupildata.errors import DataError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.runs import default_actor
from pupildata.policy import Disclosure
from pupildata.publish.contract import CONTRACT
from pupildata.publish.inputs import has_spine, install_release_inputs
from pupildata.publish.release import publish
from pupildata.publish.sources import exists
from pupildata.publish.specs import ReleaseSpec

NOT_MATCHED = "Nothing to publish: records have not been matched yet — run `pupildata link` first."


def prepare_inputs(ctx: Context) -> dict[str, int]:
    """Make the contract tables from the collected records and the spine; their row counts.

    Without a spine there is nothing to publish, unless the contract tables were provided some other way (a
    test's or a benchmark's warehouse), in which case they are read as they are.
    """
    engine = ctx.warehouse
    if has_spine(engine):
        return install_release_inputs(engine)
    if all(exists(engine, view) for view in CONTRACT):
        return {view: int(engine.fetchall(f"SELECT count(*) FROM {view}")[0][0]) for view in CONTRACT}
    raise DataError(NOT_MATCHED)


def latest_year(engine: DuckDBEngine) -> int:
    if not exists(engine, "pupil_year"):
        raise DataError("The warehouse has no pupil_year view: run the matching step (pupildata link) first.")
    rows = engine.fetchall("SELECT max(year) FROM pupil_year")
    if rows[0][0] is None:
        raise DataError("The warehouse's pupil_year view is empty: there is nothing to publish.")
    return int(rows[0][0])


def _inputs(ctx: Context) -> list[dict[str, Any]]:
    """The runs whose outputs this release reads: the latest linkage and the collections before it."""
    inputs = []
    for step in ("link", "collect"):
        for run in ctx.runs.recent(step, limit=20 if step == "collect" else 1):
            if run.status == "succeeded":
                inputs.append({"run": run.id, "step": step, "outputs": run.outputs})
    return inputs


def publish_recorded(
    ctx: Context, spec: ReleaseSpec, year: int, disclosure: Disclosure | None = None
) -> dict[str, Any]:
    """Publish one release as a run; ``disclosure`` replaces the policy's (the demo's shorter time limit)."""
    disclosure = disclosure or ctx.policy.disclosure
    parameters = {"release": spec.name, "year": year, "disclosure": disclosure.model_dump()}
    with ctx.runs.record("publish", inputs=_inputs(ctx), parameters=parameters) as run:
        outcome = publish(ctx.warehouse, spec, year, disclosure, ctx.settings.outputs_dir)
        for name in outcome.files:
            run.output("file", str(outcome.folder / name))
        counts = outcome.disclosure["counts"]
        run.count("cells", counts["cells"])
        run.count("primary", counts["primary"])
        run.count("secondary", counts.get("secondary", 0))
    ctx.audit.append(
        Event(
            actor=default_actor(),
            action="publish",
            object_type="release",
            object_id=f"{spec.name}/{outcome.time_period}",
            reason=f"Statistics for {spec.recipient}",
            detail={"run": run.id, "audit": counts.get("audit"), "files": outcome.files, "notes": outcome.notes},
        )
    )
    return {
        "release": spec.name,
        "time_period": outcome.time_period,
        "folder": str(outcome.folder),
        "files": outcome.files,
        "run": run.id,
        "disclosure": outcome.disclosure,
        "notes": outcome.notes,
    }
