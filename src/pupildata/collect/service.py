"""Collecting many files: expand the paths, parse census XML ahead in worker processes, load each file in its
own transaction, then write its report, copy its receipt to the registry and note it in the run.

Files are loaded one at a time (the warehouse has one writer), in a stable order, so the outcome does not depend
on how many workers parsed them. The registry (receipts for the portal, collections) is written in a few
transactions per run, not several per file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pupildata.collect.collections import ensure_collection
from pupildata.collect.load import Options, receive
from pupildata.collect.readers.census_xml import Parsed, parse_census
from pupildata.collect.receipts import Receipt, mirror_receipts
from pupildata.collect.reports import write_report
from pupildata.collect.warehouse import ensure_tables
from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.runs import default_actor

#: Folders and files never collected from a directory: generator ground truth and its manifest.
SKIPPED_DIRS = {"truth"}
SKIPPED_FILES = {"manifest.json"}
#: Receipts are copied to the registry (one transaction for all those not yet there) at most this often during a
#: run, and at its end: the warehouse row is the truth, and whatever a crash leaves uncopied is copied by the next
#: collect.
MIRROR_EVERY = 2.0
#: (file name, done, total) after each file.
Progress = Callable[[str, int, int], None]


@dataclass
class Summary:
    receipts: list[Receipt] = field(default_factory=list)
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.receipts)

    def totals(self) -> dict[str, int]:
        keys = ("records", "accepted", "quarantined", "queried")
        totals = {k: sum(getattr(r, k) for r in self.receipts) for k in keys}
        totals["files"] = len(self.receipts)
        totals["rejected"] = sum(r.status == "rejected" for r in self.receipts)
        totals["duplicates"] = sum(r.status == "duplicate" for r in self.receipts)
        return totals


def expand(paths: list[Path]) -> list[Path]:
    """Every file named, and every file under every folder named (sorted), without the generator's truth."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
                found += [Path(folder) / f for f in sorted(files) if f not in SKIPPED_FILES and not f.startswith(".")]
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"There is no file or folder at {path}.")
    return found


def _is_xml(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _parsed_ahead(files: list[Path], workers: int) -> Iterator[Parsed | None]:
    """For each file, its parsed census (parsed in worker processes, a few files ahead) or None if not XML."""
    xml = [f for f in files if _is_xml(f)]
    if workers < 2 or len(xml) < 2:
        yield from (None for _ in files)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Path, Future[Parsed]] = {}
        queue = iter(xml)
        for path in files:
            while len(pending) < workers * 2 and (nxt := next(queue, None)) is not None:
                pending[nxt] = pool.submit(parse_census, nxt)
            future = pending.pop(path, None)
            yield future.result() if future is not None else None


def collect(ctx: Context, paths: list[Path], options: Options, progress: Progress | None = None) -> Summary:
    """Collect every file under ``paths``; every file gets a receipt and (after its commit) a report."""
    files = expand(paths)
    if not files:
        raise UsageError("There are no files to collect under the paths given.")
    engine = ctx.warehouse
    engine.execute("SET enable_progress_bar = false")
    ensure_tables(engine)
    mirror_receipts(engine, ctx.registry)  # anything committed before an earlier crash
    summary = Summary()
    workers = min(os.cpu_count() or 1, 8)
    parameters = {"source": options.source.name if options.source else None, "collection": options.collection}
    with ctx.runs.record("collect", inputs=[{"file": str(f)} for f in files[:1000]], parameters=parameters) as run:
        summary.run_id = run.id
        opts = Options(options.source, options.collection, options.encoding, run.id)
        ensured: set[str] = set()
        mirrored = time.monotonic()
        for done, (path, parsed) in enumerate(zip(files, _parsed_ahead(files, workers), strict=True), start=1):
            receipt = receive(engine, path, ctx.settings.archive_dir, opts, parsed)
            write_report(engine, receipt, ctx.settings.outputs_dir)
            fresh = receipt.collection and receipt.collection not in ensured
            if fresh and receipt.source and receipt.status != "duplicate":
                ensure_collection(ctx.registry, str(receipt.collection), receipt.source)
                ensured.add(str(receipt.collection))
            if time.monotonic() - mirrored > MIRROR_EVERY:
                mirror_receipts(engine, ctx.registry)
                mirrored = time.monotonic()
            summary.receipts.append(receipt)
            run.output("receipt", str(receipt.receipt_id), file=path.name, status=receipt.status)
            if progress:
                progress(path.name, done, len(files))
        mirror_receipts(engine, ctx.registry)
        for name, value in summary.totals().items():
            run.count(name, value)
    ctx.audit.append(
        Event(default_actor(), "collect.run", "run", str(run.id), "data returns received", summary.totals())
    )
    return summary
