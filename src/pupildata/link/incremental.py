"""One run of matching: new records to the existing spine, and new records to each other — never everything again.

1. New records (in ``link_record``, not yet in the spine) are normalised and added to ``link_norm_stage``.
2. The deterministic pass runs over all records (cheap: group-bys), so a UPN newly found shared stops being
   trusted everywhere. Together with earlier accepted model links and review decisions it gives *groups*.
3. The model scores only pairs that need it, with at least one new record: new records in groups without a
   trusted UPN (*probes*) against every other record (``predict_between``) and against each other
   (``predict_within``); and new UPN groups against earlier records without a UPN. Two groups that each carry
   a different trusted UPN are never compared. Pairs within one group or one return are never compared.
4. Links are accepted at ``accept`` or above, best candidate first: a probe group joins only its best UPN group,
   never one holding a record from the same return (one child appears once per return), and never when a second
   UPN group is nearly as good (both go to review). Pairs between ``review`` and ``accept`` go to clerical review.
5. Clusters are formed, PMRs assigned (``spine``), and the new spine swapped in at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import components, deterministic, normalise

ACCEPT = 0.95
REVIEW = 0.5
#: A best candidate is accepted only when it beats the runner-up by this many bits of match weight (2^6 = 64
#: times likelier): twins living together score high against each other's records, but far lower than their own.
MARGIN = 6.0


NEW_RECORDS = "(SELECT * FROM link_record ANTI JOIN link_norm USING (record_key))"


@dataclass
class Scored:
    """Which tables hold this run's scored pairs (key_l, key_r, probability)."""

    tables: list[str] = field(default_factory=list)


def stage_records(engine: DuckDBEngine) -> int:
    """``link_norm_stage``: every normalised record so far plus the new ones; returns how many are new."""
    normalise.install_forename_groups(engine)
    if not engine.table_exists("link_norm"):
        empty = normalise.normal_select("(SELECT * FROM link_record LIMIT 0)")
        engine.execute(f"CREATE TABLE link_norm AS {empty}")
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE link_norm_stage AS
        SELECT *, FALSE AS is_new FROM link_norm WHERE record_key IN (SELECT record_key FROM link_record)
        UNION ALL BY NAME
        SELECT *, TRUE AS is_new FROM ({normalise.normal_select(NEW_RECORDS)})
        """
    )
    return int(engine.scalar("SELECT count(*) FROM link_norm_stage WHERE is_new"))


def groups(engine: DuckDBEngine) -> dict[str, int]:
    """Deterministic pass, then groups: deterministic links + earlier model links + 'same' decisions."""
    counts = deterministic.run(engine, "link_norm_stage")
    engine.execute(
        """
        CREATE OR REPLACE TABLE link_group_edge AS
        SELECT a, b FROM link_det_edge
        UNION ALL SELECT a, b FROM link_model_edge
          ANTI JOIN link_decision_work d ON d.decision = 'different' AND
            ((d.left_key = a AND d.right_key = b) OR (d.left_key = b AND d.right_key = a))
        UNION ALL SELECT left_key, right_key FROM link_decision_work WHERE decision = 'same'
        """
    )
    # Only records with a link take part; a record without one is a group of its own.
    components.components(
        engine,
        None,
        "SELECT a, b FROM link_group_edge WHERE a IN (SELECT record_key FROM link_norm_stage) "
        "AND b IN (SELECT record_key FROM link_norm_stage)",
        "link_group",
    )
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE link_scoring AS
        WITH anchored AS ({deterministic.anchored_sql()}),
        r AS (
          SELECT n.record_key, n.source, n.return_key, n.is_new, coalesce(g.component, n.record_key) AS grp,
            a.record_key IS NOT NULL AS is_anchor
          FROM link_norm_stage n LEFT JOIN link_group g USING (record_key) LEFT JOIN anchored a USING (record_key)
        )
        SELECT record_key, source, return_key, is_new, grp, bool_or(is_anchor) OVER w AS anchored,
          bool_or(NOT is_new) OVER w AS has_old
        FROM r WINDOW w AS (PARTITION BY grp)
        """
    )
    row = engine.fetchone(
        "SELECT count(*) FILTER (WHERE is_new AND NOT anchored), "
        "count(*) FILTER (WHERE is_new AND anchored AND NOT has_old)"
        " FROM link_scoring"
    ) or (0, 0)
    counts.update(probes=int(row[0]), new_upn_groups_records=int(row[1]))
    return counts


#: The record sets the model compares (left, right, within one set), each a condition on ``link_scoring``.
SETS = {
    "probe": "is_new AND NOT anchored",
    "other": "NOT (is_new AND NOT anchored)",
    "new_upn": "is_new AND anchored AND NOT has_old",
    "old_loose": "NOT is_new AND NOT anchored",
}
COMPARED_SETS = (("probe", "other", False), ("probe", "probe", True), ("new_upn", "old_loose", False))


def set_select(name: str) -> str:
    """SQL: the records of one set with the columns the blocking rules and the pair condition read."""
    return (
        "SELECT s.record_key, n.fn, n.sn, n.dob, n.pc, n.pc_district, n.school, n.upn, n.uln, s.grp, s.return_key "
        f"FROM (SELECT record_key, grp, return_key FROM link_scoring WHERE {SETS[name]}) s "
        "JOIN link_norm_stage n USING (record_key)"
    )


def pair_condition() -> str:
    """Added to every blocking rule: never within one group, never within one return."""
    return "l.grp <> r.grp AND l.return_key <> r.return_key"


def decide(engine: DuckDBEngine, scored: list[str], accept: float = ACCEPT, review: float = REVIEW) -> dict[str, int]:
    """Accept links between groups; put uncertain ones in ``link_review_work``; write ``link_model_edge_stage``."""
    union = " UNION ALL ".join(f"SELECT key_l, key_r, probability, weight FROM {t}" for t in scored) or (
        "SELECT NULL::VARCHAR AS key_l, NULL::VARCHAR AS key_r, NULL::DOUBLE AS probability, NULL::DOUBLE AS weight "
        "WHERE false"
    )
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE dc_pair AS
        WITH p AS ({union}),
        oriented AS (  -- the group without a UPN on the left ("probe"), the candidate on the right
          SELECT CASE WHEN l.anchored THEN p.key_r ELSE p.key_l END AS key_p,
                 CASE WHEN l.anchored THEN p.key_l ELSE p.key_r END AS key_c, p.probability, p.weight
          FROM p JOIN link_scoring l ON l.record_key = p.key_l
        )
        SELECT o.key_p, o.key_c, o.probability, o.weight, sp.grp AS grp_p, sc.grp AS grp_c, sc.anchored AS c_anchored
        FROM oriented o JOIN link_scoring sp ON sp.record_key = o.key_p JOIN link_scoring sc ON sc.record_key = o.key_c
        ANTI JOIN link_decision_work d ON (d.left_key = o.key_p AND d.right_key = o.key_c)
          OR (d.left_key = o.key_c AND d.right_key = o.key_p);
        CREATE OR REPLACE TEMP TABLE dc_group_pair AS
        SELECT grp_p, grp_c, any_value(c_anchored) AS c_anchored, max(probability) AS probability,
          max(weight) AS weight,
          arg_max(key_p, probability) AS key_p, arg_max(key_c, probability) AS key_c
        FROM dc_pair GROUP BY grp_p, grp_c;
        -- a group pair sharing a return cannot be one child
        CREATE OR REPLACE TEMP TABLE dc_clash AS
        SELECT DISTINCT gp.grp_p, gp.grp_c FROM dc_group_pair gp
        JOIN link_scoring a ON a.grp = gp.grp_p JOIN link_scoring b ON b.grp = gp.grp_c AND a.return_key = b.return_key;
        CREATE OR REPLACE TEMP TABLE dc_ok AS
        SELECT * FROM dc_group_pair ANTI JOIN dc_clash USING (grp_p, grp_c) WHERE probability >= {review};
        CREATE OR REPLACE TEMP TABLE dc_ranked AS
        SELECT *, row_number() OVER (PARTITION BY grp_p, c_anchored ORDER BY weight DESC, grp_c) AS rank,
          lead(weight) OVER (PARTITION BY grp_p, c_anchored ORDER BY weight DESC, grp_c) AS runner_up
        FROM dc_ok;
        CREATE OR REPLACE TEMP TABLE dc_accept AS
        SELECT * FROM dc_ranked WHERE probability >= {accept}
          AND ((c_anchored AND rank = 1 AND weight - coalesce(runner_up, -1e9) >= {MARGIN}) OR NOT c_anchored);
        CREATE OR REPLACE TABLE link_review_work AS
        SELECT key_p AS left_key, key_c AS right_key, probability FROM dc_ranked
        ANTI JOIN dc_accept USING (grp_p, grp_c)
        WHERE rank = 1 OR weight - (SELECT max(x.weight) FROM dc_ranked x WHERE x.grp_p = dc_ranked.grp_p) > -{MARGIN};
        CREATE OR REPLACE TABLE link_model_edge_stage AS
        SELECT a, b, probability, how, run_id FROM link_model_edge
          ANTI JOIN link_decision_work d ON d.decision = 'different' AND
            ((d.left_key = a AND d.right_key = b) OR (d.left_key = b AND d.right_key = a))
        UNION ALL
        SELECT key_p, key_c, probability, CASE WHEN c_anchored THEN 'model' ELSE 'model-new' END, $run
        FROM dc_accept;
        """.replace("$run", "CAST(getvariable('link_run') AS INTEGER)")
    )
    row = engine.fetchone("SELECT (SELECT count(*) FROM dc_accept), (SELECT count(*) FROM link_review_work)") or (0, 0)
    return {"model_links": int(row[0]), "review_pairs": int(row[1])}


MODEL_EDGES = "SELECT a, b FROM link_model_edge_stage"


def _cluster(engine: DuckDBEngine, edges: str, model_edges: str, by_group: bool) -> None:
    """``link_cluster`` (record_key, component) over ``edges``. While every link that formed this run's groups is
    still among the edges, the components are found between groups (far fewer nodes and edges than records);
    the component is the smallest record key either way, since a group's id is its smallest record key. Between
    groups only the model links (``model_edges``) count: deterministic links and 'same' decisions are all within
    groups."""
    if not by_group:
        components.components(engine, "SELECT record_key FROM link_norm_stage", edges, "link_cluster")
        return
    components.components(
        engine,
        None,
        f"SELECT ga.grp AS a, gb.grp AS b FROM ({model_edges}) e JOIN link_scoring ga ON ga.record_key = e.a "
        "JOIN link_scoring gb ON gb.record_key = e.b WHERE ga.grp <> gb.grp",
        "link_cluster_group",
    )
    engine.execute(
        "CREATE OR REPLACE TABLE link_cluster AS SELECT s.record_key, coalesce(c.component, s.grp) AS component "
        "FROM link_scoring s LEFT JOIN link_cluster_group c ON c.record_key = s.grp; DROP TABLE link_cluster_group"
    )


def _drop_model_edges(engine: DuckDBEngine, where: str) -> bool:
    """Delete the model links matching ``where``; True when none of them was one of this run's groups' links
    (they were all accepted in this run)."""
    earlier = engine.scalar(
        f"SELECT count(*) FROM link_model_edge_stage WHERE ({where}) "
        "AND NOT EXISTS (SELECT 1 FROM dc_accept x WHERE x.key_p = a AND x.key_c = b)"
    )
    engine.execute(f"DELETE FROM link_model_edge_stage WHERE {where}")
    return not earlier


def clusters(engine: DuckDBEngine) -> dict[str, int]:
    """Final clusters over deterministic, model and 'same' links; a cluster joining two UPN groups through
    links between groups without a UPN loses those links (the UPNs say they are two children)."""
    edges = (
        "SELECT a, b FROM link_det_edge UNION ALL SELECT a, b FROM link_model_edge_stage "
        "UNION ALL SELECT left_key, right_key FROM link_decision_work WHERE decision = 'same'"
    )
    by_group = True
    _cluster(engine, edges, MODEL_EDGES, by_group)
    # A "different" decision is a cannot-link: if the two records still meet through other model links, the
    # model links of both records' groups are dropped.
    apart = engine.scalar(
        """
        SELECT count(*) FROM link_decision_work d JOIN link_cluster a ON a.record_key = d.left_key
        JOIN link_cluster b ON b.record_key = d.right_key WHERE d.decision = 'different' AND a.component = b.component
        """
    )
    if apart:
        by_group = (
            _drop_model_edges(
                engine,
                """a IN (SELECT s.record_key FROM link_scoring s WHERE s.grp IN (
              SELECT g.grp FROM link_decision_work d JOIN link_cluster a ON a.record_key = d.left_key
              JOIN link_cluster b ON b.record_key = d.right_key
              JOIN link_scoring g ON g.record_key IN (d.left_key, d.right_key)
              WHERE d.decision = 'different' AND a.component = b.component))""",
            )
            and by_group
        )
        _cluster(engine, edges, MODEL_EDGES, by_group)
    bad = engine.scalar(
        """
        SELECT count(*) FROM (SELECT c.component FROM link_cluster c JOIN link_scoring s USING (record_key)
        WHERE s.anchored GROUP BY c.component HAVING count(DISTINCT s.grp) > 1)
        """
    )
    if bad:
        engine.execute(
            """
            CREATE OR REPLACE TEMP TABLE cl_bad AS
            SELECT c.record_key FROM link_cluster c WHERE c.component IN (
              SELECT c.component FROM link_cluster c JOIN link_scoring s USING (record_key)
              WHERE s.anchored GROUP BY c.component HAVING count(DISTINCT s.grp) > 1)
            """
        )
        by_group = _drop_model_edges(engine, "how = 'model-new' AND a IN (SELECT record_key FROM cl_bad)") and by_group
        _cluster(engine, edges, MODEL_EDGES, by_group)
    engine.execute(
        """
        CREATE OR REPLACE TABLE link_how AS
        WITH d AS (SELECT a AS record_key, kind FROM link_det_edge UNION ALL SELECT b, kind FROM link_det_edge),
        m AS (SELECT a AS record_key, max(probability) AS probability FROM link_model_edge_stage GROUP BY a)
        SELECT n.record_key,
          CASE WHEN m.record_key IS NOT NULL THEN 'model'
               WHEN dd.kind IS NOT NULL THEN dd.kind ELSE NULL END AS how, m.probability
        FROM link_norm_stage n LEFT JOIN m USING (record_key)
        LEFT JOIN (SELECT record_key, min(kind) AS kind FROM d GROUP BY record_key) dd USING (record_key)
        """
    )
    return {"unsafe_cluster_fixes": int(bad or 0)}


def finish_stage(engine: DuckDBEngine) -> None:
    engine.execute("ALTER TABLE link_norm_stage DROP COLUMN is_new")


def setup_decisions(engine: DuckDBEngine, decisions: list[tuple[str, str, str]]) -> None:
    engine.execute("CREATE OR REPLACE TABLE link_decision_work (left_key VARCHAR, right_key VARCHAR, decision VARCHAR)")
    if decisions:
        engine.executemany("INSERT INTO link_decision_work VALUES (?, ?, ?)", decisions)


def summary(engine: DuckDBEngine) -> dict[str, Any]:
    return {"records": int(engine.scalar("SELECT count(*) FROM link_norm_stage"))}
