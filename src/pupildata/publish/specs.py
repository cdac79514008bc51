"""Release specs: what each release publishes, declared as data and checked before any work starts.

A release has tables. A table reads one source, restricted by ``where``; it is broken down by one or more
geographies (local authorities in regions, health areas, or schools in authorities in regions; the first is
published, any other is solved with it through the hidden cells where the two cross, so differencing between
them is seen), by ``filters`` crossed with each other, and by each of its ``breakdowns`` (pupil characteristics)
in turn — each breakdown is its own additive table, and they share their totals, so disclosure control protects
them together. An ``outcome`` is a categorical column whose categories partition the population (e.g. BMI
category, or at the expected level or not): each category is published as a count and a percentage of the
population. ``means`` are averages of numeric columns. ``eligible`` names a second source counted the same way,
for participation. All tables of a release use the highest threshold any of them sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pupildata.errors import UsageError
from pupildata.policy import Disclosure
from pupildata.publish import sources
from pupildata.publish.contract import CODES

GEOGRAPHIES = ("la", "health_area", "school")


@dataclass(frozen=True)
class Filter:
    field: str
    codes: tuple[tuple[str, str], ...] = ()  # (code, label); empty: the characteristic's own code list

    def code_list(self) -> tuple[tuple[str, str], ...]:
        return self.codes or CODES.get(self.field, ())


@dataclass(frozen=True)
class Outcome:
    field: str
    categories: tuple[tuple[str, str], ...]  # (code, label): together they make up the population
    parts: tuple[tuple[str, str, str], ...] = ()  # (column, label, category): a published part of a category
    label: str = "Pupils"  # what the population is called
    confidence: bool = False  # 95% Wilson intervals for each percentage


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    source: str
    geography: tuple[str, ...] = ("la",)
    where: tuple[tuple[str, str], ...] = ()
    filters: tuple[Filter, ...] = ()
    breakdowns: tuple[str, ...] = ()
    outcome: Outcome | None = None
    means: tuple[tuple[str, str, str], ...] = ()  # (column, label, unit)
    eligible: str | None = None
    threshold: int | None = None


@dataclass(frozen=True)
class ReleaseSpec:
    name: str
    title: str
    recipient: str
    summary: str
    tables: tuple[TableSpec, ...] = field(default_factory=tuple)


def validate(release: ReleaseSpec, disclosure: Disclosure) -> None:
    """One clear sentence (a ``UsageError``) for the first thing wrong; nothing has been published."""
    for table in release.tables:
        where = f"release {release.name}, table {table.name}"
        if table.source not in sources.COLUMNS:
            raise UsageError(f"In {where}: unknown source '{table.source}' (known: {', '.join(sources.COLUMNS)}).")
        known = sources.COLUMNS[table.source]
        named = [f for f, _ in table.where] + [f.field for f in table.filters] + list(table.breakdowns)
        named += [c for c, _, _ in table.means] + ([table.outcome.field] if table.outcome else [])
        named += [c for c, _, _ in table.outcome.parts] if table.outcome else []
        for name in named:
            if name not in known:
                raise UsageError(f"In {where}: unknown field '{name}' in source {table.source}.")
        for name in [f.field for f in table.filters if not f.codes] + list(table.breakdowns):
            if name not in CODES:
                raise UsageError(f"In {where}: field '{name}' has no code list; give the filter its codes.")
        for geography in table.geography:
            if geography not in GEOGRAPHIES:
                raise UsageError(f"In {where}: unknown geography '{geography}' (known: {', '.join(GEOGRAPHIES)}).")
            if geography == "health_area" and "health_area_code" not in known:
                raise UsageError(f"In {where}: source {table.source} has no health areas.")
        if table.eligible and table.eligible not in sources.COLUMNS:
            raise UsageError(f"In {where}: unknown eligible source '{table.eligible}'.")
        if table.threshold is not None and table.threshold < disclosure.min_frequency_floor:
            raise UsageError(
                f"In {where}: threshold {table.threshold} is below the policy's floor "
                f"disclosure.min_frequency_floor {disclosure.min_frequency_floor}."
            )


def threshold(table: TableSpec, disclosure: Disclosure) -> int:
    return table.threshold if table.threshold is not None else disclosure.min_frequency
