"""The reference data of 2008/09: local authorities, regions, health areas (primary care trusts) and code sets,
in Python and as DuckDB tables."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import duckdb
import pytest

from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.identifiers import nc_year_code
from pupildata.kernel.reference import (
    code_set_names,
    codes,
    health_area_by_code,
    health_areas,
    health_areas_for_la,
    la_by_code,
    la_codes,
    local_authorities,
    regions,
)
from pupildata.kernel.reference.tables import REFERENCE_TABLES, install_reference_tables

LAS_PER_REGION = {
    "North East": 12,
    "North West": 22,
    "Yorkshire and The Humber": 15,
    "East Midlands": 9,
    "West Midlands": 14,
    "East of England": 10,
    "London": 33,
    "South East": 19,
    "South West": 16,
}

# Strategic health authorities of 2008/09 and how many primary care trusts each had.
PCTS_PER_SHA = {
    ("Q30", "North East"): 12,
    ("Q31", "North West"): 24,
    ("Q32", "Yorkshire and the Humber"): 14,
    ("Q33", "East Midlands"): 9,
    ("Q34", "West Midlands"): 17,
    ("Q35", "East of England"): 14,
    ("Q36", "London"): 31,
    ("Q37", "South East Coast"): 8,
    ("Q38", "South Central"): 9,
    ("Q39", "South West"): 14,
}

# The government office region each SHA lay in: the South East region had two SHAs.
SHA_REGION = {
    "Q30": "North East",
    "Q31": "North West",
    "Q32": "Yorkshire and The Humber",
    "Q33": "East Midlands",
    "Q34": "West Midlands",
    "Q35": "East of England",
    "Q36": "London",
    "Q37": "South East",
    "Q38": "South East",
    "Q39": "South West",
}

# Local authorities served by more than one PCT, and by which.
SHARED_LAS = {
    330: {"5PG", "5MX", "5M1"},  # Birmingham: East and North, Heart of Birmingham Teaching, South Birmingham
    830: {"5N6", "5LH"},  # Derbyshire: Derbyshire County, and Glossop in Tameside and Glossop
    845: {"5P7", "5P8"},  # East Sussex: Downs and Weald, Hastings and Rother
    860: {"5PH", "5PK"},  # Staffordshire: North, South
    875: {"5NP", "5NN"},  # Cheshire: Central and Eastern, Western
    881: {"5PX", "5PW", "5P1", "5PY", "5PV"},  # Essex: Mid, North East, South East, South West, West
    886: {"5QA", "5P9"},  # Kent: Eastern and Coastal, West
    888: {"5NG", "5NH", "5NF"},  # Lancashire: Central, East, North
    891: {"5N8", "5ET"},  # Nottinghamshire: County, Bassetlaw
    919: {"5P3", "5P4"},  # Hertfordshire: East and North, West
    926: {"5PQ", "5PR"},  # Norfolk: Norfolk, Great Yarmouth and Waveney
    935: {"5PT", "5PR"},  # Suffolk: Suffolk, Great Yarmouth and Waveney
}

# PCTs that covered more than one local authority, and which.
MULTI_LA_PCTS = {
    "5NM": {876, 342},  # Halton and St Helens
    "5LH": {357, 830},  # Tameside and Glossop
    "5NV": {815, 816},  # North Yorkshire and York
    "5PA": {855, 857},  # Leicestershire County and Rutland
    "5PR": {926, 935},  # Great Yarmouth and Waveney
    "5P1": {882, 881},  # South East Essex: Southend, Castle Point and Rochford
    "5PY": {883, 881},  # South West Essex: Thurrock, Basildon and Brentwood
    "5C3": {201, 204},  # City and Hackney Teaching
    "5M7": {319, 315},  # Sutton and Merton
    "5QG": {867, 868, 871},  # Berkshire East: Bracknell Forest, Windsor and Maidenhead, Slough
    "5QF": {869, 870, 872},  # Berkshire West: West Berkshire, Reading, Wokingham
    "5QN": {837, 836},  # Bournemouth and Poole Teaching
    "5QP": {908, 420},  # Cornwall and Isles of Scilly
}


# --- Local authorities and regions ----------------------------------------------------------------------------


def test_150_local_authorities_with_unique_codes_and_names() -> None:
    las = local_authorities()
    assert len(las) == 150
    assert len({la.old_code for la in las}) == 150
    assert len({la.new_code for la in las}) == 150
    assert len({la.name for la in las}) == 150
    assert la_codes() == frozenset(la_by_code()) == {la.old_code for la in las}


def test_local_authority_codes_have_the_right_shape() -> None:
    for la in local_authorities():
        assert 201 <= la.old_code <= 938, la
        assert re.fullmatch(r"E(06|08|09|10)[0-9]{6}", la.new_code), la


def test_nine_regions_each_with_one_name() -> None:
    assert len(regions()) == 9
    assert [r.code for r in regions()] == [f"E1200000{i}" for i in range(1, 10)]
    names_of_code: dict[str, set[str]] = {}
    for la in local_authorities():
        names_of_code.setdefault(la.region.code, set()).add(la.region.name)
    assert all(len(names) == 1 for names in names_of_code.values())
    assert {r.name for r in regions()} == set(LAS_PER_REGION)


def test_local_authorities_per_region() -> None:
    assert Counter(la.region.name for la in local_authorities()) == LAS_PER_REGION


def test_london_boroughs_are_201_to_213_and_301_to_320() -> None:
    london = {la.old_code for la in local_authorities() if la.region.name == "London"}
    assert london == set(range(201, 214)) | set(range(301, 321))
    assert all(la.new_code.startswith("E09") for la in local_authorities() if la.old_code in london)


def test_known_authorities() -> None:
    assert la_by_code()[201].name == "City of London"
    assert la_by_code()[938].name == "West Sussex"
    assert la_by_code()[330].name == "Birmingham"
    assert la_by_code()[820].name == "Bedfordshire"  # split in April 2009, after this school year's census
    assert la_by_code()[875].name == "Cheshire"


# --- Code sets ----------------------------------------------------------------------------------------------

EXPECTED_CODES = {
    "ethnicity": [
        *("WBRI", "WIRI", "WIRT", "WROM", "WOTH"),
        *("MWBC", "MWBA", "MWAS", "MOTH"),
        *("AIND", "APKN", "ABAN", "AOTH"),
        *("BCRB", "BAFR", "BOTH"),
        *("CHNE", "OOTH", "REFU", "NOBT"),
    ],
    "sen_provision": ["N", "A", "P", "S"],
    "fsm": ["true", "false"],
    "first_language": ["ENG", "OTH", "NOT"],
    "gender": ["M", "F"],
    "nc_year": [nc_year_code(year) for year in range(-2, 15)],
    "ks1_level": ["W", "1", "2C", "2B", "2A", "3", "4"],
    "ks2_level": ["B", "N", "2", "3", "4", "5", "A", "D"],
    "ks3_level": [str(level) for level in range(1, 9)],
    "ks4_grade": ["A*", "A", "B", "C", "D", "E", "F", "G", "U"],
}


def test_code_sets_are_those_of_the_domain_notes() -> None:
    assert set(code_set_names()) == set(EXPECTED_CODES)
    for name, expected in EXPECTED_CODES.items():
        found = codes(name)
        assert found, name
        assert [c.code for c in found] == expected, name
        assert all(c.code_set == name and c.label and c.grouping for c in found)


def test_ethnicity_groups() -> None:
    groups = {c.code: c.grouping for c in codes("ethnicity")}
    assert groups["WBRI"] == "White"
    assert groups["MWBC"] == "Mixed"
    assert groups["APKN"] == "Asian"
    assert groups["BAFR"] == "Black"
    assert groups["CHNE"] == "Chinese"
    assert groups["REFU"] == groups["NOBT"] == "Unclassified"


def test_unknown_code_set() -> None:
    with pytest.raises(KeyError, match="no code set called 'religion'"):
        codes("religion")


# --- Health areas -------------------------------------------------------------------------------------------


def test_152_primary_care_trusts_with_unique_codes_and_names() -> None:
    areas = health_areas()
    assert len(areas) == 152
    assert len({a.code for a in areas}) == 152
    assert len({a.name for a in areas}) == 152
    assert set(health_area_by_code()) == {a.code for a in areas}
    for area in areas:
        assert re.fullmatch(r"5[A-Z0-9]{2}|TA[A-Z]", area.code), area
        assert area.name.endswith(("PCT", "Care Trust", "Care Trust Plus")), area


def test_ten_strategic_health_authorities() -> None:
    assert Counter((a.sha_code, a.sha_name) for a in health_areas()) == PCTS_PER_SHA


def test_health_areas_are_listed_by_sha_then_name() -> None:
    keys = [(a.sha_code, a.name.casefold()) for a in health_areas()]
    assert keys == sorted(keys)


def test_every_pct_covers_a_local_authority_and_every_authority_has_a_pct() -> None:
    covered = set()
    for area in health_areas():
        assert area.la_codes, area
        assert list(area.la_codes) == sorted(set(area.la_codes)), area
        assert set(area.la_codes) <= la_codes(), area
        covered.update(area.la_codes)
    assert covered == la_codes()
    for code in la_codes():
        assert health_areas_for_la(code), code


def test_pcts_lie_in_their_shas_region() -> None:
    """Every PCT's authorities are in its SHA's region, except Glossop: Derbyshire (East Midlands) but in the
    North West's Tameside and Glossop PCT."""
    crossing = {
        (area.code, la)
        for area in health_areas()
        for la in area.la_codes
        if la_by_code()[la].region.name != SHA_REGION[area.sha_code]
    }
    assert crossing == {("5LH", 830)}


def test_shared_authorities_and_multi_authority_pcts() -> None:
    shared = {la: {a.code for a in health_areas_for_la(la)} for la in la_codes()}
    assert {la: pcts for la, pcts in shared.items() if len(pcts) > 1} == SHARED_LAS
    multi = {a.code: set(a.la_codes) for a in health_areas() if len(a.la_codes) > 1}
    assert multi == MULTI_LA_PCTS
    assert sum(len(a.la_codes) for a in health_areas()) == 167


def test_birmingham_has_three_pcts() -> None:
    names = {a.name for a in health_areas_for_la(330)}
    assert names == {"Heart of Birmingham Teaching PCT", "Birmingham East and North PCT", "South Birmingham PCT"}


def test_coterminous_examples() -> None:
    (newcastle,) = health_areas_for_la(391)
    assert (newcastle.code, newcastle.name, newcastle.sha_code, newcastle.sha_name) == (
        "5D7",
        "Newcastle PCT",
        "Q30",
        "North East",
    )
    assert newcastle.la_codes == (391,)
    (barking,) = health_areas_for_la(301)
    assert (barking.code, barking.sha_name) == ("5C2", "London")
    (havering,) = health_areas_for_la(311)
    assert havering.code == "5A4"
    assert [a.code for a in health_areas_for_la(201)] == ["5C3"]  # City of London with Hackney


def test_health_areas_for_an_unknown_authority() -> None:
    with pytest.raises(KeyError, match="no local authority 999"):
        health_areas_for_la(999)


# --- DuckDB tables ------------------------------------------------------------------------------------------


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    with DuckDBEngine() as warehouse:
        yield warehouse


@pytest.fixture
def con(engine: DuckDBEngine) -> duckdb.DuckDBPyConnection:
    return engine.connection


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_install_reference_tables_counts(con: duckdb.DuckDBPyConnection, engine: DuckDBEngine) -> None:
    counts = install_reference_tables(engine)
    assert counts == {
        "ref_local_authority": 150,
        "ref_region": 9,
        "ref_health_area": 152,
        "ref_health_area_la": 167,
        "ref_code": len([c for name in code_set_names() for c in codes(name)]),
    }
    for table, count in counts.items():
        assert _scalar(con, f"SELECT count(*) FROM {table}") == count


def test_reference_table_columns(con: duckdb.DuckDBPyConnection, engine: DuckDBEngine) -> None:
    install_reference_tables(engine)
    columns = {
        table: [(name, sql_type) for name, sql_type, *_ in con.execute(f"DESCRIBE {table}").fetchall()]
        for table in REFERENCE_TABLES
    }
    assert columns == {
        "ref_local_authority": [
            ("old_la_code", "INTEGER"),
            ("new_la_code", "VARCHAR"),
            ("la_name", "VARCHAR"),
            ("region_code", "VARCHAR"),
            ("region_name", "VARCHAR"),
        ],
        "ref_region": [("region_code", "VARCHAR"), ("region_name", "VARCHAR")],
        "ref_health_area": [
            ("pct_code", "VARCHAR"),
            ("pct_name", "VARCHAR"),
            ("sha_code", "VARCHAR"),
            ("sha_name", "VARCHAR"),
        ],
        "ref_health_area_la": [("pct_code", "VARCHAR"), ("old_la_code", "INTEGER")],
        "ref_code": [("code_set", "VARCHAR"), ("code", "VARCHAR"), ("label", "VARCHAR"), ("grouping", "VARCHAR")],
    }


def test_reference_tables_hold_the_same_data_as_python(con: duckdb.DuckDBPyConnection, engine: DuckDBEngine) -> None:
    install_reference_tables(engine)
    las = con.execute("SELECT old_la_code, new_la_code, la_name, region_code, region_name FROM ref_local_authority")
    assert las.fetchall() == [
        (la.old_code, la.new_code, la.name, la.region.code, la.region.name) for la in local_authorities()
    ]
    assert con.execute("SELECT region_code, region_name FROM ref_region ORDER BY region_code").fetchall() == [
        (r.code, r.name) for r in regions()
    ]
    assert con.execute("SELECT * FROM ref_health_area").fetchall() == [
        (a.code, a.name, a.sha_code, a.sha_name) for a in health_areas()
    ]
    pairs = con.execute("SELECT pct_code, old_la_code FROM ref_health_area_la").fetchall()
    assert sorted(pairs) == sorted((a.code, la) for a in health_areas() for la in a.la_codes)
    fsm = con.execute("SELECT code FROM ref_code WHERE code_set = 'fsm' ORDER BY code").fetchall()
    assert fsm == [("false",), ("true",)]  # kept as text, not read as booleans
    nc = con.execute("SELECT list(code) FROM ref_code WHERE code_set = 'nc_year'").fetchone()
    assert nc == (EXPECTED_CODES["nc_year"],)


def test_reference_tables_join(con: duckdb.DuckDBPyConnection, engine: DuckDBEngine) -> None:
    install_reference_tables(engine)
    unmatched = """
        SELECT count(*) FROM ref_local_authority la
        WHERE NOT EXISTS (SELECT 1 FROM ref_health_area_la m WHERE m.old_la_code = la.old_la_code)
    """
    assert _scalar(con, unmatched) == 0
    per_region = con.execute("""
        SELECT r.region_name, count(*) FROM ref_region r JOIN ref_local_authority la USING (region_code)
        GROUP BY ALL ORDER BY 1
    """).fetchall()
    assert dict(per_region) == LAS_PER_REGION
    birmingham = con.execute("""
        SELECT list(h.pct_code ORDER BY h.pct_code) FROM ref_health_area h JOIN ref_health_area_la m USING (pct_code)
        WHERE m.old_la_code = 330
    """).fetchone()
    assert birmingham == (sorted(SHARED_LAS[330]),)


def test_installing_twice_replaces_the_tables(con: duckdb.DuckDBPyConnection, engine: DuckDBEngine) -> None:
    first = install_reference_tables(engine)
    con.execute("DELETE FROM ref_code")
    assert install_reference_tables(engine) == first
