"""The data formats guide is made from the sources' declarations: the names it gives are the names the readers
take, the codes it lists are the codes the rules allow, and the portal, the API and the command give the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pupildata.cli import main
from pupildata.collect import rules as r
from pupildata.collect.catalogue import _code_set
from pupildata.collect.formats import source_formats
from pupildata.collect.readers.sniff import choose_source
from pupildata.collect.schemas import SOURCES
from pupildata.settings import Settings
from pupildata.web import create_app


def test_every_source_and_field_is_in_the_guide_as_declared() -> None:
    guide = {s.name: s for s in source_formats()}
    assert list(guide) == list(SOURCES)
    for name, src in SOURCES.items():
        fields = {f.name: f for f in guide[name].fields}
        assert list(fields) == list(src.names)
        for declared in src.fields:
            shown = fields[declared.name]
            assert shown.label == declared.label
            assert shown.mandatory == declared.mandatory
            assert shown.identifying == declared.identifying
            if declared.code_set:
                assert [c.code for c in shown.codes] == list(_code_set(declared.code_set))
            else:
                assert shown.codes == ()


@pytest.mark.parametrize("name", [s for s in SOURCES if SOURCES[s].formats.count("csv")])
def test_a_header_of_the_guides_names_is_read_as_that_return(name: str) -> None:
    """A CSV header written from the guide (each field's name, or any other name it gives) is taken as that kind
    of return, every field found."""
    (src,) = [s for s in source_formats() if s.name == name]
    for pick in (0, -1):  # the main names, then the last other name each field has
        header = [([f.label, *f.other_names])[pick] for f in src.fields]
        chosen = choose_source(header, None, "csv")
        assert chosen.name == name
        assert set(chosen.match_headers(header)) == set(chosen.names)


def test_values_are_described_as_the_rules_read_them() -> None:
    kinds = {f.name: f.kind for s in source_formats() for f in s.fields}
    assert all(form in kinds["dob"] for form in r.DATE_FORMATS)
    assert all(text in kinds["fsm_eligible"] for text in (*r.TRUE_TEXTS, *r.FALSE_TEXTS))


def test_the_portal_page_the_api_and_the_command_give_the_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(create_app(Settings(home=tmp_path / "home")))
    page = client.get("/collections/formats")  # open to anyone: it names no one
    assert page.status_code == 200
    for src in source_formats():
        assert src.title in page.text
        assert all(f"<code>{f.label}</code>" in page.text for f in src.fields)
    assert "WBRI" in page.text  # the ethnicity codes, behind "The 20 codes"
    data = client.get("/api/v1/collections/formats").json()
    assert [s["name"] for s in data] == list(SOURCES)
    assert data[0]["fields"][0]["label"] == source_formats()[0].fields[0].label
    assert main(["collection", "formats", "ncmp", "--json"]) == 0
    (printed,) = json.loads(capsys.readouterr().out)
    assert printed["name"] == "ncmp"
    assert [f["label"] for f in printed["fields"]][-2:] == ["HeightCm", "WeightKg"]
    assert main(["collection", "formats", "survey"]) == 0
    assert "RespondentID" in capsys.readouterr().out
    assert main(["collection", "formats", "parquet"]) == 2  # a file format, not a kind of return
    assert "the kinds are census, ks, ncmp, ilr, survey" in " ".join(capsys.readouterr().err.split())


def test_a_file_of_no_known_return_is_pointed_to_the_guide() -> None:
    from pupildata.collect.readers import Rejected

    with pytest.raises(Rejected) as refused:
        choose_source(["Name", "Score"], None, "csv")
    assert "/collections/formats" in refused.value.message


def test_the_census_layout_names_every_root_and_record_element_the_reader_takes() -> None:
    from pupildata.collect.formats import xml_layout
    from pupildata.collect.readers.census_xml import RECORDS, ROOTS

    (census,) = [s for s in source_formats() if s.name == "census"]
    layout = xml_layout(census)
    assert layout.startswith("one <Pupil> ")
    assert all(f"<{name}>" in layout for name in (*ROOTS, *RECORDS))
