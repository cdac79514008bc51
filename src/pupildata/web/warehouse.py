"""Reading the warehouse from the portal: read-only, briefly, one request at a time.

DuckDB lets one process write a database file, and while it does no other process may open it, even to read. The
portal therefore reads lists and counts from the registry, and opens the warehouse read-only only for the
record-level rows of a report, closing it before the response is sent so that a command-line load is never
kept waiting. When the warehouse is busy (a load is running) or absent, ``WarehouseUnavailable`` carries one
sentence the page shows with HTTP 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from pupildata.errors import UsageError
from pupildata.kernel.engine import DuckDBEngine, EngineError

log = logging.getLogger("pupildata.web")

BUSY = (
    "The records behind this report cannot be read just now because new returns are being loaded. "
    "Try again in a few minutes."
)
ABSENT = "The records behind this report are not available: the warehouse has not been created yet."
#: Seconds a client is told to wait before asking again.
RETRY_AFTER = "60"


class WarehouseUnavailable(Exception):
    """The warehouse cannot be read now; the message is one sentence for the person asking."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@contextmanager
def read_only(path: Path) -> Iterator[DuckDBEngine]:
    """The warehouse opened read-only for the length of the ``with`` block."""
    if not path.is_file():
        raise WarehouseUnavailable(ABSENT)
    try:
        engine = DuckDBEngine(path, read_only=True, threads=1)
    except (UsageError, duckdb.Error) as exc:  # locked by a writer, or opened differently in this process
        log.warning("The warehouse could not be opened read-only: %s", exc)
        raise WarehouseUnavailable(BUSY) from None
    try:
        yield engine
    except (EngineError, duckdb.Error) as exc:
        log.warning("A read of the warehouse failed: %s", exc)
        raise WarehouseUnavailable(BUSY) from None
    finally:
        engine.close()


#: The warehouse of a ``reading`` block, opened read-only at the first call.
Reader = Callable[[], DuckDBEngine]


@contextmanager
def reading(path: Path) -> Iterator[Reader]:
    """For a request that may read the warehouse more than once (a receipt page: its report's rows, and whether
    its records can be corrected): the warehouse opened read-only at the first call of the reader, not at all if
    none is made, the same engine for every call after, and closed at the end of the block."""
    with ExitStack() as stack:
        opened: list[DuckDBEngine] = []

        def reader() -> DuckDBEngine:
            if not opened:
                opened.append(stack.enter_context(read_only(path)))
            return opened[0]

        yield reader


__all__ = ["BUSY", "RETRY_AFTER", "Reader", "WarehouseUnavailable", "read_only", "reading"]
