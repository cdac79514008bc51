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
from pupildata.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ROWS = 400_000
TABLES = ("collect_receipt", "collect_ks", "collect_census", "collect_quarantine", "collect_issue")


def _big_ks_file(path: Path) -> None:
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT 'C874400198001' AS UPN, 'Surname' || i AS Surname, 'Ann' AS Forenames, '01/10/1997' AS DOB, "
            "'F' AS Gender, '8742001' AS LAEstab, '172001' AS URN, CASE WHEN i % 7 = 0 THEN 'X' ELSE '4' END AS "
            "EnglishLevel, '4' AS MathsLevel, '5' AS ScienceLevel FROM range($n) t(i)) "
            "TO '" + str(path).replace("'", "''") + "' (HEADER, DELIMITER ',')",
            {"n": ROWS},
        )


def _state(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} t").fetchone() for t in TABLES}


@pytest.mark.slow
def test_a_killed_load_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Context(Settings(home=home)) as ctx:
        collect(ctx, [FIXTURES], Options())
        warehouse = ctx.settings.warehouse
    before = _state(warehouse)
    big = tmp_path / "ks_big.csv"
    _big_ks_file(big)
    marker = tmp_path / "loading"
    env = {**os.environ, LOADING_MARKER_ENV: str(marker)}
    command = [sys.executable, "-c", "from pupildata.cli import run; run()", "--home", str(home), "collect", str(big)]
    killed = 0
    for delay in (0.0, 0.15, 0.4, 0.8):
        marker.unlink(missing_ok=True)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        if process.wait() == -signal.SIGKILL:
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
