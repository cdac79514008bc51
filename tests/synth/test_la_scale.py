"""Properties of one LA-scale generation (Peterborough and Rutland, 2006/07 to 2008/09)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np
import pyarrow.compute as pc

from pupildata.kernel.identifiers import check_uln, check_upn, normalise_postcode

YEARS = ("2006-07", "2007-08", "2008-09")

SOURCES = ("census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey")


def test_every_year_has_every_source(la_output) -> None:
    for year in YEARS:
        for folder in ("census", "ks", "ncmp", "post16", "survey"):
            assert any((la_output.root / year / folder).iterdir()), (year, folder)
    assert la_output.manifest["seed"] == 2009
    assert 25_000 <= sum(f["records"] for f in la_output.files("census") if f["year"] == "2008/09") <= 36_000


def test_manifest_hashes_match_the_files(la_output) -> None:
    for entry in la_output.manifest["files"] + la_output.manifest["truth"]:
        data = (la_output.root / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
        assert len(data) == entry["bytes"]


def test_every_truth_id_resolves_and_covers_every_record(la_output) -> None:
    people = set(la_output.people.column("person_id").to_pylist())
    records = {f["path"]: f["records"] for f in la_output.manifest["files"]}
    for year in YEARS:
        for source in SOURCES:
            table = la_output.truth(f"{year}/{source}.parquet")
            assert set(table.column("person_id").to_pylist()) <= people
            counts = Counter(table.column("file").to_pylist())
            for path, n in counts.items():
                assert records[path] == n
            per_file = Counter(
                zip(table.column("file").to_pylist(), table.column("record_index").to_pylist(), strict=True)
            )
            assert max(per_file.values()) == 1


def test_census_xml_is_well_formed_and_escaped(la_output) -> None:
    rows = la_output.census("2008-09")
    assert rows
    surnames = {r["Surname"] for r in rows}
    forenames = {r["Forename"] for r in rows}
    assert any("'" in s for s in surnames), "an apostrophe surname such as O'Brien"
    assert any(re.search(r"[^\x00-\x7f]", s) for s in surnames | forenames), "an accented name such as Zoë"
    sample = next((la_output.root / "2008-09" / "census").glob("*.xml")).read_bytes()
    assert sample.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert {r["Gender"] for r in rows} == {"M", "F"}
    assert {r["NCyearActual"] for r in rows} >= {"R", "1", "6", "7", "11", "12"}


def _flags(output, path: str) -> dict[tuple[str, int], dict[str, bool]]:
    table = output.truth(path).to_pylist()
    return {(r["file"], r["record_index"]): r for r in table}


def test_census_upns_valid_unless_corrupted(la_output) -> None:
    flags = _flags(la_output, "2008-09/census.parquet")
    for row in la_output.census("2008-09"):
        truth = flags[(row["file"], int(row["record_index"]))]
        if truth["upn_missing"]:
            assert row["UPN"] == ""
        elif truth["upn_wrong"]:
            assert not check_upn(row["UPN"]).valid
        else:
            assert check_upn(row["UPN"]).valid, row["UPN"]
            assert check_upn(row["UPN"]).temporary == truth["upn_temporary"]


def _upn_problem_rate(output, path: str, rows: list[dict[str, str]]) -> float:
    bad = sum(1 for r in rows if not r["UPN"] or not check_upn(r["UPN"]).valid)
    table = output.truth(path)
    flagged = pc.sum(pc.or_(table["upn_missing"], table["upn_wrong"])).as_py()
    assert bad == flagged
    return bad / len(rows)


def test_missing_or_wrong_upns_between_one_and_three_percent(la_output) -> None:
    ks_rows = [r for y in YEARS for s in ("ks2", "ks4") for r in la_output.csv_rows(f"{y}/ks/{s}.csv")]
    ks_bad = sum(1 for r in ks_rows if not r["UPN"] or not check_upn(r["UPN"]).valid) / len(ks_rows)
    assert 0.01 <= ks_bad <= 0.03
    census = la_output.census("2008-09")
    rate = _upn_problem_rate(la_output, "2008-09/census.parquet", census)
    assert 0.005 <= rate <= 0.03


def test_ks_upns_valid_unless_corrupted(la_output) -> None:
    for stage in ("ks1", "ks2", "ks3", "ks4"):
        rows = la_output.csv_rows(f"2007-08/ks/{stage}.csv")
        truth = la_output.truth(f"2007-08/{stage}.parquet").to_pylist()
        for row, t in zip(rows, truth, strict=True):
            if not (t["upn_missing"] or t["upn_wrong"]):
                assert check_upn(row["UPN"]).valid


def test_ulns_valid_unless_corrupted(la_output) -> None:
    for year in YEARS:
        rows = la_output.csv_rows(f"{year}/post16/learners.csv")
        truth = la_output.truth(f"{year}/post16.parquet").to_pylist()
        assert rows
        for row, t in zip(rows, truth, strict=True):
            valid = bool(row["ULN"]) and check_uln(row["ULN"]).valid
            assert valid == (not (t["upn_missing"] or t["upn_wrong"]))


def test_shared_upns_present(la_output) -> None:
    owners: dict[str, set[int]] = {}
    for row, truth in la_output.census_truth("2008-09"):
        if row["UPN"]:
            owners.setdefault(row["UPN"], set()).add(truth["person_id"])
    assert any(len(pids) > 1 for pids in owners.values())


def test_temporary_upns_are_replaced_and_kept_as_former(la_output) -> None:
    people = {r["person_id"]: r for r in la_output.people.to_pylist() if r["temporary_upn"]}
    assert people
    replaced = 0
    for year in YEARS[1:]:
        for row, truth in la_output.census_truth(year):
            if row["FormerUPN"]:
                person = people[truth["person_id"]]
                assert row["FormerUPN"] == person["temporary_upn"]
                assert check_upn(row["FormerUPN"]).temporary
                replaced += 1
    assert replaced > 0


def test_twins_are_two_people_with_one_surname_birthday_and_home(la_output) -> None:
    people = {r["person_id"]: r for r in la_output.people.to_pylist()}
    state = {r["person_id"]: r for r in la_output.truth("2008-09/state.parquet").to_pylist()}
    pairs = [(a, r["twin_id"]) for a, r in people.items() if r["twin_id"] > a]
    assert len(pairs) > 100
    together = 0
    for a, b in pairs:
        assert a != b
        assert people[a]["surname"] == people[b]["surname"]
        assert people[a]["dob"] == people[b]["dob"]
        if state[a]["present"] and state[b]["present"]:
            assert state[a]["postcode"] == state[b]["postcode"]
            together += state[a]["school_urn"] == state[b]["school_urn"]
    assert together > 50


def test_pupils_move_between_schools_and_las(la_output) -> None:
    before = {r["person_id"]: r for r in la_output.truth("2007-08/state.parquet").to_pylist()}
    after = la_output.truth("2008-09/state.parquet").to_pylist()
    school_moves = la_moves = postcode_changes = 0
    for row in after:
        old = before[row["person_id"]]
        if row["present"] and old["present"] and row["school_urn"] and old["school_urn"]:
            same_phase = 1 <= row["nc_year"] <= 6 or 8 <= row["nc_year"] <= 11
            school_moves += same_phase and row["school_urn"] != old["school_urn"]
            la_moves += row["la"] != old["la"]
        if row["moved_house"]:
            postcode_changes += row["postcode"] != old["postcode"]
    assert school_moves > 100
    assert la_moves > 20
    assert postcode_changes > 1000


def test_joiners_and_leavers(la_output) -> None:
    people = la_output.people
    assert pc.sum(pc.equal(people["arrive_year"], 2008)).as_py() > 100
    assert pc.sum(pc.equal(people["leave_year"], 2008)).as_py() > 100


def test_pupil_characteristics_are_plausible(la_output) -> None:
    census = la_output.census("2008-09")
    n = len(census)
    fsm = sum(r["FSMeligible"] == "true" for r in census) / n
    sen = Counter(r["SENprovision"] for r in census)
    eal = sum(r["Language"] == "OTH" for r in census) / n
    wbri = sum(r["Ethnicity"] == "WBRI" for r in census) / n
    assert 0.05 <= fsm <= 0.35
    assert 0.13 <= (sen["A"] + sen["P"]) / n <= 0.24
    assert 0.015 <= sen["S"] / n <= 0.04
    assert 0.01 <= eal <= 0.35
    assert 0.55 <= wbri <= 0.97


def test_national_ethnic_mix_is_about_78_percent_white_british() -> None:
    from pupildata.synth.config import Scale, SynthConfig
    from pupildata.synth.places import build_geography
    from pupildata.synth.population import ethnicity_shares

    geo = build_geography(SynthConfig(scale=Scale.national))
    rng = np.random.default_rng(0)
    shares = np.array([ethnicity_shares(r, rng, 0.78)[0] for r in geo.region_codes])
    national = float((shares * geo.pupils).sum() / geo.pupils.sum())
    assert 0.74 <= national <= 0.82
    assert geo.schools.urn.size > 20_000


def test_some_very_small_schools(la_output) -> None:
    sizes = [f["records"] for f in la_output.files("census") if f["year"] == "2008/09"]
    assert min(sizes) < 50
    assert max(sizes) > 800


def test_names_differ_by_ethnic_group(la_output) -> None:
    by_group: dict[str, Counter[str]] = {}
    for row in la_output.people.to_pylist():
        by_group.setdefault(row["ethnicity"], Counter())[row["surname"].split("-")[0]] += 1
    top_white = {name for name, _ in by_group["WBRI"].most_common(5)}
    top_pakistani = {name for name, _ in by_group["APKN"].most_common(5)}
    assert top_white.isdisjoint(top_pakistani)
    assert top_pakistani & {"Khan", "Hussain", "Ahmed", "Ali", "Akhtar", "Mahmood"}


def test_corruptions_are_what_the_truth_says(la_output) -> None:
    people = {r["person_id"]: r for r in la_output.people.to_pylist()}
    rows = la_output.csv_rows("2008-09/ks/ks2.csv") + la_output.csv_rows("2007-08/ks/ks2.csv")
    truth = la_output.truth("2008-09/ks2.parquet").to_pylist() + la_output.truth("2007-08/ks2.parquet").to_pylist()
    seen = Counter()
    for row, t in zip(rows, truth, strict=True):
        person = people[t["person_id"]]
        dob = person["dob"].strftime("%d/%m/%Y")
        if t["dob_swapped"]:
            assert row["DOB"] == person["dob"].strftime("%m/%d/%Y")
        elif not t["dob_typo"]:
            assert row["DOB"] == dob
        if t["names_swapped"]:
            seen["swapped"] += 1
        elif not any(t[k] for k in ("forename_nickname", "forename_variant", "forename_typo")):
            assert row["Forenames"] == person["forename"]
        for flag in ("forename_nickname", "forename_typo", "surname_typo", "dob_swapped", "upn_missing"):
            seen[flag] += t[flag]
    assert all(seen[k] > 0 for k in ("forename_nickname", "forename_typo", "surname_typo", "upn_missing"))


def test_postcodes_are_valid_everywhere(la_output) -> None:
    for year in YEARS:
        for relative, column in (
            ("ncmp/PCT874.csv", "Postcode"),
            ("post16/learners.csv", "Postcode"),
            ("survey/responses.csv", "Postcode"),
        ):
            for row in la_output.csv_rows(f"{year}/{relative}"):
                assert normalise_postcode(row[column]) == row[column]
        for row in la_output.census(year)[:5000]:
            assert normalise_postcode(row["PostCode"]) == row["PostCode"]


def test_stale_postcodes_after_moving(la_output) -> None:
    truth = la_output.truth("2008-09/ncmp.parquet")
    assert pc.sum(truth["postcode_stale"]).as_py() > 0


def test_survey_names_are_typed_oddly(la_output) -> None:
    rows = la_output.csv_rows("2008-09/survey/responses.csv")
    assert rows
    odd = [r for r in rows if r["LastName"].isupper() or r["LastName"].islower()]
    assert odd
    waves = {r["Wave"] for y in YEARS for r in la_output.csv_rows(f"{y}/survey/responses.csv")}
    assert waves == {"1", "2", "3"}
    first = {r["RespondentID"] for r in la_output.csv_rows("2006-07/survey/responses.csv")}
    assert {r["RespondentID"] for r in rows} < first


def test_attainment_follows_prior_attainment_and_free_meals(la_output) -> None:
    order = {g: i for i, g in enumerate(["U", "G", "F", "E", "D", "C", "B", "A", "A*"])}
    ks3 = dict(
        zip(
            la_output.truth("2006-07/ks3.parquet").column("person_id").to_pylist(),
            (int(r["MathsTA"]) for r in la_output.csv_rows("2006-07/ks/ks3.csv")),
            strict=True,
        )
    )
    ks4 = dict(
        zip(
            la_output.truth("2008-09/ks4.parquet").column("person_id").to_pylist(),
            (order[r["MathsGrade"]] for r in la_output.csv_rows("2008-09/ks/ks4.csv")),
            strict=True,
        )
    )
    both = sorted(set(ks3) & set(ks4))
    assert len(both) > 1000
    assert np.corrcoef([ks3[p] for p in both], [ks4[p] for p in both])[0, 1] > 0.5
    state = {r["person_id"]: r["fsm"] for r in la_output.truth("2008-09/state.parquet").to_pylist()}
    rows = la_output.csv_rows("2008-09/ks/ks2.csv")
    pids = la_output.truth("2008-09/ks2.parquet").column("person_id").to_pylist()
    level4 = {True: [], False: []}
    for row, pid in zip(rows, pids, strict=True):
        level4[state[pid]].append(row["EnglishLevel"] in ("4", "5"))
    assert 0.7 <= np.mean(level4[False]) <= 0.92
    assert np.mean(level4[False]) - np.mean(level4[True]) > 0.1
