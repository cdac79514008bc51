"""Census XML files loaded in batches end exactly as they would one at a time: the same receipts, records,
quarantine and issues — identical files recognised, a later return from the same school superseding an earlier
one, refused files refused — even when all of that happens within one batch."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from pupildata.collect import Options, collect, load, service
from pupildata.collect.load import receive
from pupildata.collect.warehouse import ensure_tables
from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = Path(__file__).parent / "hostile"
RECEIPT_COLUMNS = (
    "file_name, status, source, collection, sender, records, accepted, quarantined, queried, superseded_by, "
    "duplicate_of, rule_code, message"
)


def _returns(folder: Path) -> list[Path]:
    folder.mkdir()
    first = FIXTURES / "census_8742001.xml"
    text = first.read_text(encoding="utf-8")
    corrected = text.replace("<Surname>", "<Surname>X", 1)
    assert corrected != text
    files = {
        "01.xml": first.read_bytes(),
        "02.xml": (FIXTURES / "census_8744001.xml").read_bytes(),
        "03.xml": first.read_bytes(),  # identical to 01
        "04.xml": (HOSTILE / "duplicate_upns.xml").read_bytes(),
        "05.xml": (HOSTILE / "malformed.xml").read_bytes(),
        "06.xml": corrected.encode("utf-8"),  # the same school again: supersedes 01
        "07.xml": (HOSTILE / "no_pupils.xml").read_bytes(),
        "08.xml": (HOSTILE / "billion_laughs.xml").read_bytes(),
        "09.xml": (HOSTILE / "unknown_codes.xml").read_bytes(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(folder.iterdir())


def _state(ctx: Context) -> dict[str, list[tuple[object, ...]]]:
    wh = ctx.warehouse
    return {
        "receipts": wh.fetchall(f"SELECT receipt_id, {RECEIPT_COLUMNS} FROM collect_receipt ORDER BY receipt_id"),
        "census": wh.fetchall("SELECT * EXCLUDE (queries), queries FROM collect_census ORDER BY ALL"),
        "quarantine": wh.fetchall("SELECT * FROM collect_quarantine ORDER BY receipt_id, record_index"),
        "issues": wh.fetchall("SELECT * FROM collect_issue ORDER BY ALL"),
    }


def test_batches_end_as_files_loaded_one_at_a_time(tmp_path: Path) -> None:
    files = _returns(tmp_path / "returns")
    with Context(Settings(home=tmp_path / "batched")) as ctx:
        summary = collect(ctx, [tmp_path / "returns"], Options())
        batched = _state(ctx)
    with Context(Settings(home=tmp_path / "alone")) as ctx:  # each file on its own, not through the batches
        ensure_tables(ctx.warehouse)
        for path in files:
            receive(ctx.warehouse, path, ctx.settings.archive_dir, Options())
        alone = _state(ctx)
    assert batched == alone
    statuses = {r.file_name: r.status for r in summary.receipts}
    assert statuses["03.xml"] == "duplicate"
    assert statuses["05.xml"] == statuses["07.xml"] == statuses["08.xml"] == "rejected"
    by_name = {r.file_name: r for r in summary.receipts}
    superseded = {row[1]: row[10] for row in batched["receipts"]}
    assert superseded["01.xml"] == by_name["06.xml"].receipt_id
    assert by_name["04.xml"].quarantined > 0
    shutil.rmtree(tmp_path / "returns")


def _schools(folder: Path, schools: int, *, again: bool = False) -> list[Path]:
    """Returns from ``schools`` different schools (the fixtures' pupils, the header's Estab changed); ``again``:
    each school's next return (a surname corrected)."""
    folder.mkdir()
    texts = [(FIXTURES / name).read_text(encoding="utf-8") for name in ("census_8742001.xml", "census_8744001.xml")]
    for school in range(schools):
        text = texts[school % 2]
        estab = text.split("<Estab>", 1)[1].split("</Estab>", 1)[0]
        text = text.replace(f"<Estab>{estab}</Estab>", f"<Estab>{3000 + school}</Estab>")
        (folder / f"{school:02d}.xml").write_text(text.replace("<Surname>", "<Surname>X", 1) if again else text)
    return sorted(folder.iterdir())


def test_a_batch_written_in_one_transaction_ends_as_its_files_loaded_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []
    write_batch = load._write_batch

    def spy(engine: DuckDBEngine, batch: Any, options: Options) -> Any:
        written.append(len(batch.entries))
        return write_batch(engine, batch, options)

    monkeypatch.setattr(load, "_write_batch", spy)
    _schools(tmp_path / "first", 6)
    _schools(tmp_path / "again", 6, again=True)
    with Context(Settings(home=tmp_path / "batched")) as ctx:
        first = collect(ctx, [tmp_path / "first"], Options())
        again = collect(ctx, [tmp_path / "again"], Options())
        batched = _state(ctx)
    assert written == [6, 6]  # each run's files in one transaction
    with Context(Settings(home=tmp_path / "alone")) as ctx:
        ensure_tables(ctx.warehouse)
        for path in sorted((tmp_path / "first").iterdir()) + sorted((tmp_path / "again").iterdir()):
            receive(ctx.warehouse, path, ctx.settings.archive_dir, Options())
        alone = _state(ctx)
    assert {r.status for r in first.receipts + again.receipts} == {"accepted", "partly accepted"}
    assert batched == alone
    superseded = [row[10] for row in batched["receipts"]]
    assert superseded == [r.receipt_id for r in again.receipts] + [None] * 6


def test_a_file_that_cannot_be_archived_stops_the_run_at_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Census files are archived by a thread of their own, ahead of the load: a failure there is raised in the
    collecting thread when the load reaches the group that failed, after the groups before it are loaded."""
    groups = 0
    archive = service.archive_files

    def failing(sources: list[Path], root: Path) -> Any:
        nonlocal groups
        groups += 1
        if groups == 2:
            raise OSError("the disk is full")
        return archive(sources, root)

    monkeypatch.setattr(service, "archive_files", failing)
    _schools(tmp_path / "returns", service.ARCHIVE_GROUP + 3)
    with Context(Settings(home=tmp_path / "home")) as ctx:
        with pytest.raises(OSError, match="the disk is full"):
            collect(ctx, [tmp_path / "returns"], Options())
        loaded = ctx.warehouse.fetchall("SELECT file_name FROM collect_receipt ORDER BY receipt_id")
    assert len(loaded) == service.FIRST_BATCH_FILES  # the first group's files, in their batch
    assert not any(t.name == "collect-archiving" for t in threading.enumerate())
