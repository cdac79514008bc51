"""How good the matching is: match rates by source, year and pupil characteristic; with ground truth, precision,
recall and F1 per source; and the explanation of any probabilistic match, comparison by comparison.

- *Match rate*: the share of records whose person has at least one other record (their cluster holds two or
  more). By group, a record's sex is its own; ethnicity, free-meal eligibility and English as an additional
  language come from the census records of its cluster (unknown when it has none). Linkage that fails more often
  for some groups biases research, so the report shows every group side by side.
- *With truth* (synthetic data only): measured on **pairs of records**. For a source S, the true pairs are pairs
  of records of one person with at least one record from S; a predicted pair is two records given one PMR.
  Precision = correct predicted pairs / predicted pairs; recall = correct predicted pairs / true pairs. Recall is
  also given by ethnic group (of the person, from the truth).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pupildata.errors import UsageError
from pupildata.kernel.engine import DuckDBEngine

GROUPS = ("sex", "ethnicity", "fsm", "eal")
LABELS = {
    "fn": "forename",
    "sn": "surname",
    "dob": "date of birth",
    "sex": "sex",
    "pc": "postcode",
    "school": "school",
    "upn": "UPN",
    "uln": "ULN",
}


def _need_spine(engine: DuckDBEngine) -> None:
    if not engine.table_exists("link_member"):
        raise UsageError("There is no spine yet: run `pupildata link` first.")


def rates(engine: DuckDBEngine) -> dict[str, list[dict[str, Any]]]:
    """Match rates by source, year and each characteristic."""
    _need_spine(engine)
    engine.execute(
        """
        CREATE OR REPLACE TEMP TABLE q_rec AS
        WITH m AS (SELECT m.record_key, m.pmr, count(*) OVER (PARTITION BY m.pmr) AS size FROM link_member m),
        person AS (
          SELECT m.pmr, arg_max(r.ethnicity, r.year) AS ethnicity, arg_max(r.fsm, r.year) AS fsm,
                 arg_max(r.eal, r.year) AS eal
          FROM m JOIN link_record r USING (record_key) WHERE r.ethnicity IS NOT NULL OR r.fsm IS NOT NULL GROUP BY m.pmr
        )
        SELECT r.source, r.year, n.sex, coalesce(p.ethnicity, 'unknown') AS ethnicity,
          coalesce(CAST(p.fsm AS VARCHAR), 'unknown') AS fsm, coalesce(CAST(p.eal AS VARCHAR), 'unknown') AS eal,
          m.size > 1 AS linked
        FROM m JOIN link_record r USING (record_key) JOIN link_norm n USING (record_key) LEFT JOIN person p USING (pmr)
        """
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for by in ("source", "year", *GROUPS):
        rows = engine.fetchall(
            f"SELECT coalesce(CAST({by} AS VARCHAR), 'unknown'), count(*), count(*) FILTER (WHERE linked) "
            f"FROM q_rec GROUP BY ALL ORDER BY 1"
        )
        out[by] = [{by: g, "records": n, "linked": k, "match_rate": round(k / n, 5) if n else None} for g, n, k in rows]
    return out


def with_truth(engine: DuckDBEngine, truth: Path) -> dict[str, Any]:
    """Precision, recall and F1 per source, and recall by ethnic group, against a synthetic folder's truth."""
    from pupildata.link import inputs, synthetic

    _need_spine(engine)
    if not (truth / "truth").is_dir():
        raise UsageError(f"{truth} holds no truth folder (expected {truth / 'truth'}).")
    people = (truth / "truth" / "people.parquet").resolve().as_posix().replace("'", "''")
    # Records collected from the folder's files (keys like census:12:345) and records read straight from them
    # (keys like 2008-09/census/x.xml#3, by tests and benchmarks).
    keys = [synthetic.truth_sql(truth)]
    if engine.table_exists("collect_receipt"):
        keys.append(inputs.truth_sql(engine, truth))
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE q_truth AS
        SELECT m.record_key, m.pmr, t.person_id, n.source, p.ethnicity
        FROM link_member m JOIN ({" UNION ALL ".join(keys)}) t USING (record_key) JOIN link_norm n USING (record_key)
        LEFT JOIN read_parquet('{people}') p USING (person_id);
        CREATE OR REPLACE TEMP TABLE q_pairs AS
        WITH keys AS (
          SELECT a.record_key AS ka, b.record_key AS kb FROM q_truth a JOIN q_truth b
            ON a.pmr = b.pmr AND a.record_key < b.record_key
          UNION
          SELECT a.record_key, b.record_key FROM q_truth a JOIN q_truth b
            ON a.person_id = b.person_id AND a.record_key < b.record_key
        )
        SELECT a.source AS s1, b.source AS s2, a.ethnicity, a.pmr = b.pmr AS predicted,
          a.person_id = b.person_id AS true_
        FROM keys JOIN q_truth a ON a.record_key = keys.ka JOIN q_truth b ON b.record_key = keys.kb;
        """
    )
    sources = [r[0] for r in engine.fetchall("SELECT DISTINCT source FROM q_truth ORDER BY 1")]
    per_source = []
    for source in sources:
        tp, predicted, true_ = engine.fetchone(
            "SELECT count(*) FILTER (WHERE predicted AND true_), count(*) FILTER (WHERE predicted), "
            "count(*) FILTER (WHERE true_) FROM q_pairs WHERE ? IN (s1, s2)",
            [source],
        ) or (0, 0, 0)
        precision = tp / predicted if predicted else 1.0
        recall = tp / true_ if true_ else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_source.append(
            {
                "source": source,
                "precision": round(precision, 6),
                "recall": round(recall, 6),
                "f1": round(f1, 6),
                "true_pairs": true_,
                "predicted_pairs": predicted,
            }
        )
    by_ethnicity = [
        {"ethnicity": g, "recall": round(k / n, 6) if n else None, "true_pairs": n}
        for g, n, k in engine.fetchall(
            "SELECT coalesce(ethnicity, 'unknown'), count(*) FILTER (WHERE true_), "
            "count(*) FILTER (WHERE true_ AND predicted) FROM q_pairs GROUP BY ALL ORDER BY 1"
        )
    ]
    measured, records = engine.fetchone(
        "SELECT (SELECT count(*) FROM q_truth), (SELECT count(*) FROM link_member)"
    ) or (0, 0)
    return {
        "measured_on": "pairs of records",
        "records_measured": measured,
        "records_without_truth": records - measured,
        "by_source": per_source,
        "recall_by_ethnicity": by_ethnicity,
    }


def explain(engine: DuckDBEngine, model: dict[str, Any] | Path, left_key: str, right_key: str) -> list[dict[str, Any]]:
    """The comparison-by-comparison explanation of one pair: each comparison's level and match weight. ``model``
    is a model, or a run's saved model (``home/models/link-<run>.json``), whose source pair's model is then used
    — the one that scored the pair."""
    from splink import DuckDBAPI, Linker

    from pupildata.link import scoring

    scoring._quiet()
    found = engine.fetchall("SELECT source FROM link_norm WHERE record_key IN (?, ?)", [left_key, right_key])
    if len(found) != 2 - (left_key == right_key):
        raise UsageError("Both records must be in the spine to be explained.")
    if isinstance(model, Path):
        sources = [r[0] for r in found]
        model = scoring.load_for(model, sources[0], sources[-1])
    settings = dict(model, retain_intermediate_calculation_columns=True, retain_matching_columns=True)
    db_api = DuckDBAPI(connection=engine.connection.cursor())
    engine.execute("CREATE OR REPLACE TABLE link_explain_l AS SELECT * FROM link_norm WHERE record_key = ?", [left_key])
    engine.execute(
        "CREATE OR REPLACE TABLE link_explain_r AS SELECT * FROM link_norm WHERE record_key = ?", [right_key]
    )
    linker = Linker(db_api.register("link_norm", dataset_display_name="explain_all"), settings)
    linker.table_management.compute_tf_table("fn")
    linker.table_management.compute_tf_table("sn")
    left = db_api.register("link_explain_l", dataset_display_name="explain_l")
    right = db_api.register("link_explain_r", dataset_display_name="explain_r")
    row = linker.inference.score_pair(left, right).as_record_list()[0]
    out = [
        {
            "comparison": "prior",
            "level": "",
            "match_weight": round(
                math.log2(
                    model["probability_two_random_records_match"] / (1 - model["probability_two_random_records_match"])
                ),
                3,
            ),
        }
    ]
    for comparison in model["comparisons"]:
        col = comparison["output_column_name"]
        gamma = row.get(f"gamma_{col}")
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        label = "missing" if gamma is None or gamma == -1 else levels[::-1][int(gamma)]["label_for_charts"]
        weight = sum(float(row.get(name) or 0.0) for name in (f"mw_{col}", f"mw_tf_adj_{col}"))
        out.append(
            {
                "comparison": LABELS.get(col, col),
                "level": label,
                "left": row.get(f"{col}_l"),
                "right": row.get(f"{col}_r"),
                "match_weight": round(weight, 3),
            }
        )
    out.append(
        {
            "comparison": "total",
            "level": "",
            "match_weight": round(float(row["match_weight"]), 3),
            "match_probability": float(row["match_probability"]),
        }
    )
    return out
