"""The ground truth, in ``DIR/truth/`` (never read by the pipeline itself, only by tests and quality reports).

- ``truth/people.parquet``: one row per person, their true attributes: ``person_id``, ``sex``, ``dob``,
  ``ethnicity``, ``forename``, ``middle_names``, ``surname`` (legal, latest), ``former_surname``,
  ``preferred_surname``, ``twin_id``, ``home_la``, ``upn``, ``temporary_upn``, ``uln``, ``arrive_year``,
  ``leave_year``, ``from_abroad``, ``sen``, ``eal``, ``survey_id``.
- ``truth/<2008-09>/state.parquet``: each person's true state that year: ``person_id``, ``present``, ``la``,
  ``school_urn``, ``laestab``, ``nc_year``, ``fsm``, ``postcode``, ``moved_la``, ``moved_house``,
  ``college_ukprn``.
- ``truth/<2008-09>/<source>.parquet`` for census, ks1..ks4, ncmp, post16 and survey: one row per record of
  that source and year: ``file`` (the path in the manifest), ``record_index`` (0-based, the pupil's place in
  the XML file or the row after the header in a CSV), ``person_id``, and one true/false column per corruption
  (``upn_missing``, ``upn_wrong``, ``upn_shared``, ``forename_nickname``, ... see ``NoiseRates``), plus
  ``upn_temporary`` (census) and ``preferred_surname``, ``age_days`` (ncmp).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pupildata.synth.names import ethnicities
from pupildata.synth.records import FileEntry, JobResult, codes, names, year_dir, year_label
from pupildata.synth.world import World


def _write(table: pa.Table, path: Path, out: Path, source: str, year: str) -> FileEntry:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    data = path.read_bytes()
    return FileEntry(
        path.relative_to(out).as_posix(), source, year, table.num_rows, hashlib.sha256(data).hexdigest(), len(data)
    )


def write_people(world: World, out: Path) -> FileEntry:
    p, geo = world.people, world.geo
    upn = pa.array(np.ascontiguousarray(p["upn"]).view("S13").ravel()).cast(pa.string())
    temp = pa.array(np.ascontiguousarray(p["temp_upn"]).view("S13").ravel()).cast(pa.string())
    uln = pa.array(np.ascontiguousarray(p["uln"]).view("S10").ravel()).cast(pa.string())
    surname_full = pa.compute.if_else(
        pa.array(p["sur2"] >= 0),
        pa.compute.binary_join_element_wise(names(p["sur"]), names(p["sur2"]), "-"),
        names(p["sur"]),
    )
    table = pa.table(
        {
            "person_id": p["pid"],
            "sex": codes(("M", "F"), p["sex"]),
            "dob": pa.array(p["dob"].astype("datetime64[D]")),
            "ethnicity": codes(tuple(e.code for e in ethnicities()), p["eth"]),
            "forename": names(p["fore"]),
            "middle_names": names(p["middle"]),
            "surname": surname_full,
            "former_surname": names(p["former_sur"]),
            "surname_change_year": pa.array(np.where(p["former_sur"] >= 0, p["sur_change_year"], -1)),
            "preferred_surname": names(p["pref_sur"]),
            "twin_id": p["twin_of"],
            "home_la": geo.la_codes[p["la"]],
            "upn": upn,
            "temporary_upn": pa.compute.if_else(pa.array(p["temp_year"] >= 0), temp, ""),
            "temporary_upn_year": p["temp_year"],
            "uln": pa.compute.if_else(pa.array(p["has_uln"]), uln, ""),
            "arrive_year": p["arrive"],
            "leave_year": p["leave"],
            "from_abroad": p["abroad"],
            "sen": codes(("N", "A", "P", "S"), p["sen"]),
            "eal": p["eal"],
            "survey_id": p["survey_id"],
        }
    )
    return _write(table, out / "truth" / "people.parquet", out, "truth", "")


def write_state(world: World, year: int, out: Path) -> FileEntry:
    state, geo = world.years[year], world.geo
    school = state["school"]
    safe = np.maximum(school, 0)
    college = state["college"]
    table = pa.table(
        {
            "person_id": world.people["pid"],
            "present": state["present"],
            "la": geo.la_codes[state["la"]],
            "school_urn": pa.array(geo.schools.urn[safe], mask=school < 0),
            "laestab": pa.array(geo.laestab[safe], mask=school < 0),
            "nc_year": state["nc"],
            "fsm": state["fsm"],
            "postcode": geo.postcode_strings(state["postcode"]),
            "moved_la": state["moved_la"],
            "moved_house": state["moved_house"],
            "college_ukprn": pa.array(
                geo.college_ukprn[np.maximum(college, 0)]
                if geo.college_ukprn.size
                else np.zeros(college.size, np.int64),
                mask=college < 0,
            ),
        }
    )
    return _write(table, out / "truth" / year_dir(year) / "state.parquet", out, "truth", year_label(year))


def write_records(results: list[JobResult], source: str, year: int, out: Path) -> FileEntry:
    """One truth table for every record a source sent in a year, from its jobs' results in job order."""
    paths: list[str] = []
    columns: dict[str, list[np.ndarray]] = {}
    files: list[np.ndarray] = []
    for result in results:
        files.append(result.truth["file_no"] + len(paths))
        paths.extend(entry.path for entry in result.files)
        for name, values in result.truth.items():
            if name != "file_no":
                columns.setdefault(name, []).append(values)
    indices = np.concatenate(files) if files else np.zeros(0, np.int64)
    table = pa.table(
        {
            "file": pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(paths, pa.string())),
            **{name: np.concatenate(parts) for name, parts in columns.items()},
        }
    )
    return _write(table, out / "truth" / year_dir(year) / f"{source}.parquet", out, "truth", year_label(year))
