"""Readers: each turns one archived file into the ``stage`` — one row per record, every field as the text the
sender sent (``r_<field>``), in file order (``record_index`` from 1) — or refuses the whole file. The stage is a
temporary table (census XML), or, for CSV and Parquet, a query over the file that the checking statement reads
directly, so that the file's text is not copied into a table before it is typed and checked.

Nothing is cast here: a bad value must become a rule failure with its code, not a crash. A reader refuses a file
only when no record in it can be trusted (not well-formed, wrong encoding, no usable header), by raising
``Rejected`` with a file-level rule code and one sentence naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pupildata.collect.schemas import Source

if TYPE_CHECKING:
    from pupildata.kernel.engine import DuckDBEngine

STAGE = "collect_stage"
#: The columns an export of quarantined records adds after the record's own (see ``corrections``); a file sent
#: back as a correction keeps them, and its reader ignores them.
CORRECTION_COLUMNS = ("quarantine_record", "quarantine_rules", "quarantine_messages", "quarantine_row_as_sent")


class Rejected(Exception):
    """The whole file is refused: nothing in it is loaded."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Staged:
    """What a reader staged."""

    source: Source
    format: str
    records: int | None  # None: not counted yet (the file is read by the checking statement itself)
    header: dict[str, str] = field(default_factory=dict)  # file-level values, e.g. the census header
    notes: list[str] = field(default_factory=list)  # things worth telling the sender that refuse nothing
    #: a query giving the stage's columns, when the file is read by the checking statement rather than copied
    #: into the stage table first (CSV and Parquet), and its parameters
    relation: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: a query giving the records already typed and checked as they were read (a CSV file's clean load, see
    #: ``direct``): their typed fields, ``record_index``, and ``clean`` (failing no rule, error or query)
    checked: str | None = None

    @property
    def by_record(self) -> bool:
        """Whether a record's texts are tested once for needing no trimming (``checks._typed``): not for Parquet,
        whose texts come dictionary-encoded."""
        return self.format != "parquet"


def raw_columns(src: Source) -> list[str]:
    return [f"r_{name}" for name in src.names]


def create_stage(engine: DuckDBEngine, src: Source) -> None:
    """An empty stage for ``src`` (temporary: it belongs to this connection and this load only).

    ``batch_file`` tells apart the files of a batch staged together (census XML); a single file's records have 0."""
    columns = ", ".join(f"{c} VARCHAR" for c in raw_columns(src))
    engine.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
    engine.execute(
        f"CREATE TEMP TABLE {STAGE} (batch_file INTEGER NOT NULL DEFAULT 0, record_index BIGINT, "
        f"reader_error VARCHAR, raw_line VARCHAR, {columns})"
    )


def drop_stage(engine: DuckDBEngine) -> None:
    engine.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")


__all__ = ["CORRECTION_COLUMNS", "STAGE", "Rejected", "Staged", "create_stage", "drop_stage", "raw_columns"]
