"""A small data home with pairs of records waiting for clerical review (HTTP and browser tests)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pupildata.kernel.context import Context
from pupildata.link import review
from pupildata.settings import Settings

LEFT, RIGHT, OTHER = "census:1:7", "ks:2:9", "ncmp:3:4"


def review_home(home: Path) -> Settings:
    """A home with two pairs waiting for review, and the records of the first in ``link_norm``."""
    settings = Settings(home=home)
    with Context(settings) as ctx:
        review.enqueue(ctx.registry, 1, [(LEFT, RIGHT, 0.83), (LEFT, OTHER, 0.41)])
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "CREATE TABLE link_norm AS SELECT * FROM (VALUES "
            "('census:1:7', 'census', 2009, 'amira', NULL, 'khan', DATE '2001-03-04', 'F', 'pe11aa', 'A123', "
            "NULL, NULL, '8572000', '857'), "
            "('ks:2:9', 'ks2', 2008, 'amira', NULL, 'kahn', DATE '2001-03-04', 'F', NULL, 'A123', NULL, NULL, "
            "'8572000', '857')) AS t(record_key, source, year, fn, mn, sn, dob, sex, pc, upn, former_upn, uln, "
            "school, la_code)"
        )
    return settings
