"""Runs: each pipeline step records what went in, what came out, how many, how long and how it ended.

    with runs.record("collect", inputs=[{"file": name, "sha256": digest}]) as run:
        ...
        run.count("accepted", 1200)
        run.output("warehouse_table", "census_pupil")

A step that raises is recorded as failed with its error, and the error goes on up. So every output can be traced
to the run, and the inputs, that produced it.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pupildata.kernel.registry import Registry, Run


def default_actor() -> str:
    """Who runs a command-line step: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return "cli:unknown"


@dataclass
class RunHandle:
    """The run being recorded; add outputs and counts as the step goes."""

    id: int
    step: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def output(self, kind: str, ref: str, **extra: Any) -> None:
        self.outputs.append({"kind": kind, "ref": ref, **extra})

    def count(self, name: str, value: int) -> None:
        self.counts[name] = int(value)

    def add(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(value)


class Runs:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @contextmanager
    def record(
        self,
        step: str,
        *,
        inputs: list[dict[str, Any]] | None = None,
        parameters: Mapping[str, Any] | None = None,
        actor: str | None = None,
        parent: int | None = None,
    ) -> Iterator[RunHandle]:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        with self.registry.session() as session:
            row = Run(
                step=step,
                status="running",
                actor=actor or default_actor(),
                started_at=started,
                parameters=dict(parameters or {}),
                inputs=list(inputs or []),
                outputs=[],
                counts={},
                parent_id=parent,
            )
            session.add(row)
            session.flush()
            handle = RunHandle(row.id, step)
        try:
            yield handle
        except BaseException as exc:
            self._finish(handle, "failed", clock, error=str(exc) or type(exc).__name__)
            raise
        self._finish(handle, "succeeded", clock)

    def _finish(self, handle: RunHandle, status: str, clock: float, error: str | None = None) -> None:
        with self.registry.session() as session:
            row = session.get_one(Run, handle.id)
            row.status = status
            row.finished_at = datetime.now(UTC)
            row.duration_seconds = round(time.perf_counter() - clock, 6)
            row.outputs = handle.outputs
            row.counts = handle.counts
            row.error = error

    def get(self, run_id: int) -> Run | None:
        with self.registry.session() as session:
            return session.get(Run, run_id)

    def recent(self, step: str | None = None, limit: int = 50) -> list[Run]:
        with self.registry.session() as session:
            query = select(Run).order_by(Run.id.desc()).limit(limit)
            if step:
                query = query.where(Run.step == step)
            return list(session.execute(query).scalars())
