"""The spine: one row per person, each with a Pupil Matching Reference (PMR), and every record's PMR.

A PMR is 12 characters of Crockford base-32 taken from HMAC-SHA256, keyed with the home's ``spine`` key, of the
record key of the person's *anchor* (their oldest record when the PMR was made). It looks random, encodes
nothing, and cannot be recomputed without the key.

Stability rule, applied after every run's clustering:

1. A PMR stays with the cluster that holds its anchor record (or, if that record has gone, the cluster holding
   the smallest remaining record key that had the PMR).
2. A cluster holding the anchors of several PMRs (a merge) keeps the one first seen earliest, then the smallest;
   the others are retired as ``merged`` into it, and a ``merge`` event is recorded for each.
3. A cluster holding no anchor gets a new PMR from its own anchor (oldest year, then smallest record key); if it
   took records from an existing PMR, a ``split`` event is recorded. A PMR retired by a merge that is later split
   off again gets its old value back, since its anchor is the same.

So the same inputs always give the same PMRs, and a re-run changes nothing. Tables (live names; the pipeline
writes ``*_stage`` copies and swaps them in one transaction): ``link_spine`` (pmr, anchor_key, first_year,
status, merged_into, created_run, updated_run), ``link_member`` (record_key, pmr, how, probability, run_id),
``link_spine_event`` (run_id, kind, pmr, other_pmr, records).
"""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine
from pupildata.kernel.pseudonyms import Key

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PMR_LENGTH = 12
LIVE = ("link_norm", "link_spine", "link_member", "link_spine_event", "link_model_edge")


def pmr_value_sql(key_col: str) -> str:
    """SQL for the 60 bits of the HMAC a PMR spells; parameters ``$opad`` and ``$ipad`` carry the key's pads."""
    digest = f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({key_col}))))"
    return f"CAST(('0x' || substr({digest}, 1, 15)) AS BIGINT)"


def pmr_chars_sql(value_col: str) -> str:
    """SQL spelling the value of ``pmr_value_sql`` (computed once per row) in Crockford base-32."""
    char = f"substr('{CROCKFORD}', (({value_col} >> (5 * ({PMR_LENGTH - 1} - i))) & 31) + 1, 1)"
    chars = f"list_transform(range({PMR_LENGTH}), lambda i: {char})"
    return f"array_to_string({chars}, '')"


def pmr_sql(key_col: str) -> str:
    """SQL for the PMR of a record key (parameters as for ``pmr_value_sql``)."""
    return pmr_chars_sql(f"({pmr_value_sql(key_col)})")


def pads(key: Key) -> dict[str, bytes]:
    secret = key.secret_for_engine().ljust(64, b"\0")
    return {"opad": bytes(b ^ 0x5C for b in secret), "ipad": bytes(b ^ 0x36 for b in secret)}


def create_live(engine: DuckDBEngine) -> None:
    """Empty live tables on first use."""
    engine.execute(
        """
        CREATE TABLE IF NOT EXISTS link_spine (pmr VARCHAR PRIMARY KEY, anchor_key VARCHAR, first_year INTEGER,
          status VARCHAR, merged_into VARCHAR, created_run INTEGER, updated_run INTEGER);
        CREATE TABLE IF NOT EXISTS link_member (record_key VARCHAR PRIMARY KEY, pmr VARCHAR, how VARCHAR,
          probability DOUBLE, run_id INTEGER);
        CREATE TABLE IF NOT EXISTS link_spine_event (run_id INTEGER, kind VARCHAR, pmr VARCHAR, other_pmr VARCHAR,
          records INTEGER);
        CREATE TABLE IF NOT EXISTS link_model_edge (a VARCHAR, b VARCHAR, probability DOUBLE, how VARCHAR,
          run_id INTEGER);
        """
    )


def assign(engine: DuckDBEngine, key: Key, run_id: int, clusters: str, how: str) -> dict[str, int]:
    """Write ``link_spine_stage``, ``link_member_stage`` and ``link_spine_event_stage`` from the run's clusters
    (table ``clusters``: record_key, component) and the live spine. ``how`` is a table (record_key, how,
    probability) saying how each record was placed."""
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sp_cluster AS
        SELECT c.record_key, c.component, n.year, m.pmr AS old_pmr
        FROM {clusters} c JOIN link_norm_stage n USING (record_key) LEFT JOIN link_member m USING (record_key);
        CREATE OR REPLACE TEMP TABLE sp_claim AS
        WITH live AS (SELECT * FROM link_spine WHERE status = 'active'),
        fallback AS (SELECT old_pmr AS pmr, min(record_key) AS record_key FROM sp_cluster WHERE old_pmr IS NOT NULL
                     GROUP BY old_pmr)
        SELECT l.pmr, l.first_year, coalesce(a.component, f.component) AS component
        FROM live l LEFT JOIN sp_cluster a ON a.record_key = l.anchor_key
          LEFT JOIN fallback fb ON fb.pmr = l.pmr LEFT JOIN sp_cluster f ON f.record_key = fb.record_key
        WHERE coalesce(a.component, f.component) IS NOT NULL;
        CREATE OR REPLACE TEMP TABLE sp_owner AS
        SELECT component, arg_min(pmr, (first_year, pmr)) AS pmr, min(first_year) AS first_year
        FROM sp_claim GROUP BY component;
        CREATE OR REPLACE TEMP TABLE sp_fresh AS
        SELECT component, arg_min(record_key, (year, record_key)) AS anchor_key, min(year) AS first_year
        FROM sp_cluster ANTI JOIN sp_owner USING (component) GROUP BY component;
        """
    )
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE sp_fresh_pmr AS "
        f"SELECT * EXCLUDE (pmr_value), {pmr_chars_sql('pmr_value')} AS pmr "
        f"FROM (SELECT *, {pmr_value_sql('anchor_key')} AS pmr_value FROM sp_fresh)",
        pads(key),
    )
    clash = engine.scalar(
        "SELECT count(*) FROM sp_fresh_pmr f JOIN link_spine s USING (pmr) WHERE s.status = 'active' "
        "OR s.anchor_key <> f.anchor_key"
    )
    if clash:
        raise RuntimeError("two anchors gave the same PMR; the spine was left unchanged")
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sp_final AS
        SELECT component, pmr FROM sp_owner UNION ALL SELECT component, pmr FROM sp_fresh_pmr;
        CREATE OR REPLACE TABLE link_member_stage AS
        SELECT c.record_key, f.pmr, coalesce(h.how, 'alone') AS how, h.probability,
          CASE WHEN c.old_pmr IS NOT DISTINCT FROM f.pmr THEN coalesce(m.run_id, {run_id}) ELSE {run_id} END AS run_id
        FROM sp_cluster c JOIN sp_final f USING (component) LEFT JOIN {how} h USING (record_key)
          LEFT JOIN link_member m USING (record_key);
        CREATE OR REPLACE TEMP TABLE sp_merged AS
        SELECT c.pmr, o.pmr AS survivor FROM sp_claim c JOIN sp_owner o USING (component) WHERE c.pmr <> o.pmr;
        CREATE OR REPLACE TABLE link_spine_event_stage AS
        SELECT * FROM link_spine_event
        UNION ALL
        SELECT {run_id}, 'merge', m.pmr, m.survivor, (SELECT count(*) FROM sp_cluster c WHERE c.old_pmr = m.pmr)
        FROM sp_merged m
        UNION ALL
        SELECT {run_id}, 'split', c.old_pmr, f.pmr, count(*)
        FROM sp_cluster c JOIN sp_final f USING (component)
        WHERE c.old_pmr IS NOT NULL AND c.old_pmr <> f.pmr
          AND c.old_pmr NOT IN (SELECT pmr FROM sp_merged)
        GROUP BY c.old_pmr, f.pmr;
        CREATE OR REPLACE TABLE link_spine_stage AS
        SELECT s.pmr, s.anchor_key, s.first_year,
          CASE WHEN m.pmr IS NOT NULL THEN 'merged' WHEN o.pmr IS NULL AND s.status = 'active' THEN 'retired'
               ELSE s.status END AS status,
          coalesce(m.survivor, s.merged_into) AS merged_into, s.created_run,
          CASE WHEN m.pmr IS NOT NULL OR (o.pmr IS NULL AND s.status = 'active') THEN {run_id} ELSE s.updated_run END
            AS updated_run
        FROM link_spine s LEFT JOIN sp_merged m USING (pmr) LEFT JOIN sp_owner o USING (pmr)
        WHERE s.pmr NOT IN (SELECT pmr FROM sp_fresh_pmr)
        UNION ALL
        SELECT f.pmr, f.anchor_key, f.first_year, 'active', NULL, coalesce(s.created_run, {run_id}), {run_id}
        FROM sp_fresh_pmr f LEFT JOIN link_spine s USING (pmr);
        """
    )
    counts = engine.fetchone(
        f"""SELECT (SELECT count(*) FROM link_spine_stage WHERE status = 'active'),
                   (SELECT count(*) FROM sp_fresh_pmr f ANTI JOIN link_spine s USING (pmr)),
                   (SELECT count(*) FROM link_spine_event_stage WHERE run_id = {run_id} AND kind = 'merge'),
                   (SELECT count(*) FROM link_spine_event_stage WHERE run_id = {run_id} AND kind = 'split')"""
    ) or (0, 0, 0, 0)
    return {"people": counts[0], "new_pmrs": counts[1], "merges": counts[2], "splits": counts[3]}


def swap(engine: DuckDBEngine) -> None:
    """Replace every live table by its stage copy, all at once: an interrupted run leaves the old spine."""
    with engine.transaction():
        for name in LIVE:
            engine.execute(f"DROP TABLE IF EXISTS {name}")
            engine.execute(f"ALTER TABLE {name}_stage RENAME TO {name}")
