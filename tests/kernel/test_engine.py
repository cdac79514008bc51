"""The engine: one place SQL runs, atomic transactions, no extension downloads, errors that name the SQL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from pupildata.errors import UsageError
from pupildata.kernel.engine import DuckDBEngine, EngineError, open_warehouse, transpile


def test_statements_and_bound_parameters(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "w" / "warehouse.duckdb") as engine:
        engine.execute("CREATE TABLE pupil (upn VARCHAR, name VARCHAR)")
        engine.executemany("INSERT INTO pupil VALUES (?, ?)", [("A1", "O'Brien"), ("A2", "x'); DROP TABLE pupil;--")])
        assert engine.scalar("SELECT count(*) FROM pupil WHERE name = ?", ["O'Brien"]) == 1
        assert engine.fetchall("SELECT upn FROM pupil ORDER BY upn") == [("A1",), ("A2",)]
        assert engine.arrow("SELECT * FROM pupil").num_rows == 2
        assert engine.table_exists("pupil")
        assert not engine.table_exists("nothing")


def test_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    with DuckDBEngine(tmp_path / "w.duckdb") as engine:
        engine.execute("CREATE TABLE t (x INTEGER)")
        with pytest.raises(RuntimeError), engine.transaction():
            engine.execute("INSERT INTO t VALUES (1)")
            with engine.transaction():  # nested: joins the outer transaction
                engine.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("crash mid-load")
        assert engine.scalar("SELECT count(*) FROM t") == 0
        with engine.transaction():
            engine.execute("INSERT INTO t VALUES (3)")
        assert engine.scalar("SELECT sum(x) FROM t") == 3


def test_failure_names_the_statement() -> None:
    with DuckDBEngine() as engine, pytest.raises(EngineError) as info:
        engine.execute("SELECT * FROM no_such_table")
    assert "no_such_table" in info.value.message
    assert "While running:\nSELECT * FROM no_such_table" in str(info.value)


def test_extensions_are_never_downloaded() -> None:
    with DuckDBEngine() as engine:
        assert engine.scalar("SELECT current_setting('autoinstall_known_extensions')") is False
        assert engine.scalar("SELECT current_setting('autoload_known_extensions')") is False
        with pytest.raises(EngineError, match="ST_Point"):  # would otherwise fetch and load 'spatial'
            engine.execute("SELECT ST_Point(1, 2)")


def test_warehouse_that_cannot_be_opened_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "dir.duckdb"
    folder.mkdir()
    with pytest.raises(UsageError, match=r"warehouse .*dir.duckdb cannot be opened"):
        DuckDBEngine(folder)


def test_transpile_for_spark() -> None:
    sql = "SELECT list_value(1, 2) AS xs, strftime(dob, '%Y') AS y FROM t"
    assert transpile(sql, "duckdb") == sql
    spark = transpile(sql, "spark")
    assert "ARRAY(1, 2)" in spark
    assert "DATE_FORMAT" in spark


def test_fetchone_leaves_no_open_result_behind() -> None:
    with DuckDBEngine() as engine:
        assert engine.fetchone("SELECT * FROM range(5)") == (0,)
        engine.register("t", pa.table({"a": [1, 2]}))  # refused by DuckDB while a result is still open
        assert engine.scalar("SELECT sum(a) FROM t") == 3
