"""Connected components of a graph of records, in SQL: each record's component is the smallest record key it is
joined to. Label propagation with pointer jumping; a few passes suffice for the shallow graphs matching makes."""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine

MAX_PASSES = 60


def components(engine: DuckDBEngine, nodes_sql: str, edges_sql: str, out: str) -> int:
    """Write ``out`` (record_key, component) for the nodes of ``nodes_sql`` joined by the (a, b) edges."""
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE cc_edge AS SELECT a, b FROM ({edges_sql}) WHERE a IS NOT NULL AND b IS NOT NULL "
        f"UNION SELECT b, a FROM ({edges_sql}) WHERE a IS NOT NULL AND b IS NOT NULL"
    )
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE cc_label AS SELECT record_key AS node, record_key AS label FROM ({nodes_sql})"
    )
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        engine.execute(
            """
            CREATE OR REPLACE TEMP TABLE cc_next AS
            WITH hop AS (
              SELECT e.a AS node, min(l.label) AS label FROM cc_edge e JOIN cc_label l ON l.node = e.b GROUP BY e.a
            ), step AS (
              SELECT c.node, least(c.label, coalesce(h.label, c.label)) AS label
              FROM cc_label c LEFT JOIN hop h USING (node)
            )
            SELECT s.node, least(s.label, coalesce(j.label, s.label)) AS label
            FROM step s LEFT JOIN step j ON j.node = s.label
            """
        )
        changed = engine.scalar("SELECT count(*) FROM cc_next n JOIN cc_label c USING (node) WHERE n.label <> c.label")
        engine.execute("CREATE OR REPLACE TEMP TABLE cc_label AS SELECT * FROM cc_next")
        if not changed:
            break
    engine.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT node AS record_key, label AS component FROM cc_label")
    engine.execute("DROP TABLE IF EXISTS cc_next; DROP TABLE IF EXISTS cc_edge; DROP TABLE IF EXISTS cc_label")
    return passes
