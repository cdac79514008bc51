"""A batch of census files checked with its header's fields once per file (``census_checks``) ends exactly as the
same files staged and checked record by record (``checks.check``): the same columns, values and rule bits, for
headers of every kind of fault and the pupils of the hostile corpus."""

from __future__ import annotations

from pathlib import Path

from pupildata.collect import load
from pupildata.collect.census_checks import check_batch
from pupildata.collect.checks import CHECKED, check
from pupildata.collect.readers.census_xml import Parsed, census_batch, census_files, parse_census, stage_census_batch
from pupildata.collect.schemas import CENSUS
from pupildata.kernel.engine import DuckDBEngine

HERE = Path(__file__).parent
FIXTURE = (HERE / "fixtures" / "census_8742001.xml").read_text(encoding="utf-8")
HEADERS = [
    {},
    {"<Term>SPR</Term>": "<Term> spr </Term>"},
    {"<Term>SPR</Term>": "<Term>WIN</Term>"},
    {"<Year>2009</Year>": "<Year>two</Year>"},
    {"<Year>2009</Year>": "<Year> 2009</Year>"},
    {"<ReferenceDate>2009-01-15</ReferenceDate>": "<ReferenceDate>15/01/2009</ReferenceDate>"},
    {"<ReferenceDate>2009-01-15</ReferenceDate>": "<ReferenceDate>soon</ReferenceDate>"},
    {"<ReferenceDate>2009-01-15</ReferenceDate>": ""},
    {"<LEA>874</LEA>": "<LEA>87A</LEA>"},
    {"<Estab>2001</Estab>": "<Estab> 20011</Estab>"},
    {"<SchoolName>": "<URN>1000011</URN><SchoolName>"},
    {"<SchoolName>": "<URN>100001</URN><SchoolName>"},
    {"<SchoolName>Fixture Primary School</SchoolName>": ""},
    {"<SchoolName>": "<SchoolName>" + "Long " * 50},
]


def _checked(engine: DuckDBEngine, columns: list[str]) -> list[tuple[object, ...]]:
    return engine.fetchall(f"SELECT {', '.join(columns)} FROM {CHECKED} ORDER BY batch_file, record_index")


def _files(tmp_path: Path) -> dict[int, Parsed]:
    texts = []
    for changes in HEADERS:
        text = FIXTURE
        for old, new in changes.items():
            assert old in text
            text = text.replace(old, new, 1)
        texts.append(text)
    paths = []
    for n, text in enumerate(texts):
        path = tmp_path / f"{n:02d}.xml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    paths += sorted((HERE / "hostile").glob("*.xml"))
    parsed = {n: parse_census(path) for n, path in enumerate(paths)}
    assert sum(not p.rejected for p in parsed.values()) > len(HEADERS)
    return parsed


def test_a_batch_checked_per_file_and_per_pupil_ends_as_checked_record_by_record(tmp_path: Path) -> None:
    files = _files(tmp_path)
    engine = DuckDBEngine()
    stage_census_batch(engine, files)
    check(engine, CENSUS)
    columns = {str(row[0]): row[1] for row in engine.fetchall(f"DESCRIBE {CHECKED}")}
    expected = _checked(engine, list(columns))
    facts = engine.fetchall(  # as over the records of each file (`load._facts`)
        f"SELECT batch_file, {CENSUS.collection_sql}, left(string_agg(DISTINCT laestab, ',' ORDER BY laestab), 200), "
        "count(*), count(*) FILTER (WHERE errors = 0), count(*) FILTER (WHERE errors <> 0), "
        f"count(*) FILTER (WHERE errors = 0 AND queries <> 0) FROM {CHECKED} GROUP BY batch_file ORDER BY batch_file"
    )
    table, _ = census_batch(files, with_header=False)
    assert table is not None
    _, headers, texts = check_batch(engine, CENSUS.name, table, census_files(files))
    sent = [name for name in columns if name.startswith("r_")]
    assert len(sent) == len(CENSUS.fields)
    # the texts as sent are left where they were parsed; the rest is as checked record by record
    assert {str(row[0]): row[1] for row in engine.fetchall(f"DESCRIBE {CHECKED}")} == {
        name: kind for name, kind in columns.items() if name not in sent
    }
    assert texts.column_names == ["batch_file", "record_index", *sent]
    engine.register("texts", texts)
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS SELECT c.*, t.* EXCLUDE (batch_file, record_index) "
        f"FROM {CHECKED} c JOIN texts t USING (batch_file, record_index)"
    )
    found = _checked(engine, list(columns))
    assert found == expected
    errors = {row[-2] for row in found}
    assert len(errors) > 5  # headers and pupils of many kinds of fault
    by_file = load._facts_of_batch(engine, CENSUS, headers, given_collection=None)
    assert [(n, f["collection"], f["sender"], f["records"], f["accepted"], f["quarantined"], f["queried"])
            for n, f in sorted(by_file.items())] == facts  # fmt: skip
    assert any(f["collection"] is None for f in by_file.values())
