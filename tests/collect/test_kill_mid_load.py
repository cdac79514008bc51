"""A load killed at any moment (SIGKILL: no clean-up runs) leaves the warehouse exactly as it was before that
file, and collecting the file again then loads all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pupildata.collect import Options, collect
from pupildata.collect.load import LOADING_MARKER_ENV
from pupildata.kernel.context import Context
from pupildata.kernel.identifiers import sql_upn_expected_letter
from pupildata.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = 400_000
TABLES = ("collect_receipt", "collect_ks", "collect_census", "collect_quarantine", "collect_issue")


def _big_ks_file(path: Path, *, clean: bool = False) -> None:
    """Key stage results: every 7th record failing a rule and every UPN the same (loaded record by record), or,
    ``clean``, every record passing (loaded in one pass, see ``collect.direct``)."""
    body = "('874' || lpad((2000 + i // 1000)::VARCHAR, 4, '0') || '09' || lpad((i % 1000)::VARCHAR, 3, '0'))"
    upn = f"{sql_upn_expected_letter(chr(39) + 'A' + chr(39) + ' || b')} || b" if clean else "'C874400198001'"
    english = "'4'" if clean else "CASE WHEN i % 7 = 0 THEN 'X' ELSE '4' END"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT {upn} AS UPN, 'Surname' || i AS Surname, 'Ann' AS Forenames, '01/10/1997' AS DOB, "
            f"'F' AS Gender, '8742001' AS LAEstab, '172001' AS URN, {english} AS EnglishLevel, '4' AS MathsLevel, "
            f"'5' AS ScienceLevel FROM (SELECT i, {body} AS b FROM range($n) t(i))) "
            "TO '" + str(path).replace("'", "''") + "' (HEADER, DELIMITER ',')",
            {"n": ROWS},
        )


def _state(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} t").fetchone() for t in TABLES}


def _loads_begun(marker: Path) -> int:
    return marker.read_text(encoding="utf-8").count("\n") if marker.exists() else 0


def _killed_while_loading(command: list[str], marker: Path, delay: float, poll: float, load: int = 1) -> bool:
    """Run ``command``, SIGKILL it ``delay`` seconds after it signals that its ``load``-th loading transaction
    began; True if the kill landed (the process had not already finished)."""
    marker.unlink(missing_ok=True)
    env = {**os.environ, LOADING_MARKER_ENV: str(marker)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _loads_begun(marker) < load and process.poll() is None and time.monotonic() < deadline:
        time.sleep(poll)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("clean", [False, True], ids=["with-failures", "clean"])
def test_a_killed_load_leaves_the_warehouse_as_it_was(tmp_path: Path, clean: bool) -> None:
    home = tmp_path / "home"
    with Context(Settings(home=home)) as ctx:
        collect(ctx, [FIXTURES], Options())
        warehouse = ctx.settings.warehouse
    before = _state(warehouse)
    big = tmp_path / "ks_big.csv"
    _big_ks_file(big, clean=clean)
    marker = tmp_path / "loading"
    command = [sys.executable, "-c", "from pupildata.cli import run; run()", "--home", str(home), "collect", str(big)]
    killed = 0
    for delay in (0.0, 0.2) if clean else (0.0, 0.15, 0.4, 0.8):
        if _killed_while_loading(command, marker, delay, poll=0.005):
            killed += 1
            assert _state(warehouse) == before
    assert killed >= 2, "the kills should land while the file is loading"
    with Context(Settings(home=home)) as ctx:
        (receipt,) = collect(ctx, [big], Options()).receipts
        assert (receipt.records, receipt.accepted + receipt.quarantined) == (ROWS, ROWS)
        assert ctx.warehouse.scalar("SELECT count(*) FROM collect_ks WHERE receipt_id = ?", [receipt.receipt_id]) == (
            receipt.accepted
        )
        assert ctx.warehouse.scalar("SELECT count(*) FROM collect_receipt WHERE sha256 = ?", [receipt.sha256]) == 1


SCHOOLS = 150
PUPIL = (
    "<Pupil><UPN/><Surname>Smith</Surname><Forename>Ann</Forename><DOB>2001-03-04</DOB><Gender>F</Gender>"
    "<Ethnicity>WBRI</Ethnicity><Language>ENG</Language><NCyearActual>3</NCyearActual></Pupil>\n"
)


def _census_folder(folder: Path) -> None:
    """Returns from many schools, loaded in batches of files written together: every pupil lacks a UPN, so each
    file has quarantine rows and issues as well as a receipt."""
    folder.mkdir()
    for school in range(SCHOOLS):
        header = (
            "<?xml version='1.0' encoding='UTF-8'?>\n<SchoolCensus><Header><CollectionDetails><Term>SPR</Term>"
            f"<Year>2009</Year></CollectionDetails><Source><LEA>875</LEA><Estab>{2000 + school}</Estab></Source>"
            "</Header><Pupils>\n"
        )
        (folder / f"{school:03d}.xml").write_text(header + PUPIL * 500 + "</Pupils></SchoolCensus>\n")


def _whole_files_only(warehouse: Path) -> int:
    """Every loaded file's rows are all there, no row belongs to a file without a receipt, and no file is loaded
    twice; how many files are loaded (a file sent again after a killed run had loaded it is a duplicate, whose
    receipt loads nothing: killed runs that got far enough may each have recorded some)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        partial = con.execute(
            "SELECT count(*) FROM collect_receipt r WHERE r.source = 'census' "
            "AND r.status IN ('accepted', 'partly accepted', 'quarantined') "
            "AND (r.accepted <> (SELECT count(*) FROM collect_census c WHERE c.receipt_id = r.receipt_id) "
            "OR r.quarantined <> (SELECT count(*) FROM collect_quarantine q WHERE q.receipt_id = r.receipt_id))"
        ).fetchone()
        orphans = con.execute(
            "SELECT (SELECT count(*) FROM collect_census WHERE receipt_id NOT IN (SELECT receipt_id FROM "
            "collect_receipt)) + (SELECT count(*) FROM collect_quarantine WHERE receipt_id NOT IN (SELECT receipt_id "
            "FROM collect_receipt)) + (SELECT count(*) FROM collect_issue WHERE receipt_id NOT IN (SELECT receipt_id "
            "FROM collect_receipt))"
        ).fetchone()
        files = con.execute(
            "SELECT count(*), count(DISTINCT sha256) FROM collect_receipt WHERE sender LIKE '875%' "
            "AND status IN ('accepted', 'partly accepted', 'quarantined')"
        ).fetchone()
    assert partial == (0,)
    assert orphans == (0,)
    assert files is not None
    assert files[0] == files[1], "no file is loaded twice"
    return int(files[0])


def _orphans() -> list[int]:
    """Processes of this Python's multiprocessing (fork server, workers, resource tracker) left without the
    process that started them (adopted by init)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0)
        ours = command[0] == sys.executable.encode() and b"from multiprocessing" in b" ".join(command)
        if ours and parent == 1:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_killed_census_batch_leaves_only_whole_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Context(Settings(home=home)) as ctx:
        collect(ctx, [FIXTURES], Options())
        warehouse = ctx.settings.warehouse
    before = _state(warehouse)
    folder = tmp_path / "census"
    _census_folder(folder)
    marker = tmp_path / "loading"
    command = [
        sys.executable,
        "-c",
        "from pupildata.cli import run; run()",
        "--home",
        str(home),
        "collect",
        str(folder),
    ]
    earlier = set(_orphans())  # left by anything else on the machine: not this test's to judge
    killed = 0
    in_second = 0
    # the kills come soon after a loading transaction begins (the folder's second batch, its 134 other files, can
    # be written within 0.2 s): in the first batch's transaction (its 16 files), then in the second's — the
    # largest, every file of which, or none, must be in the warehouse. A run after one that loaded the first batch
    # finds those files loaded already (duplicates, no loading transaction): the second batch's is then its first.
    for second, delay in ((False, 0.0), (False, 0.02), (True, 0.0), (True, 0.02)):
        load = (1 if _whole_files_only(warehouse) else 2) if second else 1
        if _killed_while_loading(command, marker, delay, poll=0.002, load=load):
            killed += 1
            loaded = _whole_files_only(warehouse)
            assert loaded < SCHOOLS
            in_second += second
            if loaded == 0:
                assert _state(warehouse) == before
    assert killed >= 3, "the kills should land while the files are loading"
    assert in_second >= 1, "a kill should land while the second batch is loading"
    deadline = time.monotonic() + 10  # the killed runs' parse workers end on their own
    while set(_orphans()) - earlier and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(_orphans()) - earlier == set()
    loaded = _whole_files_only(warehouse)
    with Context(Settings(home=home)) as ctx:
        receipts = collect(ctx, [folder], Options()).receipts
    assert _whole_files_only(warehouse) == SCHOOLS
    assert sum(r.status == "duplicate" for r in receipts) == loaded  # those the killed runs had loaded
    assert {r.status for r in receipts} <= {"quarantined", "duplicate"}
