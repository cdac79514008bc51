"""Publishing as a recorded step: each release is a run (inputs, rules, audit result) and an audit-trail event."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from pupildata.errors import DataError, UsageError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.runs import RunHandle, default_actor
from pupildata.policy import Disclosure
from pupildata.publish.contract import CONTRACT
from pupildata.publish.inputs import Inputs, has_spine, release_inputs
from pupildata.publish.release import Outcome, Protected, prepare, protect, write
from pupildata.publish.sources import exists
from pupildata.publish.specs import ReleaseSpec
from pupildata.publish.workers import Workers

NOT_MATCHED = "Nothing to publish: records have not been matched yet — run `pupildata link` first."


def prepare_inputs(ctx: Context, *, reuse: bool = True) -> Inputs:
    """Make the contract tables from the collected records and the spine (kept as they are, with ``reuse``,
    when nothing they are made from has changed since they were made); their row counts.

    Without a spine there is nothing to publish, unless the contract tables were provided some other way (a
    test's or a benchmark's warehouse), in which case they are read as they are.
    """
    engine = ctx.warehouse
    start = time.perf_counter()
    if has_spine(engine):
        return release_inputs(engine, reuse=reuse)
    if all(exists(engine, view) for view in CONTRACT):
        counts = {view: int(engine.fetchall(f"SELECT count(*) FROM {view}")[0][0]) for view in CONTRACT}
        return Inputs(counts, time.perf_counter() - start, reused=True)
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
    """Publish one release as a run, in this process; ``disclosure`` replaces the policy's (the demo's shorter
    time limit)."""
    [result] = publish_releases(ctx, [spec], year, disclosure, workers=0)
    if isinstance(result, Exception):
        raise result
    return result


def publish_releases(
    ctx: Context,
    specs: Sequence[ReleaseSpec],
    year: int,
    disclosure: Disclosure | None = None,
    *,
    workers: int | None = None,
    keep_going: bool = False,
    done: Callable[[str], None] | None = None,
    contract: Inputs | None = None,
) -> list[dict[str, Any] | Exception]:
    """Publish releases in order, each a run; the result of each, in the order given.

    The tables of each release are built here (the warehouse is read by this process alone); its disclosure
    control, audit and files are made by one of ``workers`` worker processes (default: ``publish_workers``)
    while the next release's tables are built. Each release is written when it and every release before it are
    done. A release that fails is recorded as failed and nothing of it is written; without ``keep_going`` its
    error is raised and the releases after it are not written (as if they had never been started), otherwise it
    takes its place in the list and the others carry on (errors that are not a ``DataError`` or ``UsageError``
    are always raised). ``done`` is told the name of each release as it is finished. ``contract``: how the
    contract tables were made (``prepare_inputs``), recorded among each run's inputs.
    """
    disclosure = disclosure or ctx.policy.disclosure
    count = publish_workers(ctx) if workers is None else workers
    pipeline = _Pipeline(ctx, year, disclosure, keep_going, done or (lambda _: None))
    if contract is not None and contract.fingerprint:
        pipeline.inputs.append({"contract_tables": contract.fingerprint, "reused": contract.reused})
    return pipeline.run(specs, min(count, len(specs)))


def publish_workers(ctx: Context) -> int:
    """Worker processes for disclosure control: one per thread the warehouse may use; none (all in this
    process) with one thread, where overlapping gains nothing."""
    threads = ctx.settings.warehouse_threads or os.cpu_count() or 1
    return threads if threads > 1 else 0


class _Stopped(DataError):
    """A release started while an earlier one failed: not written."""


@dataclass
class _Release:
    spec: ReleaseSpec
    run: AbstractContextManager[RunHandle]
    handle: RunHandle
    outcome: Protected | Exception | None  # None: in a worker
    closed: bool = False  # its run is recorded as finished


class _Pipeline:
    """Releases built here one after another, protected in workers (or here), written and recorded in order."""

    def __init__(
        self, ctx: Context, year: int, disclosure: Disclosure, keep_going: bool, done: Callable[[str], None]
    ) -> None:
        self.ctx, self.year, self.disclosure, self.keep_going, self.done = ctx, year, disclosure, keep_going, done
        self.inputs = _inputs(ctx)
        self.parameters = {"year": year, "disclosure": disclosure.model_dump()}
        self.releases: list[_Release] = []
        self.results: list[dict[str, Any] | Exception] = []
        self.workers: Workers | None = None

    def run(self, specs: Sequence[ReleaseSpec], workers: int) -> list[dict[str, Any] | Exception]:
        self.workers = Workers(workers) if workers > 0 else None
        try:
            for key, spec in enumerate(specs):
                release = self._prepare(key, spec)
                self.releases.append(release)
                if isinstance(release.outcome, Exception) and not self.keep_going:
                    break  # it will stop the releases after it: build no more
                self._finish(block=False)
            self._finish(block=True)
        finally:
            if self.workers is not None:
                self.workers.close()
            for release in self.releases:  # started, never finished: recorded as stopped
                stopped = f"Release {release.spec.name} was not published: publishing stopped before it was done."
                self._close(release, _Stopped(stopped))
        return self.results

    def _prepare(self, key: int, spec: ReleaseSpec) -> _Release:
        parameters = {"release": spec.name, **self.parameters}
        run = self.ctx.runs.record("publish", inputs=self.inputs, parameters=parameters)
        handle = run.__enter__()
        release = _Release(spec, run, handle, None)
        try:
            prepared = prepare(self.ctx.warehouse, spec, self.year, self.disclosure)
            if self.workers is None:
                release.outcome = protect(prepared, self.disclosure)
            else:
                self.workers.submit(key, prepared, self.disclosure)
        except Exception as exc:
            release.outcome = exc
        return release

    def _finish(self, *, block: bool) -> None:
        """Write and record, in order, every release whose outcome is known (with ``block``, all of them)."""
        while len(self.results) < len(self.releases):
            key = len(self.results)
            release = self.releases[key]
            if release.outcome is None:
                assert self.workers is not None
                if not block and not self.workers.ready(key):
                    return
                release.outcome = self.workers.result(key)
            self.results.append(self._record(release))

    def _record(self, release: _Release) -> dict[str, Any] | Exception:
        outcome = release.outcome
        try:
            if isinstance(outcome, Exception):
                raise outcome
            assert outcome is not None
            written = write(outcome, self.ctx.settings.outputs_dir)
            _count(release.handle, written)
        except (DataError, UsageError) as exc:
            self._close(release, exc)
            if not self.keep_going:
                raise
            self.done(release.spec.name)
            return exc
        except BaseException as exc:
            self._close(release, exc)
            raise
        self._close(release, None)
        self._event(release, written)
        self.done(release.spec.name)
        return _result(written, release.handle.id)

    def _close(self, release: _Release, exc: BaseException | None) -> None:
        if release.closed:
            return
        release.closed = True
        if exc is None:
            release.run.__exit__(None, None, None)
        else:
            release.run.__exit__(type(exc), exc, exc.__traceback__)

    def _event(self, release: _Release, outcome: Outcome) -> None:
        counts = outcome.disclosure["counts"]
        self.ctx.audit.append(
            Event(
                actor=default_actor(),
                action="publish",
                object_type="release",
                object_id=f"{release.spec.name}/{outcome.time_period}",
                reason=f"Statistics for {release.spec.recipient}",
                detail={
                    "run": release.handle.id,
                    "audit": counts.get("audit"),
                    "files": outcome.files,
                    "notes": outcome.notes,
                },
            )
        )


def _count(run: RunHandle, outcome: Outcome) -> None:
    for name in outcome.files:
        run.output("file", str(outcome.folder / name))
    counts = outcome.disclosure["counts"]
    run.count("cells", counts["cells"])
    run.count("primary", counts["primary"])
    run.count("secondary", counts.get("secondary", 0))


def _result(outcome: Outcome, run: int) -> dict[str, Any]:
    return {
        "release": outcome.release,
        "time_period": outcome.time_period,
        "folder": str(outcome.folder),
        "files": outcome.files,
        "run": run,
        "disclosure": outcome.disclosure,
        "notes": outcome.notes,
        "stages": outcome.stages,
    }
