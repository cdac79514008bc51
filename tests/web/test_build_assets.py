from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_assets.py"


@pytest.fixture(scope="module")
def build_assets() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_assets", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_npm(root: Path) -> None:
    package = root / "node_modules" / "govuk-frontend"
    dist = package / "dist" / "govuk"
    (dist / "assets" / "fonts").mkdir(parents=True)
    (dist / "assets" / "images").mkdir(parents=True)
    (dist / "assets" / "fonts" / "bold.woff2").write_bytes(b"font")
    (dist / "govuk-frontend.min.css").write_text("css", encoding="utf-8")
    (dist / "govuk-frontend.min.js").write_text("js", encoding="utf-8")
    (dist / "all.bundle.js").write_text("not copied", encoding="utf-8")
    (package / "package.json").write_text(json.dumps({"version": "6.3.0"}), encoding="utf-8")


def test_copies_the_compiled_files(build_assets: ModuleType, tmp_path: Path) -> None:
    _fake_npm(tmp_path)
    stale = tmp_path / "src" / "pupildata" / "web" / "static" / "govuk" / "stale.css"
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")
    assert build_assets.main(["--root", str(tmp_path)]) == 0
    target = tmp_path / "src" / "pupildata" / "web" / "static" / "govuk"
    assert (target / "govuk-frontend.min.css").read_text(encoding="utf-8") == "css"
    assert (target / "assets" / "fonts" / "bold.woff2").read_bytes() == b"font"
    assert (target / "VERSION").read_text(encoding="utf-8").strip() == "6.3.0"
    assert not (target / "all.bundle.js").exists()
    assert not stale.exists()
    assert not target.with_name("govuk.tmp").exists()


def test_says_to_run_npm_first(build_assets: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="npm ci"):
        build_assets.build(tmp_path)
