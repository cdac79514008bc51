"""Reference data shipped with the package: local authorities and regions of 2008/09, health areas, code sets.

The files live in ``data/`` beside this module, as CSV that a person can read and correct. Everything here is
loaded once and cached.
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
