"""Connected components of a graph of records, in SQL: each record's component is the smallest record key it is
joined to. Label propagation with pointer jumping; a few passes suffice for the shallow graphs matching makes.
Only nodes with an edge take part in the passes: a node without one is its own component."""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine

MAX_PASSES = 60


def components(engine: DuckDBEngine, nodes_sql: str | None, edges_sql: str, out: str) -> int:
    """Write ``out`` (record_key, component) for the nodes of ``nodes_sql`` joined by the (a, b) edges. Without
    ``nodes_sql`` every edge's ends are nodes, and ``out`` holds only nodes with an edge (any other node is its
    own component)."""
    if nodes_sql is not None:
        engine.execute(f"CREATE OR REPLACE TEMP TABLE cc_node AS SELECT record_key FROM ({nodes_sql})")
    known = " AND a IN (SELECT record_key FROM cc_node) AND b IN (SELECT record_key FROM cc_node)" if nodes_sql else ""
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cc_edge AS
        WITH e AS (SELECT a, b FROM ({edges_sql}) WHERE a IS NOT NULL AND b IS NOT NULL AND a <> b{known})
        SELECT a, b FROM e UNION SELECT b, a FROM e
        """
    )
    engine.execute("CREATE OR REPLACE TEMP TABLE cc_label AS SELECT DISTINCT a AS node, a AS label FROM cc_edge")
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
    engine.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT n.record_key, coalesce(l.label, n.record_key) AS component "
        "FROM cc_node n LEFT JOIN cc_label l ON l.node = n.record_key"
        if nodes_sql is not None
        else f"CREATE OR REPLACE TABLE {out} AS SELECT node AS record_key, label AS component FROM cc_label"
    )
    engine.execute(
        "DROP TABLE IF EXISTS cc_next; DROP TABLE IF EXISTS cc_edge; DROP TABLE IF EXISTS cc_label; "
        "DROP TABLE IF EXISTS cc_node"
    )
    return passes
