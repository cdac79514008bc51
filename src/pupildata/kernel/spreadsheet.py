"""Cells that no spreadsheet will run: every CSV the service writes (reports, releases, extracts) uses this.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read by a
spreadsheet as a formula ("CSV injection"); it is written with a leading single quote instead.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """The text, with a leading single quote if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def sql_inert(expr: str) -> str:
    """SQL for ``inert`` of a text expression, set-at-a-time."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return f"CASE WHEN left({expr}, 1) IN ({starts}) THEN chr(39) || {expr} ELSE {expr} END"
