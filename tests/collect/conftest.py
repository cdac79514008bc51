"""Fixtures for collection: the hand-written returns, and a data home they have been collected into."""

from __future__ import annotations

from pathlib import Path

import pytest

from pupildata.collect import Options, Summary, collect
from pupildata.kernel.context import Context

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def collected(context: Context) -> tuple[Context, Summary]:
    """Every fixture return collected once."""
    return context, collect(context, [FIXTURES], Options())
