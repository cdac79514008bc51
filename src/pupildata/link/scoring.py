"""Scoring the pairs a run needs with the model of each pair's sources, set-at-a-time in SQL.

Candidate pairs come from the model's blocking rules, each an equality join (``model.candidate_rules``), between
the record sets that need the model (``incremental.scoring_sets``): records of groups without a trusted UPN
against every other record and each other, and new UPN groups against earlier records without one. Each pair's
comparison vector is computed once, with the comparison levels' own SQL (``training.gamma_sql``); its match
weight is Splink's — the prior, plus log2(m/u) of each comparison's level in the model of the pair's source
pair, plus the term-frequency adjustment of the exact name levels — computed once per distinct (source pair,
comparison vector) and joined back. The same models, saved as Splink JSON, give the same weights through Splink
(``quality.explain``, ``pupildata match``).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import incremental, model, training

POOLED = training.POOLED


def _quiet() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def model_file(path: Path, sources: str) -> Path:
    """Where the model of a source pair (``'census|ncmp'``) is saved, beside the run's pooled model ``path``."""
    if sources == POOLED:
        return path
    slug = "--".join(re.sub(r"[^A-Za-z0-9_.-]", "_", s) for s in sources.split("|", 1))
    return path.with_suffix("") / f"{slug}.json"


def load_for(path: Path, source_l: str, source_r: str) -> dict[str, Any]:
    """The model a run saved for a source pair (its pooled model when there is none)."""
    sources = "|".join(sorted((source_l, source_r)))
    own = model_file(path, sources)
    return model.load(own if own.is_file() else path)


def tf_levels(data: dict[str, Any]) -> list[tuple[str, str, int, float]]:
    """(comparison column, term-frequency column, level's comparison vector value, adjustment weight)."""
    out = []
    for comparison in data["comparisons"]:
        for gamma, level in training.levels(comparison):
            if level.get("tf_adjustment_column") and gamma >= 0:
                weight = float(level.get("tf_adjustment_weight", 1.0))
                out.append((comparison["output_column_name"], level["tf_adjustment_column"], gamma, weight))
    return out


class Scorer:
    """The models of a run (by source pair) over the records of ``link_scoring``."""

    def __init__(self, engine: DuckDBEngine, models: dict[str, dict[str, Any]] | None = None) -> None:
        self.engine = engine
        self.models = models if models is not None else training.train(engine)

    def save(self, path: Path) -> None:
        """The pooled model as ``path``; each source pair's model in the folder of the same name."""
        for sources, data in self.models.items():
            model.save(data, model_file(path, sources))

    def _parameters(self) -> None:
        """``sc_param`` (sp, col, gamma, lw): each level's log2(m/u), and the prior's weight as col ''; ``sc_tf_u``
        (sp, col, log2_u): log2 of u at the level with a term-frequency adjustment."""
        params: list[tuple[str, str, int, float]] = []
        tf_u: list[tuple[str, str, float]] = []
        for sources, data in self.models.items():
            prior = float(data["probability_two_random_records_match"])
            params.append((sources, "", 0, math.log2(prior / (1 - prior))))
            for comparison in data["comparisons"]:
                name = comparison["output_column_name"]
                for g, level in training.levels(comparison):
                    if g >= 0:
                        params.append((sources, name, g, training.log2_bf(level)))
                    if g >= 0 and level.get("tf_adjustment_column"):
                        tf_u.append((sources, name, math.log2(float(level["u_probability"]))))
        self.engine.execute(
            "CREATE OR REPLACE TEMP TABLE sc_param AS SELECT unnest(?) AS sp, unnest(?) AS col, "
            "CAST(unnest(?) AS INTEGER) AS gamma, CAST(unnest(?) AS DOUBLE) AS lw",
            [list(column) for column in zip(*params, strict=True)],
        )
        self.engine.execute(
            "CREATE OR REPLACE TEMP TABLE sc_tf_u AS SELECT unnest(?::VARCHAR[]) AS sp, unnest(?::VARCHAR[]) AS col, "
            "unnest(?::DOUBLE[]) AS log2_u",
            [list(column) for column in zip(*tf_u, strict=True)] if tf_u else [[], [], []],
        )

    def _compared(self) -> list[tuple[str, str, bool]]:
        """The pairs of sets to compare that have records on both sides."""
        counts = self.engine.fetchone(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in incremental.SETS.values())
            + " FROM link_scoring"
        ) or tuple(0 for _ in incremental.SETS)
        size = dict(zip(incremental.SETS, counts, strict=True))
        return [(a, b, within) for a, b, within in incremental.COMPARED_SETS if size[a] and size[b]]

    def _candidates(self, compared: list[tuple[str, str, bool]]) -> str:
        """SQL: the distinct candidate pairs (key_l, key_r), over the sets' tables ``sc_set_<name>``."""
        condition = incremental.pair_condition()
        parts = []
        for left, right, within in compared:
            order = " AND l.record_key < r.record_key" if within else ""
            for rule in model.candidate_rules():
                parts.append(
                    f"SELECT l.record_key AS key_l, r.record_key AS key_r FROM sc_set_{left} l "
                    f"JOIN sc_set_{right} r ON ({rule}) AND {condition}{order}"
                )
        return "\nUNION\n".join(parts) or "SELECT NULL::VARCHAR AS key_l, NULL::VARCHAR AS key_r WHERE false"

    def score(self, threshold: float = incremental.REVIEW) -> list[str]:
        """Score the pairs this run needs; returns the tables of pairs at or above ``threshold``."""
        engine = self.engine
        pooled = self.models[POOLED]
        compared = self._compared()
        sets = sorted({name for a, b, _ in compared for name in (a, b)})
        for name in sets:
            engine.execute(f"CREATE OR REPLACE TEMP TABLE sc_set_{name} AS {incremental.set_select(name)}")
        tfs = tf_levels(pooled)
        for _, tf_col, _, _ in tfs:
            engine.execute(
                f"CREATE OR REPLACE TEMP TABLE sc_tf_{tf_col} AS SELECT {tf_col} AS value, "
                f"CAST(count(*) AS DOUBLE) / (SELECT count({tf_col}) FROM link_norm_stage) AS tf "
                f"FROM link_norm_stage WHERE {tf_col} IS NOT NULL GROUP BY {tf_col}"
            )
        columns = training.compared_columns()
        tf_select = ", ".join(f"tf_{c}.tf AS tf_{c}" for _, c, _, _ in tfs)
        tf_join = " ".join(f"LEFT JOIN sc_tf_{c} tf_{c} ON tf_{c}.value = x.{c}_l" for _, c, _, _ in tfs)
        engine.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE sc_cmp AS
            SELECT x.key_l, x.key_r, x.sp, {training.gamma_sql(pooled)}{", " + tf_select if tfs else ""}
            FROM ({training.pair_columns_sql(self._candidates(compared), "link_norm_stage", columns)}) x {tf_join}
            """
        )
        for name in sets:
            engine.execute(f"DROP TABLE sc_set_{name}")
        training.refine(engine, self.models, "sc_cmp")
        self._parameters()
        gammas = [f"g_{c['output_column_name']}" for c in pooled["comparisons"]]
        joins = " ".join(
            f"LEFT JOIN sc_param w_{g} ON w_{g}.sp = p.sp AND w_{g}.col = '{g[2:]}' AND w_{g}.gamma = p.{g}"
            for g in gammas
        )
        tf_u_select = "".join(f", u_{c}.log2_u AS log2_u_{c}" for c, _, _, _ in tfs)
        tf_u_join = " ".join(f"LEFT JOIN sc_tf_u u_{c} ON u_{c}.sp = p.sp AND u_{c}.col = '{c}'" for c, _, _, _ in tfs)
        adjust = "".join(
            f" + CASE WHEN c.g_{c_} = {g} AND c.tf_{tf} IS NOT NULL THEN {w!r} * (pw.log2_u_{c_} - log2(c.tf_{tf})) "
            "ELSE 0 END"
            for c_, tf, g, w in tfs
        )
        base = " + ".join(["prior.lw", *(f"coalesce(w_{g}.lw, 0)" for g in gammas)])
        limit = math.log2(threshold / (1 - threshold))
        engine.execute(
            f"""
            CREATE OR REPLACE TABLE link_scored AS
            WITH pat AS (SELECT DISTINCT sp, {", ".join(gammas)} FROM sc_cmp),
            pw AS (
              SELECT p.*, {base} AS base{tf_u_select} FROM pat p
              JOIN sc_param prior ON prior.sp = p.sp AND prior.col = '' {joins} {tf_u_join}
            ),
            scored AS (
              SELECT c.key_l, c.key_r, pw.base{adjust} AS weight
              FROM sc_cmp c JOIN pw USING (sp, {", ".join(gammas)})
            )
            SELECT key_l, key_r,
              CASE WHEN weight >= 0 THEN 1.0 / (1.0 + pow(2.0, -weight))
                ELSE pow(2.0, weight) / (1.0 + pow(2.0, weight)) END AS probability, weight
            FROM scored WHERE weight >= ?
            """,
            [limit],
        )
        engine.execute("DROP TABLE sc_cmp; DROP TABLE sc_param; DROP TABLE sc_tf_u")
        for _, tf_col, _, _ in tfs:
            engine.execute(f"DROP TABLE sc_tf_{tf_col}")
        return ["link_scored"]
