"""The engine: the one place SQL runs against the warehouse.

SQL is written once, in DuckDB's dialect, by small declarative objects (validation rules, table specs,
disclosure rules). The engine executes it — on a DuckDB file by default — and is the only code that talks to the
warehouse, so a Spark engine can be added behind the same interface later: it would transpile each statement
with sqlglot (``transpile``), as Splink does for its own backends.

Every failure is re-raised as an ``EngineError`` that carries the statement that failed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import sqlglot

from pupildata.errors import PupilDataError, UsageError

Params = Sequence[Any] | Mapping[str, Any] | None

#: DuckDB settings applied to every connection: extensions are never fetched from the network at run time.
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class EngineError(PupilDataError):
    """A statement failed in the warehouse; the message names the statement."""

    def __init__(self, message: str, sql: str) -> None:
        super().__init__(message)
        self.sql = sql

    def __str__(self) -> str:
        return f"{self.message}\nWhile running:\n{self.sql.strip()}"


def transpile(sql: str, dialect: str) -> str:
    """The same statement in another SQL dialect (e.g. 'spark'), from DuckDB's."""
    if dialect == "duckdb":
        return sql
    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect))


class Engine(Protocol):
    """What every warehouse engine offers. Statements are DuckDB SQL with bound parameters."""

    dialect: str

    def execute(self, sql: str, params: Params = None) -> None: ...
    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...
    def fetchone(self, sql: str, params: Params = None) -> tuple[Any, ...] | None: ...
    def arrow(self, sql: str, params: Params = None) -> pa.Table: ...
    def transaction(self) -> Any: ...
    def close(self) -> None: ...


class DuckDBEngine:
    """The warehouse as a DuckDB file (or in memory, for tests)."""

    dialect = "duckdb"

    def __init__(
        self,
        path: Path | str = ":memory:",
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = dict(DUCKDB_CONFIG)
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.path = path
        try:
            self._con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise UsageError(f"The warehouse {path} cannot be opened: {_first_line(exc)}.") from None
        self._lock = threading.RLock()
        self._depth = 0

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for libraries that need one (Splink's DuckDB backend)."""
        return self._con

    def _run(self, sql: str, params: Params) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        except duckdb.Error as exc:
            raise EngineError(_first_line(exc), sql) from exc

    def execute(self, sql: str, params: Params = None) -> None:
        with self._lock:
            self._run(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            try:
                self._con.executemany(sql, rows)
            except duckdb.Error as exc:
                raise EngineError(_first_line(exc), sql) from exc

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._run(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        with self._lock:
            result = self._run(sql, params)
            row = result.fetchone()
            result.fetchall()  # finish the result: DuckDB refuses some later calls (register) while one is open
            return row

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        with self._lock:
            try:
                return self._con.sql(sql, params=params).to_arrow_table()
            except duckdb.Error as exc:
                raise EngineError(_first_line(exc), sql) from exc

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table visible to SQL under ``name`` (a view, not a copy)."""
        with self._lock:
            self._con.register(name, table)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._con.unregister(name)

    def table_exists(self, name: str, schema: str = "main") -> bool:
        row = self.fetchone(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        )
        return bool(row and row[0])

    @contextmanager
    def threads(self, threads: int | None) -> Iterator[None]:
        """Run the statements inside on ``threads`` DuckDB threads (None: as many as set)."""
        if threads is None:
            yield
            return
        before = int(self.scalar("SELECT current_setting('threads')"))
        if before == threads:
            yield
            return
        self.execute(f"SET threads = {int(threads)}")
        try:
            yield
        finally:
            self.execute(f"SET threads = {before}")

    @contextmanager
    def transaction(self) -> Iterator[DuckDBEngine]:
        """All or nothing: everything inside commits together or not at all. Nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._run("BEGIN TRANSACTION", None)
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._con.rollback()
                raise
            self._depth = 0
            self._run("COMMIT", None)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_warehouse(
    path: Path, *, read_only: bool = False, threads: int | None = None, memory_limit: str | None = None
) -> DuckDBEngine:
    """Open (creating if needed) the warehouse file."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBEngine(path, read_only=read_only, threads=threads, memory_limit=memory_limit)
