"""A spine made from the synthetic generator's truth: it stands in for matching in publishing's tests only.

Each collected record is found in the truth by its file (the receipt's SHA-256 names the manifest's file, since a
file name repeats from year to year) and its place in the file; its person is the generator's person id, and its
PMR a stable string made from it. ``link_member`` then has the shape matching leaves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from pupildata.kernel.engine import DuckDBEngine
from pupildata.link.inputs import COLLECTED_TABLES, record_key_sql


def pmr_of(person_id: int) -> str:
    return f"PMR{person_id}"


def link_from_truth(engine: DuckDBEngine, synth: Path) -> int:
    """Create ``link_member`` from ``synth``'s truth; returns how many records it places."""
    manifest = json.loads((synth / "manifest.json").read_text(encoding="utf-8"))
    files = pa.table(
        {
            "path": [f["path"] for f in manifest["files"]],
            "sha256": [f["sha256"] for f in manifest["files"]],
        }
    )
    truth = sorted(str(p) for p in (synth / "truth").glob("*/*.parquet") if p.name != "state.parquet")
    engine.register("synth_file", files)
    try:
        engine.execute(
            "CREATE OR REPLACE TABLE link_member (record_key VARCHAR PRIMARY KEY, pmr VARCHAR, how VARCHAR, "
            "probability DOUBLE, run_id INTEGER)"
        )
        engine.execute(
            "CREATE OR REPLACE TEMP TABLE synth_truth AS SELECT file, record_index, person_id "
            "FROM read_parquet(?, union_by_name = true)",
            [truth],
        )
        for table in COLLECTED_TABLES:
            engine.execute(f"""
                INSERT INTO link_member
                SELECT {record_key_sql(table, "c")}, 'PMR' || CAST(t.person_id AS VARCHAR),
                       'truth', 1.0, 0
                FROM collect_{table} c
                JOIN collect_receipt r USING (receipt_id)
                JOIN synth_file f ON f.sha256 = r.sha256
                JOIN synth_truth t ON t.file = f.path AND t.record_index + 1 = c.record_index""")
        return int(engine.fetchall("SELECT count(*) FROM link_member")[0][0])
    finally:
        engine.unregister("synth_file")
        engine.execute("DROP TABLE IF EXISTS synth_truth")
