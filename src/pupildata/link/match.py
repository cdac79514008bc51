"""``pupildata match``: match any file to the spine, or to a second file, on the identifying fields each has.

A survey agency's list or another department's extract rarely looks like a data return: the columns are named
by ``--columns field=column,...`` (fields: forename, middle_names, surname, dob, sex, postcode, address, upn,
uln), values are normalised as in ``link`` (case, spacing, M/Male/1, unparseable dates treated as missing), and
the output holds only the two ids and the match probability: no identity it was not given is copied.

The model is the latest one saved by ``pupildata link`` in the home, or else the packaged default (trained on
synthetic data); its prior is set for this file pair (one true match per left record at most).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pupildata.errors import DataError, UsageError
from pupildata.kernel.engine import DuckDBEngine
from pupildata.link import contract, model, normalise

FIELDS = ("forename", "middle_names", "surname", "dob", "sex", "postcode", "address", "upn", "uln")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class Side:
    path: Path
    columns: dict[str, str]
    id_column: str | None


def parse_columns(text: str, option: str = "--columns") -> dict[str, str]:
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        field, sep, column = part.partition("=")
        if not sep or not column.strip():
            raise UsageError(f"{option}: '{part}' is not field=column.")
        if field.strip() not in FIELDS:
            raise UsageError(f"{option}: '{field.strip()}' is not one of {', '.join(FIELDS)}.")
        mapping[field.strip()] = column.strip()
    if not mapping:
        raise UsageError(f"{option} names no field.")
    return mapping


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv(path: Path) -> str:
    return f"read_csv('{path.resolve().as_posix().replace(chr(39), chr(39) * 2)}', all_varchar = true, header = true)"


def _load(engine: DuckDBEngine, side: Side, table: str, dob_format: str | None) -> int:
    if not side.path.is_file():
        raise UsageError(f"{side.path} is not a file.")
    if side.path.stat().st_size == 0:
        raise DataError(f"{side.path} is empty.")
    try:
        header = [r[0] for r in engine.fetchall(f"DESCRIBE SELECT * FROM {_csv(side.path)}")]
    except Exception:
        raise DataError(f"{side.path} cannot be read as a CSV file with a header row.") from None
    wanted = list(side.columns.values()) + ([side.id_column] if side.id_column else [])
    for name in wanted:
        if name not in header:
            raise UsageError(f"{side.path.name} has no column '{name}' (it has {', '.join(header)}).")
    identifying = {"forename", "surname", "dob", "upn", "uln", "postcode"} & set(side.columns)
    if not identifying:
        raise UsageError(f"{side.path.name}: map at least one of forename, surname, dob, upn, uln or postcode.")
    formats: tuple[str, ...] = (dob_format,) if dob_format else DATE_FORMATS
    values: dict[str, str] = {}
    for field in contract.NAMES:
        column = side.columns.get(field)
        if field == "dob" and column:
            tries = ", ".join(f"try_strptime(trim({_quote(column)}), '{f}')::DATE" for f in formats)
            values[field] = f"coalesce({tries})"
        else:
            values[field] = _quote(column) if column else "NULL"
    row_id = f"CAST({_quote(side.id_column)} AS VARCHAR)" if side.id_column else "CAST(row_number() OVER () AS VARCHAR)"
    values.update(record_key=row_id, source=f"'{table}'", year="0", return_key=f"'{table}'")
    select = ", ".join(f"{expr} AS {name}" for name, expr in values.items())
    engine.execute(f"CREATE OR REPLACE TEMP TABLE {table}_raw AS SELECT {select} FROM {_csv(side.path)}")
    rows = int(engine.scalar(f"SELECT count(*) FROM {table}_raw"))
    if rows == 0:
        raise DataError(f"{side.path} has a header but no records.")
    dupes = engine.scalar(f"SELECT count(*) - count(DISTINCT record_key) FROM {table}_raw")
    if dupes:
        raise DataError(f"{side.path.name}: the id column '{side.id_column}' repeats {dupes} value(s).")
    normalise.install_forename_groups(engine)
    engine.execute(f"CREATE OR REPLACE TABLE {table} AS {normalise.normal_select(f'{table}_raw')}")
    engine.execute(f"ALTER TABLE {table} ADD COLUMN grp VARCHAR; UPDATE {table} SET grp = '{table}'")
    return rows


def base_model(models: Path | None) -> dict[str, Any]:
    saved = sorted(models.glob("link-*.json"), key=lambda p: p.stat().st_mtime) if models and models.is_dir() else []
    if saved:
        return model.load(saved[-1])
    text = resources.files("pupildata.link").joinpath("data/default_model.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def match(
    engine: DuckDBEngine,
    left: Side,
    right: Side | None,
    out: Path,
    *,
    dob_format: str | None = None,
    one_to_one: bool = False,
    threshold: float = 0.9,
    models: Path | None = None,
) -> int:
    """Write ``out`` (left_id, right_id, match_probability); returns the number of pairs written."""
    from splink import DuckDBAPI, Linker

    from pupildata.link.scoring import _quiet

    _quiet()
    n_left = _load(engine, left, "match_left", dob_format)
    if right is not None:
        n_right = _load(engine, right, "match_right", dob_format)
        right_id = "record_key_r"
    else:
        if not engine.table_exists("link_member"):
            raise UsageError("There is no spine to match against: run `pupildata link`, or give --against FILE2.")
        engine.execute(
            "CREATE OR REPLACE TABLE match_right AS SELECT n.*, 'spine' AS grp, m.pmr FROM link_norm n "
            "JOIN link_member m USING (record_key)"
        )
        n_right = int(engine.scalar("SELECT count(DISTINCT pmr) FROM match_right"))
        right_id = "pmr"
    settings = base_model(models)
    settings["probability_two_random_records_match"] = 1.0 / max(n_right, 2) if n_left else 0.5
    engine.execute(
        "CREATE OR REPLACE TABLE match_all AS SELECT * FROM match_left UNION ALL BY NAME SELECT * FROM match_right"
    )
    db_api = DuckDBAPI(connection=engine.connection.cursor())
    linker = Linker(db_api.register("match_all", dataset_display_name="match_all"), settings)
    linker.table_management.compute_tf_table("fn")
    linker.table_management.compute_tf_table("sn")
    pairs = linker.inference.predict_between(
        db_api.register("match_left", dataset_display_name="match_l"),
        db_api.register("match_right", dataset_display_name="match_r"),
        blocking_rules_to_generate_predictions=model.blocking_rules(),
        threshold_match_probability=threshold,
        warning_mode="never",
    )
    key_r = "r.pmr" if right is None else "p.record_key_r"
    join = "JOIN match_right r ON r.record_key = p.record_key_r" if right is None else ""
    engine.execute(
        f"""CREATE OR REPLACE TABLE match_pairs AS
        SELECT p.record_key_l AS left_id, {key_r} AS right_id, max(p.match_probability) AS match_probability
        FROM {pairs.physical_name} p {join} GROUP BY ALL"""
    )
    if one_to_one:
        engine.execute(
            """CREATE OR REPLACE TABLE match_pairs AS SELECT left_id, right_id, match_probability FROM (
              SELECT *, row_number() OVER (PARTITION BY left_id ORDER BY match_probability DESC, right_id) AS rl,
                        row_number() OVER (PARTITION BY right_id ORDER BY match_probability DESC, left_id) AS rr
              FROM match_pairs) WHERE rl = 1 AND rr = 1"""
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    target = out.resolve().as_posix().replace("'", "''")
    engine.execute(
        f"COPY (SELECT left_id, right_id, round(match_probability, 6) AS match_probability FROM match_pairs "
        f"ORDER BY left_id, match_probability DESC, right_id) TO '{target}' (HEADER, DELIMITER ',')"
    )
    del right_id
    return int(engine.scalar("SELECT count(*) FROM match_pairs"))
