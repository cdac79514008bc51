"""Names: forenames by sex and surnames by naming tradition, nicknames and spelling variants.

The lists in ``data/names.csv`` are in rough order of frequency; the chance of a name falls with its rank
(a Zipf-like curve, as real name frequencies do). Each ethnic group draws from a mix of traditions
(``data/ethnicity.csv``), so name distributions differ by group as they do in real returns. Every name, variant
and nickname lives once in one table; people and records hold indices into it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_DATA = resources.files(__package__) / "data"
KINDS = ("forename_m", "forename_f", "surname")
MAX_ALTERNATIVES = 4


def _csv(name: str) -> list[dict[str, str]]:
    with (_DATA / name).open("r", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class Pool:
    """The names of one kind and tradition, with the chance of each."""

    index: npt.NDArray[np.int32]
    cumulative: npt.NDArray[np.float64]

    def draw(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.int32]:
        picks = np.searchsorted(self.cumulative, rng.random(size), side="right")
        return self.index[np.minimum(picks, self.index.size - 1)]


@dataclass(frozen=True)
class NameBook:
    """Every name in one table, the pools to draw from, and each name's nicknames and variants."""

    names: tuple[str, ...]
    pools: dict[tuple[str, str], Pool]
    groups: tuple[str, ...]
    nicknames: npt.NDArray[np.int32]  # (names, MAX_ALTERNATIVES), -1 padded
    variants: npt.NDArray[np.int32]  # forename spellings and surname variants alike

    @property
    def table(self) -> pa.StringArray:
        return _arrow_table(self.names)

    def alternative(
        self, table: npt.NDArray[np.int32], idx: npt.NDArray[np.int32], rng: np.random.Generator
    ) -> npt.NDArray[np.int32]:
        """One alternative per name (chosen at random where there are several), -1 where there is none."""
        options = table[idx]
        counts = (options >= 0).sum(axis=1)
        pick = (rng.random(idx.size) * np.maximum(counts, 1)).astype(np.int64)
        chosen = options[np.arange(idx.size), np.minimum(pick, MAX_ALTERNATIVES - 1)]
        return np.where(counts > 0, chosen, -1).astype(np.int32)

    def mix_draw(
        self, kind: str, mixes: list[list[tuple[str, float]]], mix_of: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> npt.NDArray[np.int32]:
        """Names of ``kind`` for people whose naming mix is ``mixes[mix_of[i]]``."""
        out = np.full(mix_of.size, -1, dtype=np.int32)
        tradition = np.full(mix_of.size, -1, dtype=np.int64)
        draws = rng.random(mix_of.size)
        for m, mix in enumerate(mixes):
            members = mix_of == m
            if not members.any():
                continue
            shares = np.cumsum([share for _, share in mix])
            shares /= shares[-1]
            pick = np.minimum(np.searchsorted(shares, draws[members], side="right"), len(mix) - 1)
            tradition[members] = np.array([self.groups.index(g) for g, _ in mix])[pick]
        for g, group in enumerate(self.groups):
            members = np.flatnonzero(tradition == g)
            if members.size:
                out[members] = self.pools[(kind, group)].draw(rng, members.size)
        return out


@cache
def _arrow_table(names: tuple[str, ...]) -> pa.StringArray:
    return pa.array(names, type=pa.string())


@cache
def name_book() -> NameBook:
    """Load the name lists once."""
    names: dict[str, int] = {}

    def idx(name: str) -> int:
        return names.setdefault(name, len(names))

    pools: dict[tuple[str, str], Pool] = {}
    groups: list[str] = []
    for row in _csv("names.csv"):
        listed = list(dict.fromkeys(row["names"].split()))
        weights = 1.0 / (np.arange(len(listed)) + 3.0)
        pools[(row["kind"], row["group"])] = Pool(
            np.array([idx(n) for n in listed], dtype=np.int32), np.cumsum(weights) / weights.sum()
        )
        if row["group"] not in groups:
            groups.append(row["group"])
    alternatives: dict[str, list[tuple[int, int]]] = {"nickname": [], "spelling": []}
    for row in _csv("name_variants.csv"):
        alternatives[row["kind"]].append((idx(row["name"]), idx(row["variant"])))
    for row in _csv("surname_variants.csv"):
        alternatives["spelling"].append((idx(row["surname"]), idx(row["variant"])))
    size = len(names)
    return NameBook(
        names=tuple(names),
        pools=pools,
        groups=tuple(groups),
        nicknames=_padded(alternatives["nickname"], size),
        variants=_padded(alternatives["spelling"], size),
    )


def _padded(pairs: list[tuple[int, int]], size: int) -> npt.NDArray[np.int32]:
    table = np.full((size, MAX_ALTERNATIVES), -1, dtype=np.int32)
    filled = np.zeros(size, dtype=np.int64)
    for name, variant in pairs:
        if filled[name] < MAX_ALTERNATIVES:
            table[name, filled[name]] = variant
            filled[name] += 1
    return table


@dataclass(frozen=True)
class Ethnicity:
    """One ethnicity code and what depends on it."""

    code: str
    eal_rate: float
    fsm_logit: float
    ability: float
    mix: list[tuple[str, float]]
    regional_weight: dict[str, float]


@cache
def ethnicities() -> tuple[Ethnicity, ...]:
    """The census ethnicity codes with their naming mix and regional weights (WBRI's weight is its share)."""
    out = []
    for row in _csv("ethnicity.csv"):
        mix = [(part.split(":")[0], float(part.split(":")[1])) for part in row["name_groups"].split()]
        regional = {k: float(v) for k, v in row.items() if k.startswith("E12")}
        out.append(
            Ethnicity(
                row["code"], float(row["eal_rate"]), float(row["fsm_logit"]), float(row["ability"]), mix, regional
            )
        )
    return tuple(out)


def ethnicity_codes() -> pa.StringArray:
    return pa.array([e.code for e in ethnicities()], type=pa.string())
