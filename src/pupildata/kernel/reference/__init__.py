"""Reference data shipped with the package: local authorities and regions of 2008/09, health areas, code sets.

The files live in ``data/`` beside this module, as CSV that a person can read and correct. Everything here is
loaded once and cached.

Health areas are the 152 primary care trusts of 2008/09 (``primary_care_trusts_2008.csv``: NHS organisation code,
name, strategic health authority) and the local authorities each covered (``pct_la_2008.csv``, one row per pair).
The pairs record which authorities a trust served in substance; slivers where a boundary strayed by a few streets
are not listed. Care trusts, which combined a PCT with social care, carry T codes (TAC Northumberland, ...).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DATA = resources.files(__package__) / "data"


@dataclass(frozen=True)
class Region:
    code: str
    name: str


@dataclass(frozen=True)
class LocalAuthority:
    old_code: int  # the three-digit LA number used in UPNs and LAESTABs
    new_code: str  # the nine-character ONS code
    name: str
    region: Region


@dataclass(frozen=True)
class HealthArea:
    """A primary care trust (PCT) of 2008/09, the health area that child measurement results are reported by.

    PCTs and local authorities are many-to-many: most PCTs matched one authority, but some counties had several
    PCTs (Lancashire three, Essex five, Birmingham three) and some PCTs covered several authorities (North
    Yorkshire and York; Tameside and Glossop, which reached into Derbyshire). ``la_codes`` are the old
    three-digit codes of the authorities the PCT covered, in ascending order.
    """

    code: str  # the NHS organisation code, e.g. 5D7
    name: str
    sha_code: str  # the strategic health authority, Q30..Q39
    sha_name: str
    la_codes: tuple[int, ...]


@dataclass(frozen=True)
class Code:
    code_set: str
    code: str
    label: str
    grouping: str


def _rows(name: str) -> list[dict[str, str]]:
    with (_DATA / name).open("r", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    """The 150 English local authorities of the 2008/09 school year, in file order."""
    return tuple(
        LocalAuthority(
            int(r["old_la_code"]), r["new_la_code"], r["la_name"], Region(r["region_code"], r["region_name"])
        )
        for r in _rows("local_authorities_2008.csv")
    )


@cache
def la_by_code() -> dict[int, LocalAuthority]:
    return {la.old_code: la for la in local_authorities()}


@cache
def la_codes() -> frozenset[int]:
    return frozenset(la_by_code())


@cache
def regions() -> tuple[Region, ...]:
    """The nine English regions, in code order."""
    return tuple(sorted({la.region for la in local_authorities()}, key=lambda r: r.code))


@cache
def health_areas() -> tuple[HealthArea, ...]:
    """The 152 primary care trusts of England in 2008/09, by strategic health authority then name."""
    la_codes_of: dict[str, list[int]] = {}
    for row in _rows("pct_la_2008.csv"):
        la_codes_of.setdefault(row["pct_code"], []).append(int(row["old_la_code"]))
    return tuple(
        HealthArea(
            r["pct_code"],
            r["pct_name"],
            r["sha_code"],
            r["sha_name"],
            tuple(sorted(la_codes_of.get(r["pct_code"], []))),
        )
        for r in _rows("primary_care_trusts_2008.csv")
    )


@cache
def health_area_by_code() -> dict[str, HealthArea]:
    return {area.code: area for area in health_areas()}


@cache
def health_areas_for_la(old_code: int) -> tuple[HealthArea, ...]:
    """The health areas that cover a local authority (one or more), in file order."""
    if old_code not in la_by_code():
        raise KeyError(f"there is no local authority {old_code}")
    return tuple(area for area in health_areas() if old_code in area.la_codes)


@cache
def codes(code_set: str) -> tuple[Code, ...]:
    """The codes of one school-census code set (ethnicity, sen_provision, fsm, first_language, ...)."""
    found = tuple(
        Code(r["code_set"], r["code"], r["label"], r["grouping"])
        for r in _rows("code_sets.csv")
        if r["code_set"] == code_set
    )
    if not found:
        raise KeyError(f"there is no code set called {code_set!r}")
    return found


@cache
def code_set_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys(r["code_set"] for r in _rows("code_sets.csv")))
