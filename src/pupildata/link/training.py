"""Training the model per source pair, set-at-a-time in SQL: m from the deterministic pass, u from random pairs.

The deterministic pass has already found the pairs of records that share a trusted identifier (``link_det_edge``):
they are labelled true pairs, so the m probability of each comparison level is the share of those pairs at that
level — no expectation maximisation. u is the share of random pairs of records at that level. Both are counted
for every *source pair* (census–ks2, census–ncmp, ncmp–ncmp…) and shrunk towards the count over all pairs, so
that a source pair with few or no labelled pairs (height and weight records carry no identifier) takes the pooled
estimate, and one with many takes its own. Every source pair's model is a complete Splink model (JSON), saved
with the run.

Two biases are handled explicitly:

- labelled pairs were *found* through an identifier, so they say nothing about how often one person's UPN or ULN
  differs; these two comparisons take fixed m values (``IDENTIFIER_M``) instead;
- labelled pairs only include records whose identifier was trusted, so a disagreement the trust rules forbid
  (sex, birth dates far apart) is never seen: its m is the floor ``model.M_FLOOR``, as expectation maximisation
  also found.

The prior (the probability that two random records match) is the number of pairs sharing a UPN or ULN over all
pairs, divided by 0.95 (about 5% of true pairs share no identifier), as Splink's own estimate does.
"""

from __future__ import annotations

import copy
import math
from typing import Any, cast

from splink import SettingsCreator

from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import model, normalise

POOLED = "*"
#: The run's normalised records.
RECORDS = "link_norm_stage"
#: Random pairs drawn for u, over all source pairs (at least ``U_PAIRS_MIN`` for each).
U_PAIRS = 300_000
U_PAIRS_MIN = 8_000
#: Labelled pairs read for m, at most (a hash sample beyond that).
M_PAIRS = 500_000
#: How many pooled pairs a source pair's own counts are worth (shrinkage towards the pooled estimate).
SHRINK_M = 200.0
SHRINK_U = 1000.0
#: m of the identifier comparisons: one person's records carry different valid UPNs (a temporary and a permanent
#: one, a digit typed wrong that still passes the check) about once in 200 pairs.
IDENTIFIER_M = {"exact": 0.995, "different": 0.005}
IDENTIFIERS = ("upn", "uln")
#: Share of true pairs that share a UPN or ULN (for the prior).
IDENTIFIER_RECALL = 0.95


def base() -> dict[str, Any]:
    """The untrained model as Splink writes it: the comparisons, and the candidate rules a run blocks on."""
    settings = cast(SettingsCreator, model.settings(rules=model.candidate_rules()))
    data: dict[str, Any] = settings.create_settings_dict("duckdb")
    data.pop("linker_uid", None)
    return data


def levels(comparison: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The comparison's levels with their comparison vector value (Splink's: -1 for missing, then counting down
    from the most similar level to 0 for the last)."""
    real = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    out: list[tuple[int, dict[str, Any]]] = []
    nulls = [lv for lv in comparison["comparison_levels"] if lv.get("is_null_level")]
    out.extend((-1, lv) for lv in nulls)
    out.extend((len(real) - 1 - i, lv) for i, lv in enumerate(real))
    return out


def gamma_sql(data: dict[str, Any]) -> str:
    """SQL: one ``g_<col>`` comparison vector value per comparison, over columns named ``<col>_l``/``<col>_r``."""
    parts = []
    for comparison in data["comparisons"]:
        whens = []
        for gamma, level in levels(comparison):
            condition = level["sql_condition"]
            whens.append(f"ELSE {gamma}" if condition.strip().upper() == "ELSE" else f"WHEN {condition} THEN {gamma}")
        parts.append(f"CASE {' '.join(whens)} END AS g_{comparison['output_column_name']}")
    return ",\n  ".join(parts)


def pair_columns_sql(pairs: str, records: str, columns: tuple[str, ...]) -> str:
    """SQL: each pair (key_l, key_r) with both records' columns, suffixed ``_l`` and ``_r``."""
    cols = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    return (
        f"SELECT p.key_l, p.key_r, least(l.source, r.source) || '|' || greatest(l.source, r.source) AS sp, {cols} "
        f"FROM ({pairs}) p JOIN {records} l ON l.record_key = p.key_l JOIN {records} r ON r.record_key = p.key_r"
    )


def compared_columns() -> tuple[str, ...]:
    """The columns the comparisons read."""
    return tuple(c for c in normalise.MODEL_COLUMNS if c != "record_key")


def _level_counts(engine: DuckDBEngine, data: dict[str, Any], pairs: str, out: str) -> None:
    """``out`` (sp, col, gamma, n): how many of the pairs fall at each level of each comparison."""
    cols = [c["output_column_name"] for c in data["comparisons"]]
    unpivot = ", ".join(f"g_{c}" for c in cols)
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH g AS (SELECT sp, {gamma_sql(data)} FROM ({pair_columns_sql(pairs, RECORDS, compared_columns())})),
        v AS (SELECT sp, {unpivot}, count(*) AS n FROM g GROUP BY ALL)
        SELECT sp, replace(col, 'g_', '') AS col, CAST(gamma AS INTEGER) AS gamma, sum(n) AS n
        FROM (UNPIVOT v ON {unpivot} INTO NAME col VALUE gamma) GROUP BY ALL
        """
    )


def _labelled_pairs(engine: DuckDBEngine) -> str:
    """SQL: the pairs the deterministic pass linked (each record and the first record sharing its identifier), a
    hash sample of about ``M_PAIRS`` of them at most."""
    n = int(engine.scalar("SELECT count(*) FROM link_det_edge"))
    step = max(1, -(-n // M_PAIRS))
    return f"SELECT DISTINCT a AS key_l, b AS key_r FROM link_det_edge WHERE hash(a, b) % {step} = 0"


def _random_pairs(engine: DuckDBEngine) -> str:
    """Random pairs for every source pair: records ranked by a fixed hash within their source; the i-th record
    of one source meets the (i mod n)-th of the other (and the 2i-th of a source the (2i+1)-th)."""
    sources = int(engine.scalar("SELECT count(DISTINCT source) FROM link_scoring"))
    per_pair = max(U_PAIRS_MIN, U_PAIRS // max(1, sources * (sources + 1) // 2))
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tr_rank AS
        SELECT source, record_key, row_number() OVER (PARTITION BY source ORDER BY hash(record_key, {model.SEED}),
          record_key) - 1 AS rn, count(*) OVER (PARTITION BY source) AS n
        FROM link_scoring
        """
    )
    return f"""
        WITH sizes AS (SELECT DISTINCT source, n FROM tr_rank),
        l AS (SELECT t.record_key, t.source, s.source AS other, t.rn % s.n AS target FROM tr_rank t
              JOIN sizes s ON s.source > t.source WHERE t.rn < {per_pair})
        SELECT l.record_key AS key_l, r.record_key AS key_r FROM l
          JOIN tr_rank r ON r.source = l.other AND r.rn = l.target
        UNION ALL
        SELECT a.record_key, b.record_key FROM tr_rank a JOIN tr_rank b ON b.source = a.source AND b.rn = a.rn + 1
        WHERE a.rn % 2 = 0 AND a.rn < {2 * per_pair}
    """


def prior(engine: DuckDBEngine) -> float:
    """The probability that two random records match (see the module's docstring)."""
    found, total = engine.fetchone(
        """
        SELECT (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (
                  SELECT count(DISTINCT record_key) AS n FROM link_identifier WHERE kind IN ('upn', 'uln')
                  GROUP BY kind, id)),
               (SELECT count(*) FROM link_scoring)
        """
    ) or (0, 0)
    pairs = max(1.0, float(total) * (float(total) - 1) / 2)
    value = float(found) / IDENTIFIER_RECALL / pairs
    return min(max(value, 1e-9), 0.5)


def _estimates(
    engine: DuckDBEngine, counts: str, shrink: float, floor: float
) -> dict[str, dict[tuple[str, int], float]]:
    """sp -> (col, gamma) -> probability, from counts shrunk towards the pooled counts (missing levels excluded)."""
    rows = engine.fetchall(
        f"""
        WITH c AS (SELECT * FROM {counts} WHERE gamma >= 0),
        pooled AS (SELECT col, gamma, sum(n) / sum(sum(n)) OVER (PARTITION BY col) AS p FROM c GROUP BY col, gamma),
        totals AS (SELECT sp, col, sum(n) AS total FROM c GROUP BY sp, col)
        SELECT t.sp, p.col, p.gamma, (coalesce(c.n, 0) + {shrink} * p.p) / (t.total + {shrink})
        FROM totals t JOIN pooled p USING (col) LEFT JOIN c ON c.sp = t.sp AND c.col = p.col AND c.gamma = p.gamma
        UNION ALL SELECT '*', col, gamma, p FROM pooled
        """
    )
    out: dict[str, dict[tuple[str, int], float]] = {}
    for sp, col, gamma, p in rows:
        out.setdefault(sp, {})[(col, int(gamma))] = max(float(p), floor)
    return out


Estimates = dict[tuple[str, int], float]


def _model_for(
    data: dict[str, Any], m: Estimates, u: Estimates, pool: tuple[Estimates, Estimates], u_floor: float
) -> dict[str, Any]:
    """A complete Splink model: every level's m and u (a source pair's own, else the pooled one, never below the
    floors)."""
    m_pool, u_pool = pool
    out = copy.deepcopy(data)
    for comparison in out["comparisons"]:
        col = comparison["output_column_name"]
        for gamma, level in levels(comparison):
            if gamma < 0:
                continue
            key = (col, gamma)
            if col in IDENTIFIERS:
                mv = IDENTIFIER_M["different" if level["sql_condition"].strip().upper() == "ELSE" else "exact"]
            else:
                mv = m.get(key, m_pool.get(key, model.M_FLOOR))
            level["m_probability"] = max(mv, model.M_FLOOR)
            level["u_probability"] = max(u.get(key, u_pool.get(key, u_floor)), u_floor)
    return out


def train(engine: DuckDBEngine) -> dict[str, dict[str, Any]]:
    """Models by source pair (``'census|ncmp'``…) and the pooled one (``'*'``), from ``link_scoring`` and the
    deterministic pass's tables."""
    data = base()
    _level_counts(engine, data, _labelled_pairs(engine), "tr_m")
    _level_counts(engine, data, _random_pairs(engine), "tr_u")
    n_random = int(engine.scalar("SELECT coalesce(max(s), 0) FROM (SELECT sum(n) AS s FROM tr_u GROUP BY col)"))
    u_floor = 0.5 / max(1, n_random)
    m = _estimates(engine, "tr_m", SHRINK_M, model.M_FLOOR)
    u = _estimates(engine, "tr_u", SHRINK_U, u_floor)
    data["probability_two_random_records_match"] = prior(engine)
    m_pool, u_pool = m.get("*", {}), u.get("*", {})
    sources = [r[0] for r in engine.fetchall("SELECT DISTINCT source FROM link_scoring ORDER BY 1")]
    pairs = [f"{a}|{b}" for i, a in enumerate(sources) for b in sources[i:]]
    pool = (m_pool, u_pool)
    models = {sp: _model_for(data, m.get(sp, {}), u.get(sp, {}), pool, u_floor) for sp in pairs}
    models["*"] = _model_for(data, m_pool, u_pool, pool, u_floor)
    engine.execute("DROP TABLE IF EXISTS tr_m; DROP TABLE IF EXISTS tr_u; DROP TABLE IF EXISTS tr_rank")
    return models


#: Comparisons whose m is estimated again, per source pair, on the scored candidates whose other fields agree.
REFINED = ("dob", "sex", "pc", "school")
#: The fields that must agree (exactly, or be missing on one side; at least ``AGREE_MIN`` of them present).
AGREEING = ("fn", "sn", "dob", "pc", "school")
AGREE_MIN = 3


def refine(engine: DuckDBEngine, models: dict[str, dict[str, Any]], vectors: str) -> None:
    """Estimate m again for ``REFINED`` comparisons per source pair, on the comparison vectors in ``vectors``
    (sp, g_<col>...): a pair whose forename, surname, birth date, postcode and school agree wherever both have
    them (all but the comparison being estimated, and at least three present) is one child — no two children
    share all of those — so how its remaining field compares is how that field varies within one child in this
    source pair. Sources without an identifier (height and weight, surveys) have no labelled pairs of their own;
    their birth dates and postcodes are typed differently from the census's, and this is where their model
    learns it. The counts are shrunk towards the labelled estimate as in ``train``."""
    data = models[POOLED]
    top = {c["output_column_name"]: max(g for g, _ in levels(c)) for c in data["comparisons"]}
    unions = []
    for col in REFINED:
        others = [c for c in AGREEING if c != col]
        agree = " AND ".join(f"g_{c} IN (-1, {top[c]})" for c in others)
        present = " + ".join(f"CAST(g_{c} = {top[c]} AS INTEGER)" for c in others)
        unions.append(
            f"SELECT sp, '{col}' AS col, g_{col} AS gamma, count(*) AS n FROM {vectors} "
            f"WHERE {agree} AND {present} >= {AGREE_MIN} AND g_{col} >= 0 GROUP BY ALL"
        )
    rows = engine.fetchall(" UNION ALL ".join(unions))
    counts: dict[tuple[str, str], dict[int, int]] = {}
    for sp, col, gamma, n in rows:
        counts.setdefault((sp, col), {})[int(gamma)] = int(n)
    for (sp, col), by_level in counts.items():
        if sp not in models:
            continue
        total = sum(by_level.values())
        for comparison in models[sp]["comparisons"]:
            if comparison["output_column_name"] != col:
                continue
            for gamma, level in levels(comparison):
                if gamma < 0:
                    continue
                prior_m = float(level["m_probability"])
                m = (by_level.get(gamma, 0) + SHRINK_M * prior_m) / (total + SHRINK_M)
                level["m_probability"] = max(m, model.M_FLOOR)


def log2_bf(level: dict[str, Any]) -> float:
    return math.log2(float(level["m_probability"]) / float(level["u_probability"]))
