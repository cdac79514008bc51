"""Publishing several releases with disclosure control in worker processes: the same files as one process, and a
release that fails is recorded, writes nothing and stops the ones after it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pupildata.errors import DataError
from pupildata.kernel.context import Context
from pupildata.kernel.engine import open_warehouse
from pupildata.policy import Disclosure
from pupildata.publish.releases import RELEASES
from pupildata.publish.service import publish_releases
from pupildata.publish.specs import ReleaseSpec, TableSpec
from pupildata.settings import Settings

from .warehouse import make_warehouse

POLICY = Disclosure(solver_time_limit_seconds=60)
#: Two releases in flight at once: child measurement, and the same tables published as a second release.
SPECS = (RELEASES["child-measurement"], replace(RELEASES["child-measurement"], name="child-measurement-again"))
NAMES = [spec.name for spec in SPECS]


def _home(path: Path) -> Settings:
    settings = Settings(home=path)
    with open_warehouse(settings.warehouse) as engine:
        make_warehouse(engine, per_school_year=150)
    return settings


def _timeless(value: Any) -> Any:
    """A release's record without the seconds things took (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "seconds" and not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _files(folder: Path) -> dict[str, Any]:
    return {
        p.name: _timeless(json.loads(p.read_text())) if p.suffix == ".json" else p.read_text()
        for p in sorted(folder.iterdir())
    }


def test_workers_publish_the_same_files_as_one_process(tmp_path: Path) -> None:
    published = {}
    for workers in (0, 2):
        settings = _home(tmp_path / f"workers-{workers}")
        with Context(settings) as ctx:
            results = publish_releases(ctx, SPECS, 2008, POLICY, workers=workers)
        assert [r["release"] for r in results if isinstance(r, dict)] == NAMES
        published[workers] = {n: _files(settings.outputs_dir / "releases" / n / "200809") for n in NAMES}
    for name in NAMES:
        assert published[0][name].keys() == published[2][name].keys()
        for file, text in published[0][name].items():
            assert published[2][name][file] == text, (name, file)


def _nothing_for_2008() -> ReleaseSpec:
    table = TableSpec("ks9", "Key stage 9", "attainment", ("la",), where=(("key_stage", "9"),))
    return ReleaseSpec("nothing", "Nothing", "nobody", "A table with no records.", (table,))


def test_a_failing_release_writes_nothing_and_stops_the_ones_after_it(tmp_path: Path) -> None:
    settings = _home(tmp_path / "home")
    specs = [RELEASES["child-measurement"], _nothing_for_2008(), RELEASES["post16-participation"]]
    with Context(settings) as ctx, pytest.raises(DataError, match="has no records"):
        publish_releases(ctx, specs, 2008, POLICY, workers=2)
    releases = settings.outputs_dir / "releases"
    assert sorted(p.name for p in releases.iterdir()) == ["child-measurement"]
    with Context(settings) as ctx:
        runs = {r.parameters["release"]: r for r in ctx.runs.recent("publish")}
    assert runs["child-measurement"].status == "succeeded"
    assert runs["nothing"].status == "failed"
    assert "has no records" in (runs["nothing"].error or "")
    assert "post16-participation" not in runs  # never started


def test_an_error_in_a_worker_is_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    settings = _home(tmp_path / "home")
    hurried = Disclosure(solver_time_limit_seconds=0.01)
    with Context(settings) as ctx:
        [result] = publish_releases(ctx, [RELEASES["attainment"]], 2008, hurried, workers=1, keep_going=True)
        [run] = ctx.runs.recent("publish")
    assert isinstance(result, DataError)
    assert "nothing was published" in str(result)
    assert run.status == "failed"
    assert not (settings.outputs_dir / "releases").exists()
