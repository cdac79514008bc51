"""From a table spec to its additive tables: dimensions, places, and the cells each measure gives."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pupildata.errors import DataError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.reference.tables import install_reference_tables
from pupildata.publish import sources
from pupildata.publish.build import TOTAL, Builder, Built, _flat, _outcome_dimension
from pupildata.publish.contract import CODES
from pupildata.publish.sdc import Dimension, Table
from pupildata.publish.specs import TableSpec


class NoRecords(DataError):
    """A table's source holds no records for the year."""


def _places(
    engine: DuckDBEngine, spec: TableSpec, view: str, year: int
) -> tuple[list[Dimension], dict[str, dict[str, str]]]:
    """The geography dimensions (only places with data) and each place's published columns."""
    dims: list[Dimension] = []
    places: dict[str, dict[str, str]] = {}
    for geography in spec.geography:
        if geography in ("la", "school"):
            school, group = "", ""
            if geography == "school":
                school = ", v.school_urn, any_value(v.school_laestab), any_value(v.school_name)"
                group = ", v.school_urn"
            rows = engine.fetchall(
                "SELECT ra.region_code, ra.region_name, v.la_code, ra.new_la_code, ra.la_name"
                f"{school} FROM {view} v JOIN ref_local_authority ra ON ra.old_la_code = v.la_code "
                "WHERE v.year = ? GROUP BY ra.region_code, ra.region_name, v.la_code, ra.new_la_code, "
                f"ra.la_name{group}",
                [year],
            )
            pairs: dict[str, str] = {}
            for row in rows:
                region = {"geographic_level": "Regional", "region_code": row[0], "region_name": row[1]}
                la = {
                    **region,
                    "geographic_level": "Local authority",
                    "old_la_code": str(row[2]),
                    "new_la_code": row[3],
                    "la_name": row[4],
                }
                places[row[0]] = region
                places[f"la:{row[2]}"] = la
                pairs[row[0]] = TOTAL
                pairs[f"la:{row[2]}"] = row[0]
                if geography == "school":
                    places[f"urn:{row[5]}"] = {
                        **la,
                        "geographic_level": "School",
                        "school_urn": str(row[5]),
                        "school_laestab": str(row[6]),
                        "school_name": str(row[7]),
                    }
                    pairs[f"urn:{row[5]}"] = f"la:{row[2]}"
            dims.append(Dimension.tree("geo", sorted(pairs.items())))
        else:
            rows = engine.fetchall(
                f"SELECT DISTINCT v.health_area_code, coalesce(h.pct_name, v.health_area_code) FROM {view} v "
                "LEFT JOIN ref_health_area h ON h.pct_code = v.health_area_code WHERE v.year = ? ORDER BY 1",
                [year],
            )
            for code, name in rows:
                places[f"pct:{code}"] = {
                    "geographic_level": "Health area",
                    "health_area_code": code,
                    "health_area_name": name,
                }
            dims.append(Dimension.flat("health_area", [f"pct:{code}" for code, _ in rows]))
    places[TOTAL] = {"geographic_level": "National"}
    return dims, places


def _fill(
    name: str, measure: str, dims: list[Dimension], rows: Iterable[tuple[Any, ...]], uncrossed: frozenset[str]
) -> Table:
    table = Table(name, measure, tuple(dims), {}, uncrossed=uncrossed)
    width = len(dims)
    for row in rows:
        coords = tuple(str(c) for c in row[:width])
        table.values[coords] = float(row[width] or 0)
        table.counts[coords] = int(row[width] or 0)
        if len(row) > width + 1:
            table.counts[coords] = int(row[width + 1] or 0)
            table.top[coords] = tuple(sorted((float(x) for x in (row[width + 2] or [])), reverse=True))
    for coords in table.coordinates():  # where uncrossed dimensions cross, only the crossings with someone
        table.values.setdefault(coords, 0.0)
        table.counts.setdefault(coords, 0)  # no contributors: an empty cell
    return table


_GEOGRAPHY_COLUMNS = {
    "la": ("la_code",),
    "school": ("la_code", "school_urn", "school_laestab", "school_name"),
    "health_area": ("health_area_code",),
}


def _columns(spec: TableSpec) -> list[str]:
    """Every column a table reads: its geographies', its ``where``, filters, breakdowns, outcome and means."""
    named = [c for g in spec.geography for c in _GEOGRAPHY_COLUMNS[g]]
    named += [c for c, _ in spec.where] + [f.field for f in spec.filters] + list(spec.breakdowns)
    if spec.outcome:
        named += [spec.outcome.field, *(c for c, _, _ in spec.outcome.parts)]
    named += [c for c, _, _ in spec.means]
    return named


def views_for(engine: DuckDBEngine, specs: Iterable[TableSpec], year: int) -> sources.Views:
    """The sources ``specs`` read for ``year``, each with the columns any of them names."""
    columns: dict[str, list[str]] = {}
    for spec in specs:
        for source in (spec.source, *([spec.eligible] if spec.eligible else [])):
            columns.setdefault(source, []).extend(_columns(spec))
    return sources.Views(engine, year, columns)


def build(engine: DuckDBEngine, spec: TableSpec, year: int, views: sources.Views | None = None) -> Built:
    """The additive tables of one table spec for ``year``; ``views`` shares the release's sources between its
    tables (made here and dropped after when not given)."""
    if not sources.exists(engine, "ref_local_authority"):
        install_reference_tables(engine)
    own = views is None
    views = views or views_for(engine, [spec], year)
    try:
        return _build(engine, spec, year, views)
    finally:
        if own:
            views.drop()


def _build(engine: DuckDBEngine, spec: TableSpec, year: int, views: sources.Views) -> Built:
    view = views.rows(spec.source)
    geos, places = _places(engine, spec, view, year)
    if not places or len(places) == 1:
        raise NoRecords(f"Table {spec.name} has no records for {year}/{str(year + 1)[2:]} in {spec.source}.")
    builder = Builder(engine, spec, view, year, None)
    where, params = builder.where_clause()
    if not engine.fetchall(f"SELECT count(*) FROM {view} v WHERE {where}", params)[0][0]:  # places of other rows
        raise NoRecords(f"Table {spec.name} has no records for {year}/{str(year + 1)[2:]} in {spec.source}.")
    filters = [_flat(f.field, f.code_list()) for f in spec.filters]
    breakdowns = [_flat(b, CODES[b]) for b in spec.breakdowns]
    outcome = _outcome_dimension(spec)
    builder.check_codes([*filters, *breakdowns])
    uncrossed = frozenset(d.name for d in geos) if len(geos) > 1 else frozenset()
    restriction = ",".join(f"{c}={v}" for c, v in spec.where)
    base = f"{spec.source}[{restriction}]"
    built = Built(spec, [], geos, filters, breakdowns, outcome, f"{base}:n")
    eligible_view = views.rows(spec.eligible) if spec.eligible else ""
    choices: list[Dimension | None] = [*breakdowns] or [None]
    for breakdown in choices:
        extra = [breakdown] if breakdown else []
        name = f"{spec.name}/{breakdown.name if breakdown else 'total'}"
        dims = [*geos, *filters, *extra]
        rows = builder.query(view, breakdown.name if breakdown else None, outcome=True)
        built.tables.append(_fill(name, built.measure, [*dims, *([outcome] if outcome else [])], rows, uncrossed))
        for column, _, _ in spec.means:
            measure = f"{base}:sum:{column}"
            built.sums[column] = measure
            rows = builder.query(view, breakdown.name if breakdown else None, outcome=False, magnitude=column)
            built.tables.append(_fill(f"{name}/{column}", measure, dims, rows, uncrossed))
        if spec.eligible:
            built.eligible = f"{spec.eligible}[{restriction}]:n"
            rows = builder.query(eligible_view, breakdown.name if breakdown else None, outcome=False)
            built.tables.append(_fill(f"{name}/eligible", built.eligible, dims, rows, uncrossed))
    built.places = places
    return built
