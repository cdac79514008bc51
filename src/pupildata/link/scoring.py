"""Running the model through Splink on the warehouse's own DuckDB connection: training and scoring.

Splink's DuckDB backend is used now; its Spark backend takes the same settings and blocking rules (the SQL here
is plain enough for sqlglot to transpile), so a Spark engine can run the same model later.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import incremental, model, normalise

#: Training reads about this many records at most (whole groups, chosen by a hash of the group)...
TRAIN_SAMPLE = 250_000
#: ...and each EM pass at most about this many blocked pairs (Splink samples records by a hash).
EM_MAX_PAIRS = 1e6


def _quiet() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Scorer:
    """A trained model over the records of ``link_scoring``."""

    def __init__(self, engine: DuckDBEngine, trained: dict[str, Any] | None = None) -> None:
        from splink import DuckDBAPI, Linker

        _quiet()
        self.engine = engine
        self.db_api = DuckDBAPI(connection=engine.connection.cursor())
        if trained is None:
            engine.execute(
                f"CREATE OR REPLACE TABLE link_train AS SELECT {', '.join(normalise.MODEL_COLUMNS)} FROM link_scoring "
                f"WHERE hash(grp) % greatest(1, (SELECT count(*) FROM link_scoring) // {TRAIN_SAMPLE} + 1) = 0"
            )
            records = self.db_api.register("link_train", dataset_display_name="link_train")
            self.linker = Linker(records, model.settings())
            model.train(self.linker, em_max_pairs=EM_MAX_PAIRS)
            self.model = model.trained(self.linker)
            # The prior was estimated on the sample: with 1/k of the people, a random pair is k times likelier
            # to match. Scoring compares records of the whole population, so the prior is scaled back.
            n_train, n_all = engine.fetchone(
                "SELECT (SELECT count(*) FROM link_train), (SELECT count(*) FROM link_scoring)"
            ) or (1, 1)
            if 0 < n_train < n_all:
                self.model["probability_two_random_records_match"] *= n_train / n_all
            engine.execute("DROP TABLE link_train")
        else:
            self.model = trained
        self.linker = Linker(self.db_api.register("link_scoring", dataset_display_name="records"), self.model)
        self.linker.table_management.compute_tf_table("fn")
        self.linker.table_management.compute_tf_table("sn")
        self._n = 0

    def save(self, path: Path) -> None:
        model.save(self.model, path)

    def _rules(self) -> list[Any]:
        condition = incremental.pair_condition()
        return [f"({rule}) AND {condition}" for rule in model.blocking_rules()]

    def _register(self, name: str, sql: str) -> Any:
        self._n += 1
        table = f"link_set_{name}"
        self.engine.execute(f"CREATE OR REPLACE VIEW {table} AS {sql}")
        if not self.engine.scalar(f"SELECT count(*) FROM {table}"):
            return None
        return self.db_api.register(table, dataset_display_name=f"{table}_{self._n}")

    def _keep(self, predictions: Any, out: str, threshold: float) -> str:
        self.engine.execute(
            f"CREATE OR REPLACE TABLE {out} AS SELECT record_key_l AS key_l, record_key_r AS key_r, "
            f"match_probability AS probability, match_weight AS weight FROM {predictions.physical_name} "
            "WHERE match_probability >= ?",
            [threshold],
        )
        predictions.drop_table_from_database_and_remove_from_cache()
        return out

    def score(self, threshold: float = incremental.REVIEW) -> list[str]:
        """Score the pairs this run needs; returns the tables of pairs at or above ``threshold``."""
        sets = incremental.scoring_sets()
        probe = self._register("probe", sets["probe"])
        out: list[str] = []
        if probe is not None:
            other = self._register("other", sets["other"])
            if other is not None:
                pairs = self.linker.inference.predict_between(
                    probe, other, blocking_rules_to_generate_predictions=self._rules(), warning_mode="never"
                )
                out.append(self._keep(pairs, "link_scored_between", threshold))
            pairs = self.linker.inference.predict_within(
                probe, blocking_rules_to_generate_predictions=self._rules(), warning_mode="never"
            )
            out.append(self._keep(pairs, "link_scored_within", threshold))
        new_upn = self._register("new_upn", sets["new_upn"])
        old_loose = self._register("old_loose", sets["old_loose"]) if new_upn is not None else None
        if new_upn is not None and old_loose is not None:
            pairs = self.linker.inference.predict_between(
                new_upn, old_loose, blocking_rules_to_generate_predictions=self._rules(), warning_mode="never"
            )
            out.append(self._keep(pairs, "link_scored_new_upn", threshold))
        return out
