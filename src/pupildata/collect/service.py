"""Collecting many files: expand the paths, archive each file, load it, then write its report and note it in the
run.

Files are loaded one at a time (the warehouse has one writer), in a stable order, so the outcome does not depend
on how many workers parsed them. Census XML files — typically hundreds of small files, one per school — are
archived by a thread of their own ahead of the load (16 at a time, flushed together), then parsed from their
archived copies in worker processes ahead of the load (this process parses any file of its next batch that no
worker has begun), and loaded in batches: a batch is checked in one statement, then written (see
``load.receive_census_batch``). The registry (receipts for the portal, collections) is written in a few
transactions per run, not several per file."""

from __future__ import annotations

import codecs
import itertools
import multiprocessing
import multiprocessing.context
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from multiprocessing import forkserver
from pathlib import Path
from typing import TypeVar

from pupildata.collect.archive import Archived, archive_files
from pupildata.collect.collections import ensure_collection
from pupildata.collect.corrections import correctable
from pupildata.collect.load import Options, receive, receive_archived, receive_census_batch
from pupildata.collect.readers import Rejected
from pupildata.collect.readers.census_xml import Parsed, parse_census
from pupildata.collect.readers.sniff import detect_format
from pupildata.collect.receipts import Receipt, mirror_receipts
from pupildata.collect.reports import write_reports
from pupildata.collect.schemas import CENSUS, source
from pupildata.collect.warehouse import ensure_tables
from pupildata.collect.workers import exit_with
from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.runs import RunHandle, default_actor

#: Folders and files never collected from a directory: generator ground truth and its manifest.
SKIPPED_DIRS = {"truth"}
SKIPPED_FILES = {"manifest.json"}
#: Census XML files loaded as one batch (checked together, and written together in one transaction when plain):
#: up to this many files or bytes. A transaction that writes at least a row group (122,880 rows: 38 MB of files
#: of 1,000 pupils) has its rows written to the warehouse file as they are inserted; smaller ones go through the
#: write-ahead log and are written again at each checkpoint, which cost four times the insert (1M pupils in
#: batches of 64,000: 5.7 s of commits against 1.3 s in batches of 200,000).
BATCH_FILES = 256
BATCH_BYTES = 64 << 20
#: The first batch is smaller, and parsed by the main process: the load begins while the parse workers are still
#: starting.
FIRST_BATCH_FILES = 16
#: Census XML files archived together (copied, then flushed to disk together) before they are sent to be parsed.
ARCHIVE_GROUP = 16
#: Receipts are copied to the registry (one transaction for all those not yet there) at most this often during a
#: run, and at its end: the warehouse row is the truth, and whatever a crash leaves uncopied is copied by the next
#: collect.
MIRROR_EVERY = 2.0
#: (file name, done, total) after each file.
Progress = Callable[[str, int, int], None]
_T = TypeVar("_T")


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


def _archived_ahead(
    files: list[Path], root: Path, options: Options, parse: Callable[[Path], _Parsing] | None
) -> Iterator[tuple[Path, Archived | None, _Parsing | None]]:
    """Each file, in order; census XML files archived (up to ``ARCHIVE_GROUP`` of them together, flushed together)
    and, with ``parse``, sent to be parsed from their archived copies."""
    census = options.source in (None, CENSUS) and options.corrects is None
    at = 0
    while at < len(files):
        group = list(itertools.takewhile(lambda p: census and _is_xml(p), files[at : at + ARCHIVE_GROUP]))
        if not group:
            yield files[at], None, None
            at += 1
            continue
        at += len(group)
        for path, archived in zip(group, archive_files(group, root), strict=True):
            if not _is_xml_format(archived):
                yield path, archived, None
                continue
            yield path, archived, parse(archived.path) if parse else None


def _is_xml_format(archived: Archived) -> bool:
    try:
        return detect_format(archived.head, archived.size) == "xml"
    except Rejected:
        return False


def _parse_context() -> multiprocessing.context.ForkServerContext:
    """The fork server parse workers come from: it imports the parser once (and the main module, so that no
    worker imports it again), and a worker is ready at once rather than after importing it all itself."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "pupildata.collect.readers.census_xml", "pupildata.collect.workers"])
    return context


def _start_parse_server() -> None:
    """Start the fork server now (its imports take about 0.3 s), so that it imports while the run is set up."""
    _parse_context()
    forkserver.ensure_running()


def _parse_pool(workers: int) -> ProcessPoolExecutor:
    """Parse workers forked from the fork server (``_parse_context``)."""
    context = _parse_context()
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=exit_with, initargs=(os.getpid(),))


def _census_count(files: list[Path], options: Options) -> int:
    """How many of the files are census XML files to parse in workers."""
    return sum(_is_xml(f) for f in files) if options.source in (None, CENSUS) and options.corrects is None else 0


def _received(
    engine: DuckDBEngine, files: list[Path], root: Path, options: Options, workers: int
) -> Iterator[list[tuple[Path, Receipt]]]:
    """Every file's receipt, in the files' order, in groups: a batch of census XML files (archived, parsed from
    the archive in worker processes ahead of the load, and loaded together), or one other file. ``workers``: how
    many parse workers (none below 2)."""
    # Workers come from a fork server, not a fork of this process: the warehouse's threads (and any library's)
    # may hold locks at the moment of a fork, and a forked child can then die or hang.
    pool = _parse_pool(workers) if workers >= 2 else None
    # Files are handed to the pool by a thread of their own: the first hand-over waits for the fork server to
    # start (and import the parser), and meanwhile this thread archives the next files.
    handing = ThreadPoolExecutor(max_workers=1) if pool is not None else None

    first = itertools.count()
    handed: list[_Parsing] = []
    all_handed = threading.Event()

    def parse(path: Path) -> _Parsing:
        assert pool is not None
        assert handing is not None
        if next(first) < FIRST_BATCH_FILES:  # parsed here: the workers are still being started
            return _Parsing(path, None)
        handed.append(_Parsing(path, handing.submit(pool.submit, parse_census, path)))
        return handed[-1]

    def archiving() -> Iterator[tuple[Path, Archived | None, _Parsing | None]]:
        yield from _archived_ahead(files, root, options, parse if pool is not None else None)
        all_handed.set()

    def workers_idle() -> bool:
        """Whether the parse workers have nothing left to do (every file handed to them, and parsed)."""
        if pool is None:
            return True
        handed[:] = [p for p in handed if not p.done()]
        return all_handed.is_set() and not handed

    # archived (and handed to the pool) by a thread of their own, ahead of the load, so that the load begins
    # with the first files archived, not the last
    items = _prefetched(archiving(), 2 * BATCH_FILES)
    batch: list[tuple[Path, Archived, _Parsing | None]] = []
    limit = FIRST_BATCH_FILES

    def flush() -> Iterator[list[tuple[Path, Receipt]]]:
        if not batch:
            return
        # from the last: the files no worker has begun are parsed here meanwhile, not waited for
        parsed = [f.result() if f else parse_census(a.path) for _, a, f in reversed(batch)][::-1]
        entries = [(p, a, result) for (p, a, _), result in zip(batch, parsed, strict=True)]
        batch.clear()
        # checked on one DuckDB thread while the workers parse (a second one would take their CPU), on every
        # thread once they are done (the end of a run: nothing else is left to do)
        threads = None if workers_idle() else 1
        receipts = receive_census_batch(engine, entries, options, threads=threads)
        yield list(zip((p for p, _, _ in entries), receipts, strict=True))

    try:
        for path, archived, parsing in items:
            if archived is not None and (parsing is not None or pool is None) and _is_xml_format(archived):
                batch.append((path, archived, parsing))
                if len(batch) >= limit or sum(a.size for _, a, _ in batch) >= BATCH_BYTES:
                    yield from flush()
                    limit = BATCH_FILES
                continue
            yield from flush()
            if archived is None:
                yield [(path, receive(engine, path, root, options))]
            else:
                yield [(path, receive_archived(engine, path, archived, root, options, parsed=None))]
        yield from flush()
    finally:
        items.close()
        if handing is not None:
            handing.shutdown(cancel_futures=True)
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _prefetched(items: Iterator[_T], ahead: int) -> Generator[_T]:
    """``items`` in order, made by a thread of their own up to ``ahead`` before they are taken (an exception in
    the thread is raised here, in its place). Closing this generator stops the thread (it ends its group)."""
    made: queue.Queue[tuple[_T | None, BaseException | None, bool]] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(entry: tuple[_T | None, BaseException | None, bool]) -> None:
        while not stop.is_set():
            with suppress(queue.Full):
                made.put(entry, timeout=0.05)
                return

    def make() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                put((item, None, False))
        except BaseException as exc:  # raised again in the taking thread, in its place
            put((None, exc, True))
            return
        put((None, None, True))

    thread = threading.Thread(target=make, name="collect-archiving", daemon=True)
    thread.start()
    try:
        while True:
            item, error, done = made.get()
            if error is not None:
                raise error
            if done:
                return
            assert item is not None
            yield item
    finally:
        stop.set()
        thread.join()


class _Parsing:
    """A census file's parse, handed to the pool by a thread of its own (``handed`` gives the pool's future)."""

    def __init__(self, path: Path, handed: Future[Future[Parsed]] | None) -> None:
        self.path = path
        self.handed = handed

    def done(self) -> bool:
        """Whether nothing is left for a worker to do with the file (parsed, or to be parsed here)."""
        if self.handed is None:
            return True
        if not self.handed.done():
            return False
        return self.handed.cancelled() or self.handed.result().done()

    def result(self) -> Parsed:
        """The parsed file: parsed here if it was not handed to the pool (the first batch's files, parsed while
        the workers start: a file handed to the pool may be queued for a worker not yet started, and waited for)
        or taken back because no worker has begun it (so that this process, which would only wait, parses too),
        else the worker's."""
        if self.handed is None or self.handed.cancel():
            return parse_census(self.path)
        parsing = self.handed.result()
        if parsing.cancel():
            return parse_census(self.path)
        return parsing.result()


def _correcting(engine: DuckDBEngine, files: list[Path], options: Options) -> Options:
    """The options of a correction: one file, read as the source of the receipt it corrects, for its collection."""
    assert options.corrects is not None
    if len(files) != 1:
        raise UsageError("A correction is one file; send each correction on its own.")
    original = correctable(engine, options.corrects)
    return replace(options, source=source(str(original.source)), collection=original.collection)


def collect(
    ctx: Context, paths: list[Path], options: Options, progress: Progress | None = None, *, workers: int | None = None
) -> Summary:
    """Collect every file under ``paths``; every file gets a receipt and (after its commit) a report.

    ``workers``: how many processes may parse census files side by side (None: one a core, up to 8, when there
    are two census files or more; 0: every file is parsed in this process, as the portal wants)."""
    files = expand(paths)
    if not files:
        raise UsageError("There are no files to collect under the paths given.")
    if options.encoding is not None:
        try:
            codecs.lookup(options.encoding)
        except LookupError:
            raise UsageError(
                f"'{options.encoding}' is not an encoding this service knows; name one such as windows-1252 or "
                "iso-8859-1."
            ) from None
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    if workers < 2 or _census_count(files, options) < 2:
        workers = 0  # no census files to parse side by side
    else:
        _start_parse_server()  # while the warehouse and the run are set up
    engine = ctx.warehouse
    engine.execute("SET enable_progress_bar = false")
    ensure_tables(engine)
    mirror_receipts(engine, ctx.registry)  # anything committed before an earlier crash
    if options.corrects is not None:
        options = _correcting(engine, files, options)
    summary = Summary()
    parameters = {
        "source": options.source.name if options.source else None,
        "collection": options.collection,
        "corrects": options.corrects,
        "senders": list(options.senders) if options.senders is not None else None,
    }
    with ctx.runs.record("collect", inputs=[{"file": str(f)} for f in files[:1000]], parameters=parameters) as run:
        summary.run_id = run.id
        opts = replace(options, run_id=run.id)
        ensured: set[str] = set()
        mirrored = time.monotonic()
        received = _received(engine, files, ctx.settings.archive_dir, opts, workers)
        done = 0
        # report files are written by a thread of their own, in order, while the next files load
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="collect-reports") as writer:
            written: list[Future[None]] = []
            for group in received:
                wrote = write_reports(engine, [receipt for _, receipt in group], ctx.settings.outputs_dir, writer)
                written += [wrote] if wrote is not None else []
                done = _noted(ctx, run, summary, group, ensured, done, len(files), progress)
                if time.monotonic() - mirrored > MIRROR_EVERY:
                    mirror_receipts(engine, ctx.registry)
                    mirrored = time.monotonic()
                finished = [w for w in written if w.done()]
                for wrote in finished:
                    wrote.result()  # an error writing a report stops the run here
                written = [w for w in written if w not in finished]
            for wrote in written:
                wrote.result()
        mirror_receipts(engine, ctx.registry)
        for name, value in summary.totals().items():
            run.count(name, value)
    ctx.audit.append(
        Event(default_actor(), "collect.run", "run", str(run.id), "data returns received", summary.totals())
    )
    _audit_corrections(ctx, summary)
    return summary


def _noted(  # noqa: PLR0917 - the run's state, passed along
    ctx: Context,
    run: RunHandle,
    summary: Summary,
    group: list[tuple[Path, Receipt]],
    ensured: set[str],
    done: int,
    total: int,
    progress: Progress | None,
) -> int:
    """Note each receipt of a group in the run and the summary (and its collection in the registry)."""
    for path, receipt in group:
        done += 1
        fresh = receipt.collection and receipt.collection not in ensured
        if fresh and receipt.source and receipt.status != "duplicate":
            ensure_collection(ctx.registry, str(receipt.collection), receipt.source)
            ensured.add(str(receipt.collection))
        summary.receipts.append(receipt)
        run.output("receipt", str(receipt.receipt_id), file=path.name, status=receipt.status)
        if progress:
            progress(path.name, done, total)
    return done


def _audit_corrections(ctx: Context, summary: Summary) -> None:
    for receipt in summary.receipts:
        if receipt.corrects is not None:
            detail = {
                "correction": receipt.receipt_id,
                "accepted": receipt.accepted,
                "quarantined": receipt.quarantined,
            }
            ctx.audit.append(
                Event(default_actor(), "collect.correct", "receipt", str(receipt.corrects), "records corrected", detail)
            )
