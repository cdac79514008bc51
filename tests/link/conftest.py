"""Synthetic data for the matching tests: one `la`-scale folder, generated once per test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pupildata.kernel.context import Context
from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import pipeline, synthetic
from pupildata.settings import Settings
from pupildata.synth import generate, make_config


@pytest.fixture(scope="session")
def la_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "la"
    generate(make_config("la", None, "2006/07..2008/09", 2009, out, workers=1), out)
    return out


@pytest.fixture(scope="session")
def la_records(tmp_path_factory: pytest.TempPathFactory, la_folder: Path) -> Path:
    """The folder's records in the shape of ``link_record``, read once and kept as Parquet."""
    path = tmp_path_factory.mktemp("records") / "link_record.parquet"
    engine = DuckDBEngine()
    synthetic.load(engine, la_folder)
    engine.execute(f"COPY link_record TO '{path.as_posix()}' (FORMAT parquet)")
    engine.close()
    return path


def load(ctx: Context, records: Path, years: set[int] | None = None) -> None:
    where = f"WHERE year IN ({', '.join(map(str, sorted(years)))})" if years else ""
    ctx.warehouse.execute(
        f"CREATE OR REPLACE TABLE link_record AS SELECT * FROM read_parquet('{records.as_posix()}') {where}"
    )


@pytest.fixture(scope="session")
def linked_la(tmp_path_factory: pytest.TempPathFactory, la_records: Path) -> Iterator[Context]:
    """A home whose spine holds every record of the `la` folder, linked in one run."""
    home = tmp_path_factory.mktemp("linked") / "home"
    with Context(Settings(home=home)) as ctx:
        load(ctx, la_records)
        ctx.run_counts = pipeline.run(ctx, from_collection=False)  # type: ignore[attr-defined]
        yield ctx


def pmrs(ctx: Context) -> dict[str, str]:
    return dict(ctx.warehouse.fetchall("SELECT record_key, pmr FROM link_member"))
