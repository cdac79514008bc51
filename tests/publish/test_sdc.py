"""Disclosure control: primary rules, optimal secondary suppression, the audit and controlled rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pupildata.errors import DataError
from pupildata.publish.sdc import (
    Dimension,
    MinFrequency,
    Table,
    apply_rules,
    audit,
    build_problem,
    controlled_round,
    secondary,
    suppress,
)
from pupildata.publish.sdc.secondary import components, subtables

from .attack import ranges
from .builders import aggregate, geography, leaf_cells

THRESHOLD = 5
PROTECTION = 40.0  # % of the threshold: 2 units either way
SEX = Dimension.flat("sex", ["M", "F"])
YEAR = Dimension.flat("year", ["Y1", "Y2", "Y3"])


@st.composite
def release(draw: st.DrawFn, two_tables: bool) -> list[Table]:
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    geo = geography(shape)
    small = st.integers(0, 14)
    joint = {cell: draw(small) for cell in leaf_cells((geo, SEX, YEAR))}
    by_sex = {(g, s): sum(joint[(g, s, y)] for y in ("Y1", "Y2", "Y3")) for g, s, _ in joint}
    tables = [aggregate("by_sex", "pupils", (geo, SEX), by_sex)]
    if two_tables:
        by_year = {(g, y): sum(joint[(g, s, y)] for s in ("M", "F")) for g, _, y in joint}
        tables.append(aggregate("by_year", "pupils", (geo, YEAR), by_year))
    return tables


def _protect(tables: list[Table], hierarchy: Dimension | None = None):
    problem = build_problem(tables)
    primary = apply_rules(problem, (MinFrequency(THRESHOLD),), PROTECTION)
    pattern = suppress(problem, primary, time_limit=30, hierarchy=hierarchy)
    return problem, primary, pattern


def _assert_protected(tables: list[Table], hierarchy: Dimension | None = None) -> None:
    """Assert that no published cell is below the threshold and no LP attacker narrows a hidden one."""
    problem, primary, pattern = _protect(tables, hierarchy)
    for part in pattern.parts:  # each part is proven optimal, or says how far it may be from it
        assert part.optimal or part.bound <= part.cost
        assert 0.0 <= part.gap <= 1.0
    published = ~pattern.hidden
    counts = problem.count[published]
    assert not ((counts > 0) & (counts < THRESHOLD)).any(), "a published cell is below the threshold"
    keys = problem.index()
    attacked = ranges(tables, {key: bool(published[i]) for key, i in keys.items()})
    needed = np.ceil(PROTECTION / 100 * THRESHOLD)
    for key, (low, high) in attacked.items():
        i = keys[key]
        if primary.unsafe[i]:
            value = problem.value[i]
            assert high >= value + needed - 1e-6, f"{key} can be bounded above at {high}"
            assert low <= value - min(needed, value) + 1e-6, f"{key} can be bounded below at {low}"
    # The production audit agrees with the independent attacker.
    result = audit(problem, pattern.hidden, primary, time_limit=30)
    assert result.passed
    for interval in result.intervals:
        low, high = attacked[problem.keys[interval.cell]]
        assert interval.low == pytest.approx(low, abs=1e-6)
        assert interval.high == pytest.approx(high, abs=1e-6)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(release(two_tables=False))
def test_one_table_is_protected_against_an_lp_attacker(tables: list[Table]) -> None:
    _assert_protected(tables)


@PROPERTY
@given(release(two_tables=True))
def test_two_tables_sharing_a_margin_are_protected_together(tables: list[Table]) -> None:
    _assert_protected(tables)


@PROPERTY
@given(release(two_tables=True))
def test_tables_that_share_no_cells_are_solved_apart_and_protected_together(tables: list[Table]) -> None:
    first, second = tables
    unrelated = [first, Table(second.name, "other", second.dimensions, second.values, second.counts)]
    problem = build_problem(unrelated)
    parts = components(problem)
    for part in parts:  # no part holds cells of both measures
        assert len({problem.keys[int(i)][0] for i in part}) == 1
    assert {problem.keys[int(i)][0] for part in parts for i in part} <= {"pupils", "other"}
    _assert_protected(unrelated)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(release(two_tables=True))
def test_large_tables_solved_subtable_by_subtable_are_protected_as_a_whole(tables: list[Table]) -> None:
    geo = tables[0].dimensions[0]
    limit, workers = secondary.SUBTABLE_CELLS, secondary.WORKERS
    secondary.SUBTABLE_CELLS, secondary.WORKERS = 0, 1  # every table counts as large
    try:
        _assert_protected(tables, hierarchy=geo)
    finally:
        secondary.SUBTABLE_CELLS, secondary.WORKERS = limit, workers


def test_subtables_go_down_the_hierarchy_a_level_at_a_time() -> None:
    geo = geography([2, 3])
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 4))])
    levels = subtables(problem, geo)
    place = [dict(coords).get("geo", "Total") for _, coords in problem.keys]
    places = [[{place[int(i)] for i in cells} for cells in level] for level in levels]
    assert places == [[{"Total", "R0", "R1"}], [{"R0", "L00", "L01"}, {"R1", "L10", "L11", "L12"}]]
    assert all(len(cells) == len(places[k][j]) * 3 for k, level in enumerate(levels) for j, cells in enumerate(level))


def test_subtables_of_one_level_are_solved_side_by_side_in_worker_processes() -> None:
    geo = geography([3, 3])
    leaf = {cell: (3 if cell[0].endswith("0") else 12 + len(cell[0])) for cell in leaf_cells((geo, SEX))}
    tables = [aggregate("a", "pupils", (geo, SEX), leaf)]
    limit, workers = secondary.SUBTABLE_CELLS, secondary.WORKERS
    secondary.SUBTABLE_CELLS, secondary.WORKERS = 0, 2
    try:
        _assert_protected(tables, hierarchy=geo)
    finally:
        secondary.SUBTABLE_CELLS, secondary.WORKERS = limit, workers


def test_two_geographies_cross_only_where_someone_is_in_both() -> None:
    areas, las = Dimension.flat("health_area", ["H1", "H2"]), Dimension.flat("geo", ["L1", "L2"])
    values = {("H1", "L1"): 5.0, ("H2", "L2"): 30.0, ("H1", "Total"): 5.0, ("H2", "Total"): 30.0}
    values |= {("Total", "L1"): 5.0, ("Total", "L2"): 30.0, ("Total", "Total"): 35.0}
    table = Table("t", "n", (areas, las), values, uncrossed=frozenset({"health_area", "geo"}))
    problem = build_problem([table])
    assert problem.size == 7  # no cell for H1 in L2 or H2 in L1
    crossings = [i for i, (_, coords) in enumerate(problem.keys) if len(coords) == 2]
    assert len(crossings) == 2
    assert problem.hidden[crossings].all()


def test_a_cell_published_in_two_tables_is_one_variable() -> None:
    geo = geography([2])
    by_sex = aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 3))
    by_year = aggregate("b", "pupils", (geo, YEAR), dict.fromkeys(leaf_cells((geo, YEAR)), 2))
    problem = build_problem([by_sex, by_year])
    areas = len(geo.codes)
    assert problem.size == areas * len(SEX.codes) + areas * len(YEAR.codes) - areas  # geography totals shared


def test_cells_that_disagree_between_tables_are_refused() -> None:
    geo = geography([2])
    by_sex = aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 3))
    by_year = aggregate("b", "pupils", (geo, YEAR), dict.fromkeys(leaf_cells((geo, YEAR)), 1))  # 3 per area, not 6
    with pytest.raises(DataError, match="another table"):
        build_problem([by_sex, by_year])


def test_a_table_that_does_not_add_up_is_refused() -> None:
    geo = geography([2])
    table = aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 3))
    table.values[("Total", "Total")] += 1
    with pytest.raises(DataError, match="not the sum of its parts"):
        build_problem([table])


def test_the_audit_blocks_a_margin_that_reveals_a_hidden_cell() -> None:
    geo = geography([3])
    leaf = {("L00", "M"): 2, ("L00", "F"): 20, ("L01", "M"): 30, ("L01", "F"): 25, ("L02", "M"): 40, ("L02", "F"): 8}
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), leaf)])
    primary = apply_rules(problem, (MinFrequency(10),), 10.0)
    only_primary = primary.unsafe.copy()  # hide the small cells and nothing else: the totals give them away
    result = audit(problem, only_primary, primary, time_limit=10)
    assert not result.passed
    assert {problem.keys[i.cell] for i in result.unsafe} == {problem.keys[i] for i in np.flatnonzero(primary.unsafe)}
    assert all(i.high - i.low < 1e-6 for i in result.unsafe)


def test_empty_cells_are_published_and_never_hidden_to_protect_others() -> None:
    geo = geography([2])
    leaf = {("L00", "M"): 0, ("L00", "F"): 3, ("L01", "M"): 0, ("L01", "F"): 40}
    problem, primary, pattern = _protect([aggregate("a", "pupils", (geo, SEX), leaf)])
    assert not pattern.hidden[problem.count == 0].any()
    assert not primary.unsafe[problem.count == 0].any()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data(), st.sampled_from([3, 5, 10]))
def test_controlled_rounding_keeps_tables_additive(shape: list[int], data: st.DataObject, base: int) -> None:
    geo = geography(shape)
    leaf = {cell: data.draw(st.integers(0, 40)) for cell in leaf_cells((geo, SEX))}
    table = aggregate("a", "pupils", (geo, SEX), leaf)
    problem = build_problem([table])
    try:
        rounded = controlled_round(problem, base, time_limit=10)
    except DataError:  # two-dimensional tables always have one; this must not happen
        pytest.fail("no controlled rounding found for a two-dimensional table")
    assert np.allclose(rounded % base, 0)
    assert (np.abs(rounded - problem.value) < base).all()
    exact = problem.value % base == 0
    assert np.array_equal(rounded[exact], problem.value[exact])
    for cells, coefs in problem.rows:
        assert coefs @ rounded[cells] == pytest.approx(0)
