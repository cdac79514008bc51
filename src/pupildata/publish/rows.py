"""The published rows of one table spec: every place × filter combination × breakdown, with its indicators.

A count is shown when its cell is published; a percentage or a mean only when both the cell above and the cell
below the line are published (``c`` otherwise), so a hidden count can never be recovered from a rate.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from pupildata.publish.build import TOTAL, Built
from pupildata.publish.contract import CODES, LABELS
from pupildata.publish.format import Column, Symbol, Value
from pupildata.publish.ncmp import wilson
from pupildata.publish.sdc import CellKey

Published = Mapping[CellKey, float | None]


def _key(measure: str, coords: Mapping[str, str]) -> CellKey:
    return measure, tuple(sorted((d, c) for d, c in coords.items() if c != TOTAL))


def _value(published: Published, key: CellKey) -> float | Symbol:
    value = published[key]
    return Symbol.confidential if value is None else value


def _ratio(published: Published, top: CellKey, bottom: CellKey, scale: float) -> float | Symbol:
    a, b = published[top], published[bottom]
    if a is None or b is None:
        return Symbol.confidential
    return Symbol.not_applicable if b == 0 else scale * a / b


def column_name(field: str, code: str) -> str:
    """The indicator name of an outcome category: its code, or for a yes/no outcome the field (or not_field)."""
    return {"true": field, "false": f"not_{field}"}.get(code, code)


def columns_for(built: Built) -> list[Column]:
    spec = built.spec
    cols = [Column(d.name, "Filter", LABELS.get(d.name, d.name)) for d in built.filters]
    if built.breakdowns:
        cols += [Column("breakdown_topic", "Filter", "Breakdown topic"), Column("breakdown", "Filter", "Breakdown")]
    label = spec.outcome.label if spec.outcome else "Pupils"
    cols.append(Column("population", "Indicator", label))
    if spec.outcome:
        parts = [(c, lbl) for c, lbl, _ in spec.outcome.parts]
        named = [(column_name(spec.outcome.field, c), lbl) for c, lbl in spec.outcome.categories]
        for code, lbl in [*named, *parts]:
            cols += [
                Column(f"{code}_count", "Indicator", lbl),
                Column(f"{code}_percent", "Indicator", f"{lbl} (%)", "%", 1),
            ]
            if spec.outcome.confidence:
                cols += [
                    Column(f"{code}_ci_lower", "Indicator", f"{lbl}: 95% lower limit", "%", 1),
                    Column(f"{code}_ci_upper", "Indicator", f"{lbl}: 95% upper limit", "%", 1),
                ]
    cols += [Column(f"mean_{c}", "Indicator", f"Mean {lbl}", unit, 1) for c, lbl, unit in spec.means]
    if built.eligible:
        cols += [
            Column("eligible", "Indicator", "Eligible"),
            Column("participation_percent", "Indicator", "Participation (%)", "%", 1),
        ]
    return cols


def _indicators(built: Built, published: Published, coords: dict[str, str]) -> dict[str, Value]:
    spec = built.spec
    out: dict[str, Value] = {}
    outcome = spec.outcome.field if spec.outcome else None
    base = {**coords, **({outcome: TOTAL} if outcome else {})}
    population = _key(built.measure, base)
    out["population"] = _value(published, population)
    if spec.outcome:
        codes = [c for c, _ in spec.outcome.categories] + [f"{cat}>{c}" for c, _, cat in spec.outcome.parts]
        field = spec.outcome.field
        names = [column_name(field, c) for c, _ in spec.outcome.categories] + [c for c, _, _ in spec.outcome.parts]
        for code, name in zip(codes, names, strict=True):
            key = _key(built.measure, {**coords, field: code})
            out[f"{name}_count"] = _value(published, key)
            out[f"{name}_percent"] = percent = _ratio(published, key, population, 100.0)
            if spec.outcome.confidence:
                if isinstance(percent, Symbol):
                    out[f"{name}_ci_lower"] = out[f"{name}_ci_upper"] = percent
                else:
                    low, high = wilson([published[key] or 0.0], [published[population] or 0.0])
                    out[f"{name}_ci_lower"], out[f"{name}_ci_upper"] = 100 * float(low[0]), 100 * float(high[0])
    for column, _, _ in spec.means:
        out[f"mean_{column}"] = _ratio(published, _key(built.sums[column], coords), population, 1.0)
    if built.eligible:
        eligible = _key(built.eligible, coords)
        out["eligible"] = _value(published, eligible)
        out["participation_percent"] = _ratio(published, population, eligible, 100.0)
    return out


def _place_codes(built: Built) -> list[dict[str, str]]:
    """The nation, then each place of the first geography (the others are solved with it, published elsewhere)."""
    names = [d.name for d in built.geographies]
    first = built.geographies[0]
    total = dict.fromkeys(names, TOTAL)
    return [total, *({**total, first.name: code} for code in first.codes if code != first.root)]


def rows_for(
    built: Built, published: Published, period: str, *, available: bool = True
) -> tuple[list[dict[str, Value]], list[Column]]:
    """The rows of one table; when the table is not ``available`` (its source has nothing for the year), every
    indicator of every row is ``x``."""
    labels = {d.name: dict(f.code_list()) for d, f in zip(built.filters, built.spec.filters, strict=True)}
    rows: list[dict[str, Value]] = []
    topics: list[tuple[str, str, str, str]] = [("", TOTAL, TOTAL, TOTAL)]  # (dimension, code, topic, label)
    for dim in built.breakdowns:
        topics += [
            (dim.name, code, LABELS.get(dim.name, dim.name), dict(CODES[dim.name])[code]) for code in dim.codes[1:]
        ]
    columns = columns_for(built)
    indicators = [c.name for c in columns if c.kind == "Indicator"]
    for place in _place_codes(built):
        geo_code = next((c for c in place.values() if c != TOTAL), TOTAL)
        where: dict[str, Any] = {
            "time_period": period,
            "time_identifier": "Academic year",
            "country_code": "E92000001",
            "country_name": "England",
            **built.places[geo_code],
        }
        for combo in itertools.product(*(d.codes for d in built.filters)):
            for dim_name, code, topic, label in topics:
                coords = {**place, **{d.name: c for d, c in zip(built.filters, combo, strict=True)}}
                if dim_name:
                    coords[dim_name] = code
                row = dict(where)
                for d, c in zip(built.filters, combo, strict=True):
                    row[d.name] = labels[d.name].get(c, c)
                if built.breakdowns:
                    row["breakdown_topic"], row["breakdown"] = topic, label
                if available:
                    row.update(_indicators(built, published, coords))
                else:
                    row.update(dict.fromkeys(indicators, Symbol.not_available))
                rows.append(row)
    return rows, columns
