"""Collection: receiving data returns (school census XML, key stage, height and weight, post-16 learners,
surveys; CSV, XML or Parquet), archiving them unchanged, validating every record set-at-a-time, loading what is
accepted, quarantining what is not, and giving every sender a receipt and a report."""

from __future__ import annotations

from pupildata.collect.load import Options
from pupildata.collect.schemas import SOURCES, Field, Source
from pupildata.collect.service import Summary, collect, expand

__all__ = ["SOURCES", "Field", "Options", "Source", "Summary", "collect", "expand"]
