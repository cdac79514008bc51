"""One LA-scale generation per test run, shared by the property tests."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pupildata.synth.config import Scale, SynthConfig
from pupildata.synth.generate import generate

YEARS = ("2006-07", "2007-08", "2008-09")


@dataclass
class Output:
    """A generated folder and readers for what is in it."""

    root: Path
    manifest: dict
    _cache: dict = field(default_factory=dict)

    def truth(self, relative: str) -> pa.Table:
        if relative not in self._cache:
            self._cache[relative] = pq.read_table(self.root / "truth" / relative)
        return self._cache[relative]

    @property
    def people(self) -> pa.Table:
        return self.truth("people.parquet")

    def csv_rows(self, relative: str) -> list[dict[str, str]]:
        key = ("csv", relative)
        if key not in self._cache:
            with (self.root / relative).open(encoding="utf-8", newline="") as handle:
                self._cache[key] = list(csv.DictReader(handle))
        return self._cache[key]

    def census(self, year: str) -> list[dict[str, str]]:
        """Every pupil of a year's census as a flat dict, with the file and record index."""
        key = ("census", year)
        if key not in self._cache:
            rows = []
            for path in sorted((self.root / year / "census").glob("*.xml")):
                relative = path.relative_to(self.root).as_posix()
                for n, pupil in enumerate(ET.parse(path).getroot().iter("Pupil")):
                    row = {child.tag: (child.text or "") for child in pupil}
                    row["PostCode"] = pupil.findtext("Address/PostCode") or ""
                    row["file"], row["record_index"] = relative, str(n)
                    rows.append(row)
            self._cache[key] = rows
        return self._cache[key]

    def census_truth(self, year: str) -> list[tuple[dict[str, str], dict]]:
        """Each census pupil with the truth of that record."""
        truth = {(t["file"], t["record_index"]): t for t in self.truth(f"{year}/census.parquet").to_pylist()}
        return [(row, truth[(row["file"], int(row["record_index"]))]) for row in self.census(year)]

    def files(self, source: str) -> list[dict]:
        return [f for f in self.manifest["files"] if f["source"] == source]


@cache
def _generate(root: Path) -> Output:
    generate(SynthConfig(scale=Scale.la, workers=2), root)
    return Output(root, json.loads((root / "manifest.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def la_output(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return _generate(tmp_path_factory.mktemp("synth-la"))
