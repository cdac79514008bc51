"""Collected records as matching's input: collection's warehouse tables mapped into ``link_record``.

Every collected record is known everywhere downstream by one key, ``record_key``: the collection table it lives
in, its receipt and its place in the file, e.g. ``census:12:345``. The key is stable (a file is loaded once, and
its records keep their place), and it is how the spine (``link_member``) and every later step (statistics,
extracts) find a record's person.
"""

from __future__ import annotations

#: The collection tables records come from (``collect_<table>_current`` holds those not superseded).
COLLECTED_TABLES = ("census", "ks", "ncmp", "ilr", "survey")


def record_key_sql(table: str, alias: str = "t") -> str:
    """SQL for the record key of rows of ``collect_<table>`` (or its ``_current`` view) aliased ``alias``."""
    if table not in COLLECTED_TABLES:
        raise ValueError(f"there is no collection table {table!r}; there are {', '.join(COLLECTED_TABLES)}")
    return f"('{table}:' || {alias}.receipt_id || ':' || {alias}.record_index)"
