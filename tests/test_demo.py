"""`pupildata demo --no-serve`: the main job makes the home and its stores and records what it did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pupildata.cli import main
from pupildata.kernel.context import Context, health_checks
from pupildata.settings import Settings
from pupildata.web.app import create_app


def test_demo_builds_the_stores_and_records_a_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert main(["demo", "--no-serve", "--home", str(home), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["home"] == str(home.resolve())
    assert "stores" in summary["steps"]
    assert (home / "warehouse.duckdb").is_file()
    assert (home / "registry.sqlite").is_file()
    assert (home / "keys" / "spine.key").is_file()
    with Context(Settings(home=home)) as ctx:
        run = ctx.runs.get(summary["run_id"])
        assert run is not None
        assert run.status == "succeeded"
        assert ctx.warehouse.scalar("SELECT count(*) FROM ref_local_authority") == 150
        actions = [e.action for e in ctx.audit.events()]  # newest first
        assert actions[0] == "demo.run"
        assert "collect.run" in actions
        assert ctx.runs.recent("link", 1)[0].status == "succeeded"
        assert ctx.warehouse.scalar("SELECT count(*) FROM link_member") == summary["steps"]["collect"]["accepted"]
        assert ctx.audit.verify().ok
    manifest = json.loads((home / "synth" / "manifest.json").read_text())
    collected = summary["steps"]["collect"]
    assert collected["files"] == len(manifest["files"])
    assert collected["rejected files"] == 0
    assert collected["accepted"] + collected["quarantined"] == sum(f["records"] for f in manifest["files"])
    linked = summary["steps"]["link"]
    assert 0 < linked["people on the spine"] < collected["accepted"]
    assert linked["records"] == collected["accepted"]
    sources = {"census", "ks1", "ks2", "ks3", "ks4", "ncmp", "post16", "survey"}
    assert set(linked["match rate by source"]) == sources
    assert all(rate > 0.8 for rate in linked["match rate by source"].values())
    truth = linked["checked against the generator's truth (pairs of records)"]
    assert set(truth) == sources
    for source, measured in truth.items():
        assert measured["precision"] >= 0.999, source
        assert measured["recall"] >= 0.995, source


def test_health_reports_the_stores(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    with Context(settings) as ctx:
        ctx.registry  # noqa: B018 - creates and migrates the registry
    client = TestClient(create_app(settings, checks=health_checks(settings)))
    response = client.get("/api/v1/health")
    assert response.status_code == 503  # no warehouse yet
    assert response.json()["checks"] == {"registry": "ok", "warehouse": "failed"}
    with Context(settings) as ctx:
        ctx.warehouse.execute("SELECT 1")
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_summary_shows_counts_with_thousands_separated() -> None:
    from pupildata.demo import _count

    assert _count(139974) == "139,974"
    assert _count(4) == "4"
    assert _count(True) is True  # a flag is no count
    assert _count(0.999457) == 0.999457
    assert _count("4 of 4") == "4 of 4"
