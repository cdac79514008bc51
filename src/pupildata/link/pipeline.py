"""``pupildata link``: match every collected record to the spine, as one recorded run.

The run reads what collection loaded: ``link_record`` is (re)made as a view over collection's tables first
(``inputs.install_link_record``). Tests and benchmarks that build ``link_record`` themselves from synthetic files
say so with ``from_collection=False``.

Everything is built in ``*_stage`` tables and swapped in at the end in one transaction (``spine.swap``), so a
run that stops part-way leaves the previous spine exactly as it was. The models trained for each source pair are
saved with the run in ``home/models/link-<run>/``, the pooled one as ``home/models/link-<run>.json``; the run
records its counts and the pooled model's path.
"""

from __future__ import annotations

from typing import Any

from pupildata.errors import DataError
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.pseudonyms import Key
from pupildata.link import contract, incremental, inputs, review, spine


def usable_sources(engine: DuckDBEngine) -> None:
    """Every source must carry at least one identifying field, or it cannot be matched."""
    checks = " AND ".join(f"count({name}) = 0" for name in contract.IDENTIFYING)
    bad = [r[0] for r in engine.fetchall(f"SELECT source FROM {contract.TABLE} GROUP BY source HAVING {checks}")]
    if bad:
        raise DataError(
            f"The source '{bad[0]}' has no usable identifying field (name, date of birth, UPN, ULN or postcode)."
        )


def link_engine(
    engine: DuckDBEngine,
    key: Key,
    run_id: int,
    model_path: Any | None = None,
    decisions: list[tuple[str, str, str]] | None = None,
) -> dict[str, Any]:
    """The whole run against one warehouse; returns counts and the pairs for review."""
    from pupildata.link.scoring import Scorer

    total = contract.check(engine)
    if total == 0:
        raise DataError("There is nothing to match: the 'link_record' table is empty.")
    usable_sources(engine)
    spine.create_live(engine)
    engine.execute(f"SET VARIABLE link_run = {int(run_id)}")
    incremental.setup_decisions(engine, decisions or [])
    counts: dict[str, Any] = {"records": total, "new_records": incremental.stage_records(engine)}
    counts.update(incremental.groups(engine))
    scored: list[str] = []
    if counts["probes"] or counts["new_upn_groups_records"]:
        scorer = Scorer(engine)
        scored = scorer.score()
        if model_path is not None:
            scorer.save(model_path)
    counts.update(incremental.decide(engine, scored))
    counts.update(incremental.clusters(engine))
    incremental.finish_stage(engine)
    counts.update(spine.assign(engine, key, run_id, "link_cluster", "link_how"))
    spine.swap(engine)
    counts["review"] = [
        tuple(r) for r in engine.fetchall("SELECT left_key, right_key, probability FROM link_review_work")
    ]
    return counts


def run(ctx: Context, *, from_collection: bool = True) -> dict[str, Any]:
    """``pupildata link``: a recorded run; pairs for review are queued in the registry.

    ``from_collection=False`` matches ``link_record`` as it stands (built by a test or benchmark) instead of
    collection's records."""
    models = ctx.settings.home / "models"
    if from_collection:
        inputs.install_link_record(ctx.warehouse)
    with ctx.runs.record("link", inputs=[{"table": contract.TABLE}]) as handle:
        path = models / f"link-{handle.id}.json"
        counts = link_engine(ctx.warehouse, ctx.keys.key("spine"), handle.id, path, review.decisions(ctx.registry))
        pairs = counts.pop("review")
        counts["review_queued"] = review.enqueue(ctx.registry, handle.id, pairs)
        for name, value in counts.items():
            if isinstance(value, int):
                handle.count(name, value)
        handle.output("warehouse_table", "link_spine")
        handle.output("warehouse_table", "link_member")
        handle.output("model", path.name)
    counts["run_id"] = handle.id
    counts["model"] = str(path)
    return counts
