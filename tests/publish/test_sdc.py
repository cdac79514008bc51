"""Disclosure control: primary rules, optimal secondary suppression, the audit and controlled rounding."""

from __future__ import annotations

import importlib

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
from pupildata.publish.sdc.local import Lines, neighbourhoods
from pupildata.publish.sdc.secondary import components

from .attack import ranges
from .builders import aggregate, geography, leaf_cells

audit_module = importlib.import_module("pupildata.publish.sdc.audit")  # the package's ``audit`` is the function
attacker_module = importlib.import_module("pupildata.publish.sdc.attacker")
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
def test_large_tables_protected_neighbourhood_by_neighbourhood_are_protected_as_a_whole(tables: list[Table]) -> None:
    geo = tables[0].dimensions[0]
    limit = secondary.LOCAL_CELLS
    secondary.LOCAL_CELLS = 0  # every table counts as large
    try:
        _assert_protected(tables, hierarchy=geo)
    finally:
        secondary.LOCAL_CELLS = limit


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(release(two_tables=True), st.sampled_from([1, 2]))
def test_a_large_release_is_audited_in_neighbourhoods_and_each_proof_is_a_point_of_the_whole(
    tables: list[Table], workers: int
) -> None:
    # As for a national release: protected neighbourhood by neighbourhood (in one or two threads), and audited by
    # proofs found in neighbourhoods. Every interval the audit gives lies within the exact one of the independent
    # attacker (a proof is a point the whole release allows), and every primary cell reaches its protection.
    geo = tables[0].dimensions[0]
    limit, exact = secondary.LOCAL_CELLS, audit_module.EXACT_CELLS
    secondary.LOCAL_CELLS, audit_module.EXACT_CELLS = 0, 0
    try:
        problem = build_problem(tables)
        primary = apply_rules(problem, (MinFrequency(THRESHOLD),), PROTECTION)
        pattern = suppress(problem, primary, time_limit=30, hierarchy=geo, workers=workers)
        result = audit(problem, pattern.hidden, primary, time_limit=30, hierarchy=geo, workers=workers)
    finally:
        secondary.LOCAL_CELLS, audit_module.EXACT_CELLS = limit, exact
    assert result.passed
    published = ~pattern.hidden
    attacked = ranges(tables, {key: bool(published[i]) for key, i in problem.index().items()})
    for interval in result.intervals:
        low, high = attacked[problem.keys[interval.cell]]
        assert interval.low >= low - 1e-6
        assert interval.high <= high + 1e-6
    assert {i.cell for i in result.intervals} == set(np.flatnonzero(pattern.hidden).tolist())


def test_the_audit_in_neighbourhoods_still_blocks_a_revealed_cell() -> None:
    geo = geography([3, 2])
    leaf = {("L00", "M"): 2, ("L00", "F"): 20, ("L01", "M"): 30, ("L01", "F"): 25, ("L02", "M"): 40, ("L02", "F"): 8}
    leaf |= {("L10", "M"): 12, ("L10", "F"): 14, ("L11", "M"): 16, ("L11", "F"): 18}
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), leaf)])
    primary = apply_rules(problem, (MinFrequency(10),), 10.0)
    exact = audit_module.EXACT_CELLS
    audit_module.EXACT_CELLS = 0
    try:
        blocked = audit(problem, primary.unsafe.copy(), primary, time_limit=10, hierarchy=geo)
    finally:
        audit_module.EXACT_CELLS = exact
    assert not blocked.passed
    assert {problem.keys[i.cell] for i in blocked.unsafe} == {problem.keys[i] for i in np.flatnonzero(primary.unsafe)}
    assert all(i.exact and i.high - i.low < 1e-6 for i in blocked.unsafe)


def test_a_point_that_breaks_a_line_of_the_whole_release_proves_nothing() -> None:
    geo = geography([2])
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 4))])
    lines = Lines.of(problem)
    keys = problem.index()
    cell = {(g, s): keys[("pupils", (("geo", g), ("sex", s)))] for g in ("L00", "L01") for s in ("M", "F")}
    cycle = np.array([cell[("L00", "M")], cell[("L00", "F")], cell[("L01", "M")], cell[("L01", "F")]])
    hidden = np.zeros(problem.size, dtype=bool)
    hidden[cycle] = True
    assert lines.keeps(problem, hidden, cycle, np.array([5.0, 3.0, 3.0, 5.0]))  # a rectangle moved by one
    assert not lines.keeps(problem, hidden, cycle, np.array([5.0, 4.0, 3.0, 5.0]))  # a line's sum moves
    assert not lines.keeps(problem, hidden, cycle, np.array([8.0, 0.0, 0.0, 8.0]) - 4.5)  # below 0
    hidden[cycle[0]] = False
    assert not lines.keeps(problem, hidden, cycle, np.array([5.0, 3.0, 3.0, 5.0]))  # a published cell moves


def test_a_cell_is_protected_among_its_siblings_and_a_total_with_its_parts() -> None:
    geo = geography([2, 3])
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), dict.fromkeys(leaf_cells((geo, SEX)), 4))])
    place = [dict(coords).get("geo", "Total") for _, coords in problem.keys]
    at = {code: np.array([i for i, p in enumerate(place) if p == code]) for code in ("Total", "R0", "L00", "L01")}
    found = {
        frozenset(place[int(i)] for i in mine): {place[int(i)] for i in near}
        for near, mine in neighbourhoods(problem, geo, np.concatenate(list(at.values())))
    }
    assert found == {
        frozenset({"L00", "L01"}): {"R0", "L00", "L01"},  # an authority among its region's authorities
        frozenset({"R0"}): {"Total", "R0", "R1", "L00", "L01"},  # a region with the nation and its authorities
        frozenset({"Total"}): {"Total", "R0", "R1", "L00", "L01", "L10", "L11", "L12"},
    }


def test_a_cell_its_neighbourhood_cannot_protect_is_protected_over_the_whole_problem() -> None:
    # L00 is the only authority of R0 with anyone in F: among R0's authorities its F cell cannot move, but R0's
    # F cell can, with the nation's and another region's.
    geo = geography([2, 2])
    leaf = {("L00", "M"): 30, ("L00", "F"): 3, ("L01", "M"): 25, ("L01", "F"): 0}
    leaf |= {("L10", "M"): 40, ("L10", "F"): 12, ("L11", "M"): 35, ("L11", "F"): 20}
    tables = [aggregate("a", "pupils", (geo, SEX), leaf)]
    limit = secondary.LOCAL_CELLS
    secondary.LOCAL_CELLS = 0
    try:
        _assert_protected(tables, hierarchy=geo)
        _, _, pattern = _protect(tables, hierarchy=geo)
    finally:
        secondary.LOCAL_CELLS = limit
    assert len(pattern.parts) == 1
    assert pattern.parts[0].bound <= pattern.parts[0].cost


def test_sums_that_add_up_only_to_float_rounding_are_attacked_all_the_same() -> None:
    # Sums of magnitudes add up only to rounding: the cell hidden alone is given away twice, by two totals that
    # disagree in the 14th digit. The attacker still solves, and the audit blocks the cell.
    geo = Dimension.flat("geo", ["L1", "L2"])
    table = aggregate(
        "a", "height", (geo, SEX), {("L1", "M"): 1.3e8, ("L1", "F"): 1.1e8, ("L2", "M"): 0.9e8, ("L2", "F"): 1e8}
    )
    table.values[("Total", "M")] += 2e-6
    table.counts = {("L1", "M"): 3}
    problem = build_problem([table])
    primary = apply_rules(problem, (MinFrequency(THRESHOLD),), 1e5)  # 5,000 either way: above the tolerance
    result = audit(problem, primary.unsafe.copy(), primary, time_limit=10)
    assert [problem.keys[i.cell] for i in result.unsafe] == [("height", (("geo", "L1"), ("sex", "M")))]


def test_the_audit_of_many_cells_proves_protection_and_still_blocks_a_revealed_cell() -> None:
    geo = geography([3])
    leaf = {("L00", "M"): 2, ("L00", "F"): 20, ("L01", "M"): 30, ("L01", "F"): 25, ("L02", "M"): 40, ("L02", "F"): 8}
    problem = build_problem([aggregate("a", "pupils", (geo, SEX), leaf)])
    primary = apply_rules(problem, (MinFrequency(10),), 10.0)
    pattern = suppress(problem, primary, time_limit=10)
    exact, joint = audit_module.EXACT_CELLS, attacker_module.JOINT_CELLS
    audit_module.EXACT_CELLS, attacker_module.JOINT_CELLS = 0, 0  # as for a national release
    try:
        proven = audit(problem, pattern.hidden, primary, time_limit=10)
        blocked = audit(problem, primary.unsafe.copy(), primary, time_limit=10)
    finally:
        audit_module.EXACT_CELLS, attacker_module.JOINT_CELLS = exact, joint
    assert proven.passed
    assert any(not i.exact for i in proven.intervals)
    assert not blocked.passed
    assert all(i.exact and i.high - i.low < 1e-6 for i in blocked.unsafe)


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
