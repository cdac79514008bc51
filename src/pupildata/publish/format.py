"""The department's open-data format: tidy CSV with a complete matrix, symbols for every missing number, and a
``<name>.meta.csv`` describing each filter and indicator.

Mandatory columns come first (``time_period``, ``time_identifier``, ``geographic_level``, ``country_code``,
``country_name``), then the geography columns of the levels present, then filters, then indicators. A number is
never blank: ``c`` confidential (suppressed), ``z`` not applicable, ``x`` not available, ``low`` rounds to 0 but is
not 0, ``u`` low reliability. Text that a spreadsheet would read as a formula is prefixed with an apostrophe.
Files are written to a temporary folder beside the target and moved into place in one step, so a release's folder
holds either all of its files or none.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pupildata.kernel.spreadsheet import inert

MANDATORY = ("time_period", "time_identifier", "geographic_level", "country_code", "country_name")
GEOGRAPHY_COLUMNS = {
    "National": (),
    "Regional": ("region_code", "region_name"),
    "Local authority": ("region_code", "region_name", "old_la_code", "new_la_code", "la_name"),
    "Health area": ("health_area_code", "health_area_name"),
    "School": (
        "region_code",
        "region_name",
        "old_la_code",
        "new_la_code",
        "la_name",
        "school_urn",
        "school_laestab",
        "school_name",
    ),
}
META_COLUMNS = (
    "col_name",
    "col_type",
    "label",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
    "indicator_grouping",
)


class Symbol(StrEnum):
    confidential = "c"
    not_applicable = "z"
    not_available = "x"
    low = "low"
    low_reliability = "u"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "Filter" or "Indicator"
    label: str
    unit: str = ""  # "%", "cm", "kg", "" for counts
    dp: int = 0
    hint: str = ""
    grouping: str = ""


Value = str | int | float | Symbol


def format_number(value: float | Symbol, dp: int) -> str:
    if isinstance(value, Symbol):
        return value.value
    if math.isnan(value):  # NaN never reaches a file
        return Symbol.not_available.value
    text = f"{value:.{dp}f}"
    if float(text) == 0 and value != 0:
        return Symbol.low.value
    return text


def escape(text: str) -> str:
    """Text that a spreadsheet would run as a formula is made inert."""
    return inert(text)


def geography_columns(levels: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for level in levels:
        for column in GEOGRAPHY_COLUMNS[level]:
            seen.setdefault(column, None)
    return tuple(seen)


def render(rows: Sequence[Mapping[str, Value]], columns: Sequence[Column]) -> tuple[str, str]:
    """The data file and the meta file, as text. Every row must give every column a value (or a symbol)."""
    levels = sorted({str(row["geographic_level"]) for row in rows})
    header = [*MANDATORY, *geography_columns(levels), *(c.name for c in columns)]
    filters = [c.name for c in columns if c.kind == "Filter"]
    seen: set[tuple[str, ...]] = set()
    data = io.StringIO()
    writer = csv.writer(data, lineterminator="\n")
    writer.writerow(header)
    dp = {c.name: c.dp for c in columns if c.kind == "Indicator"}
    for row in rows:
        identity = tuple(str(row.get(name, "")) for name in (*MANDATORY, *geography_columns(levels), *filters))
        if identity in seen:
            raise ValueError(f"two rows for {', '.join(identity)}")
        seen.add(identity)
        out = []
        for name in header:
            if name in dp:
                value = row[name]
                if isinstance(value, str) and not isinstance(value, Symbol):
                    raise ValueError(f"indicator {name} holds text {value!r}")
                out.append(format_number(value, dp[name]))
            elif _not_applicable(name, str(row["geographic_level"])):
                out.append(Symbol.not_applicable.value)
            else:
                text = str(row[name])
                if text == "":
                    raise ValueError(f"column {name} is blank")
                out.append(escape(text))
        writer.writerow(out)
    _check_complete(rows, filters)
    return data.getvalue(), _meta(columns)


def _not_applicable(column: str, level: str) -> bool:
    """A geography column that rows of another level carry (e.g. a school's URN on a national row)."""
    return column in {*GEOGRAPHY_COLUMNS["School"], *GEOGRAPHY_COLUMNS["Health area"]} and (
        column not in GEOGRAPHY_COLUMNS[level]
    )


def _check_complete(rows: Sequence[Mapping[str, Value]], filters: Sequence[str]) -> None:
    if not filters:
        return
    keys = (*MANDATORY, "region_code", "new_la_code", "health_area_code", "school_urn")
    places = {tuple(str(r.get(k, "")) for k in keys) for r in rows}
    combos = {tuple(str(r[f]) for f in filters) for r in rows}
    if len(rows) != len(places) * len(combos):
        raise ValueError(f"the matrix is not complete: {len(rows)} rows, {len(places)} places × {len(combos)} filters")


def _meta(columns: Sequence[Column]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(META_COLUMNS)
    for c in columns:
        indicator = c.kind == "Indicator"
        writer.writerow(
            [
                c.name,
                c.kind,
                escape(c.label),
                c.unit if indicator else "",
                c.dp if indicator else "",
                c.hint,
                "",
                c.grouping if indicator else "",
            ]
        )
    return out.getvalue()


def write_atomically(target: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` (name → text) into the folder ``target``, replacing it as a whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / name for name in files]
