"""Synthetic data for the matching tests: one `la`-scale folder, generated once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pupildata.kernel.context import Context
from pupildata.link import pipeline, synthetic
from pupildata.settings import Settings
from pupildata.synth import generate, make_config


@pytest.fixture(scope="session")
def la_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "la"
    generate(make_config("la", None, "2006/07..2008/09", 2009, out), out)
    return out


@pytest.fixture(scope="session")
def linked_la(tmp_path_factory: pytest.TempPathFactory, la_folder: Path) -> Iterator[Context]:
    """A home whose spine holds every record of the `la` folder, linked in one run."""
    home = tmp_path_factory.mktemp("linked") / "home"
    with Context(Settings(home=home)) as ctx:
        synthetic.load(ctx.warehouse, la_folder)
        ctx.run_counts = pipeline.run(ctx)  # type: ignore[attr-defined]
        yield ctx


def pmrs(ctx: Context) -> dict[str, str]:
    return dict(ctx.warehouse.fetchall("SELECT record_key, pmr FROM link_member"))
