"""Build the additive tables of a release spec from the warehouse, set-at-a-time.

Each table is one SQL statement with grouping sets — ``ROLLUP`` down each geography's hierarchy, ``CUBE`` over the
filters and the breakdown, ``ROLLUP`` over the outcome and its parts — so every total comes from the warehouse
and no pupil passes through Python. Cells with no pupils are 0. The result is a set of ``sdc.Table`` objects:
per breakdown, the population counts by outcome, the sums behind each mean, and the eligible counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pupildata.errors import DataError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.publish.sdc import Dimension, Table
from pupildata.publish.specs import Filter, TableSpec

TOTAL = "Total"
#: Per geography: its levels from the top, as (dimension code prefix, SQL expression, its join).
_GEOGRAPHY = {
    "la": ("geo", (("", "ra.region_code"), ("la:", "v.la_code"))),
    "school": ("geo", (("", "ra.region_code"), ("la:", "v.la_code"), ("urn:", "v.school_urn"))),
    "health_area": ("health_area", (("pct:", "v.health_area_code"),)),
}
_JOIN_LA = "JOIN ref_local_authority ra ON ra.old_la_code = v.la_code"


@dataclass
class Built:
    spec: TableSpec
    tables: list[Table]
    geographies: list[Dimension]
    filters: list[Dimension]
    breakdowns: list[Dimension]
    outcome: Dimension | None
    measure: str  # the population counts (by outcome)
    sums: dict[str, str] = field(default_factory=dict)  # mean column -> its measure
    eligible: str | None = None
    places: dict[str, dict[str, str]] = field(default_factory=dict)  # geography code -> its columns


def _flat(name: str, codes: tuple[tuple[str, str], ...]) -> Dimension:
    return Dimension.flat(name, [c for c, _ in codes])


def _outcome_dimension(spec: TableSpec) -> Dimension | None:
    if spec.outcome is None:
        return None
    pairs = [(code, TOTAL) for code, _ in spec.outcome.categories]
    hidden = []
    for column, _, category in spec.outcome.parts:
        pairs += [(f"{category}>{column}", category), (f"{category}>rest", category)]
        hidden.append(f"{category}>rest")
    return Dimension.tree(spec.outcome.field, pairs, hidden=hidden)


def _code(expr: str, prefix: str = "") -> str:
    return f"CASE WHEN grouping({expr}) = 1 THEN '{TOTAL}' ELSE '{prefix}' || CAST({expr} AS VARCHAR) END"


def _geo_code(levels: tuple[tuple[str, str], ...]) -> str:
    cases = " ".join(f"WHEN grouping({expr}) = 1 THEN {_parent(levels, k)}" for k, (_, expr) in enumerate(levels))
    prefix, expr = levels[-1]
    return f"CASE {cases} ELSE '{prefix}' || CAST({expr} AS VARCHAR) END"


def _parent(levels: tuple[tuple[str, str], ...], k: int) -> str:
    if k == 0:
        return f"'{TOTAL}'"
    prefix, expr = levels[k - 1]
    return f"'{prefix}' || CAST({expr} AS VARCHAR)"


class Builder:
    def __init__(self, engine: DuckDBEngine, spec: TableSpec, view: str, year: int, eligible_view: str | None) -> None:
        self.engine, self.spec, self.view, self.year, self.eligible_view = engine, spec, view, year, eligible_view
        self.filters: list[Filter] = list(spec.filters)

    def where_clause(self) -> tuple[str, list[object]]:
        clauses: list[str] = ["v.year = ?"]
        params: list[object] = [self.year]
        for column, value in self.spec.where:
            clauses.append(f"CAST(v.{column} AS VARCHAR) = ?")
            params.append(value)
        for chosen in self.filters:  # a filter given its own codes selects them (e.g. English and maths only)
            if chosen.codes:
                clauses.append(f"CAST(v.{chosen.field} AS VARCHAR) IN ({', '.join('?' for _ in chosen.codes)})")
                params.extend(code for code, _ in chosen.codes)
        return " AND ".join(clauses), params

    def _groups(self, breakdown: str | None, outcome: bool) -> tuple[list[str], list[str]]:
        """SELECT expressions (one per dimension, in order) and GROUP BY items."""
        selects, groups = [], []
        for geography in self.spec.geography:
            _, levels = _GEOGRAPHY[geography]
            selects.append(_geo_code(levels))
            groups.append("ROLLUP(" + ", ".join(expr for _, expr in levels) + ")")
        flat = [f"v.{f.field}" for f in self.filters] + ([f"v.{breakdown}"] if breakdown else [])
        selects += [_code(expr) for expr in flat]
        if flat:
            groups.append("CUBE(" + ", ".join(flat) + ")")
        if outcome and self.spec.outcome:
            field_ = f"CAST(v.{self.spec.outcome.field} AS VARCHAR)"
            part = "NULL"
            for column, _, category in self.spec.outcome.parts:
                part = (
                    f"CASE WHEN {field_} = '{category}' THEN CASE WHEN v.{column} THEN '{column}' ELSE 'rest' END END"
                )
            selects.append(
                f"CASE WHEN grouping({field_}) = 1 THEN '{TOTAL}' WHEN grouping({part}) = 1 THEN {field_} "
                f"ELSE {field_} || '>' || {part} END"
            )
            groups.append(f"ROLLUP({field_}, {part})")
            self._part = part
        return selects, groups

    def _fine(self, breakdown: str | None, outcome: bool) -> list[str]:
        """The columns of the finest cells: each geography's own, the filters, the breakdown, the outcome and its
        parts — every total is a sum of these."""
        columns = [
            "v.la_code" if expr == "ra.region_code" else expr
            for geography in self.spec.geography
            for _, expr in _GEOGRAPHY[geography][1]
        ]
        columns += [f"v.{f.field}" for f in self.filters] + ([f"v.{breakdown}"] if breakdown else [])
        if outcome and self.spec.outcome:
            columns += [f"v.{self.spec.outcome.field}", *(f"v.{c}" for c, _, _ in self.spec.outcome.parts)]
        return list(dict.fromkeys(columns))

    def query(
        self, view: str, breakdown: str | None, outcome: bool, magnitude: str | None = None
    ) -> list[tuple[object, ...]]:
        """Every cell of one table: the count of rows (``magnitude``: the sum, the count and the two largest
        values of that column instead), with every total of the geographies, filters, breakdown and outcome.

        The rows are first counted at the finest cells (one scan of the source); the grouping sets then roll
        those few rows up, so each grouping set does not scan the source again.
        """
        selects, groups = self._groups(breakdown, outcome)
        where, params = self.where_clause()
        having = (
            f" HAVING grouping({self._part}) = 1 OR {self._part} IS NOT NULL" if outcome and self.spec.outcome else ""
        )
        fine = self._fine(breakdown, outcome)
        if magnitude is None:
            inner, outer = "count(*) AS n_", "sum(v.n_)"
        else:
            inner = f"sum(v.{magnitude}) AS s_, count(v.{magnitude}) AS c_, max(v.{magnitude}, 2) AS t_"
            top = "list_sort(flatten(list(v.t_) FILTER (v.t_ IS NOT NULL)), 'DESC')"
            outer = f"sum(v.s_), sum(v.c_), list_slice({top}, 1, 2)"
        join = _JOIN_LA if any(g in ("la", "school") for g in self.spec.geography) else ""
        names = ", ".join(f"{c} AS {c.removeprefix('v.')}" for c in fine)
        sql = (
            f"WITH fine AS (SELECT {names}, {inner} FROM {view} v WHERE {where} GROUP BY ALL) "
            f"SELECT {', '.join(selects)}, {outer} FROM fine v {join} GROUP BY {', '.join(groups)}{having}"
        )
        return self.engine.fetchall(sql, params)

    def check_codes(self, dims: list[Dimension]) -> None:
        where, params = self.where_clause()
        for dim in dims:
            codes = [c for c in dim.codes if c != dim.root]
            marks = ", ".join("?" for _ in codes)
            found = self.engine.fetchall(
                f"SELECT CAST(v.{dim.name} AS VARCHAR), count(*) FROM {self.view} v WHERE {where} AND "
                f"(v.{dim.name} IS NULL OR CAST(v.{dim.name} AS VARCHAR) NOT IN ({marks})) GROUP BY 1 LIMIT 1",
                [*params, *codes],
            )
            if found:
                row = found[0]
                raise DataError(
                    f"{row[1]} records of {self.spec.source} have {dim.name} {row[0]!r}, which is not in its code list."
                )
