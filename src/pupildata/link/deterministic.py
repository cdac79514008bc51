"""The deterministic pass: records that share a trusted identifier are the same person, set-at-a-time.

An identifier is a valid UPN (a record's current or former one), a valid ULN, or a sender's own id for the
person (``source_id``, within its source). It is *trusted* unless two records carrying it disagree in a way one
person's records never do: a different sex, dates of birth differing by more than one typing slip or a day–month
swap, or forenames that are neither equal, nor forms of the same name, nor one slip apart, nor swapped with the
surname. A UPN used by two different people (twins given each other's number, a pupil given a classmate's) is
caught this way; all its records are then matched by the model instead, like records with no identifier.

Output tables: ``link_identifier`` (record, kind, id, trusted) and ``link_det_edge`` (record, the smallest record
key sharing a trusted identifier), which the spine's components use.
"""

from __future__ import annotations

from pupildata.kernel.engine import DuckDBEngine

NAME_SIMILAR = 0.85


def fn_compatible(a: str = "a", b: str = "b") -> str:
    """SQL: the forenames of two rows could be one person's."""
    terms = (
        f"{a}.fn IS NULL OR {b}.fn IS NULL OR {a}.fn = {b}.fn OR list_has_any({a}.fn_groups, {b}.fn_groups)",
        f"jaro_winkler_similarity({a}.fn, {b}.fn) >= {NAME_SIMILAR}",
        f"{a}.fn = {b}.sn OR {a}.sn = {b}.fn OR {a}.fn = {b}.mn OR {a}.mn = {b}.fn",
    )
    return "(" + " OR ".join(f"coalesce({t}, false)" for t in terms) + ")"


def sn_compatible(a: str = "a", b: str = "b") -> str:
    """SQL: the surnames of two rows could be one person's (any current, former or preferred surname or part)."""
    terms = (
        f"{a}.sn IS NULL OR {b}.sn IS NULL OR list_has_any({a}.sn_all, {b}.sn_all)",
        f"jaro_winkler_similarity({a}.sn, {b}.sn) >= {NAME_SIMILAR}",
        f"{a}.fn = {b}.sn OR {a}.sn = {b}.fn",
    )
    return "(" + " OR ".join(f"coalesce({t}, false)" for t in terms) + ")"


def dob_compatible(a: str = "a", b: str = "b") -> str:
    """SQL: two dates of birth are equal, or differ by a day–month swap or in one part only."""
    same = (
        f"(CAST(year({a}.dob) = year({b}.dob) AS INTEGER) + CAST(month({a}.dob) = month({b}.dob) AS INTEGER) "
        f"+ CAST(day({a}.dob) = day({b}.dob) AS INTEGER))"
    )
    swap = f"(year({a}.dob) = year({b}.dob) AND month({a}.dob) = day({b}.dob) AND day({a}.dob) = month({b}.dob))"
    return f"({a}.dob IS NULL OR {b}.dob IS NULL OR {same} >= 2 OR {swap})"


def run(engine: DuckDBEngine, norm: str = "link_norm") -> dict[str, int]:
    """Build ``link_identifier`` and ``link_det_edge`` from the normalised records; returns counts."""
    # One scan of the records: each record's identifiers.
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE link_identifier AS
        SELECT record_key, ids.kind, ids.id FROM (
          SELECT record_key, unnest([
            {{'kind': 'upn', 'id': upn}},
            {{'kind': 'upn', 'id': CASE WHEN former_upn IS DISTINCT FROM upn THEN former_upn END}},
            {{'kind': 'uln', 'id': uln}},
            {{'kind': 'src:' || source, 'id': source_id}}
          ]) AS ids FROM {norm}
        ) WHERE ids.id IS NOT NULL
        """
    )
    # Only identifiers held by several records, whose records differ at all, need comparing, pair by pair.
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE link_untrusted AS
        WITH shared AS (SELECT i.* FROM link_identifier i SEMI JOIN (
                          SELECT kind, id FROM link_identifier GROUP BY kind, id HAVING count(*) > 1) k
                        USING (kind, id)),
        v AS (SELECT DISTINCT s.kind, s.id, n.fn, n.mn, n.sn, n.sn_all, n.fn_groups, n.dob, n.sex
              FROM shared s JOIN {norm} n USING (record_key)),
        varied AS (SELECT * FROM v SEMI JOIN (SELECT kind, id FROM v GROUP BY kind, id HAVING count(*) > 1) k
                   USING (kind, id))
        SELECT DISTINCT a.kind, a.id,
          CASE WHEN a.sex <> b.sex THEN 'sex' WHEN NOT {dob_compatible()} THEN 'date of birth'
            WHEN NOT {fn_compatible()} THEN 'forename' ELSE 'surname and date of birth' END
            AS reason
        FROM varied a JOIN varied b ON a.kind = b.kind AND a.id = b.id
          AND hash(a.fn, a.sn, a.dob, a.sex, a.mn) < hash(b.fn, b.sn, b.dob, b.sex, b.mn)
        WHERE a.sex <> b.sex OR NOT {dob_compatible()} OR NOT {fn_compatible()}
          OR (NOT {sn_compatible()} AND a.dob <> b.dob)
        """
    )
    engine.execute(
        """
        CREATE OR REPLACE TABLE link_det_edge AS
        SELECT i.record_key AS a, min(i.record_key) OVER (PARTITION BY i.kind, i.id) AS b, i.kind
        FROM link_identifier i ANTI JOIN link_untrusted u ON u.kind = i.kind AND u.id = i.id
        """
    )
    engine.execute("DELETE FROM link_det_edge WHERE a = b")
    untrusted = engine.fetchall("SELECT reason, count(DISTINCT kind || id) FROM link_untrusted GROUP BY ALL")
    counts = {f"untrusted_by_{reason.replace(' ', '_')}": int(n) for reason, n in untrusted}
    counts["deterministic_edges"] = int(engine.scalar("SELECT count(*) FROM link_det_edge"))
    return counts


def anchored_sql() -> str:
    """SQL: the record keys carrying a trusted UPN (the anchors that never need the model against each other)."""
    return (
        "SELECT DISTINCT i.record_key FROM link_identifier i ANTI JOIN link_untrusted u "
        "ON u.kind = i.kind AND u.id = i.id WHERE i.kind = 'upn'"
    )
