"""The fast reading of census files (``census_fast``) gives exactly the table of the streaming parser, or leaves
the file to it: on hand-made edge cases, the hostile corpus, and generated documents."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pupildata.collect.readers import census_xml
from pupildata.collect.readers.census_xml import Parsed, parse_census, parse_streaming

HOSTILE = Path(__file__).parent / "hostile"
FIXTURES = Path(__file__).parent / "fixtures"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
HEADER = (
    "<Header><CollectionDetails><Term>SPR</Term><Year>2009</Year><ReferenceDate>2009-01-15</ReferenceDate>"
    "</CollectionDetails><Source><LEA>874</LEA><Estab>2001</Estab><URN>100001</URN>"
    "<SchoolName>Fen School</SchoolName></Source></Header>"
)


def _plain(path: Path) -> bool:
    """Whether the fast reading takes the file (rather than leaving it to the streaming parser)."""
    found = census_xml.read_plain_census(path.read_bytes())
    return found is not None


def _same(a: Parsed, b: Parsed) -> bool:
    if a.rejected or b.rejected:
        return a.rejected == b.rejected
    assert a.table is not None
    assert b.table is not None
    return a.header == b.header and a.table.to_pylist() == b.table.to_pylist()


def _census(
    tmp: Path, pupils: str, *, header: str = HEADER, root: str = "SchoolCensus", head: str = DECLARATION
) -> Path:
    path = tmp / "census.xml"
    path.write_text(f"{head}<{root}>{header}<Pupils>{pupils}</Pupils></{root}>\n", encoding="utf-8")
    return path


PLAIN = {
    "ordinary": "<Pupil><UPN>A874200103001</UPN><Surname>Smith</Surname><Address><PostCode>PE1 1AA</PostCode>"
    "</Address></Pupil>",
    "empty and missing": "<Pupil><UPN/><Surname></Surname><MiddleNames>  </MiddleNames></Pupil>",
    "an empty pupil": "<Pupil/><Pupil><UPN>X</UPN></Pupil><Pupil></Pupil>",
    "pupil on roll and alias": "<PupilOnRoll><UPN>B1</UPN><FirstLanguage>ENG</FirstLanguage></PupilOnRoll>"
    "<Pupil><Language>POL</Language><FirstLanguage>ENG</FirstLanguage></Pupil>",
    "repeated fields keep the last": "<Pupil><UPN>1</UPN><UPN>2</UPN><Surname>A</Surname><Surname/></Pupil>",
    "contacts' names are not the pupil's": "<Pupil><Surname>Own</Surname><Contacts><Contact><Surname>Carer</Surname>"
    "<Forename>Pat</Forename></Contact></Contacts></Pupil>",
    "unknown elements ignored": "<Pupil><Shoe>9</Shoe><UPN>C</UPN><Extra><UPN>not this</UPN></Extra></Pupil>",
    "text before a child only": "<Pupil><Surname>Ab<i>cd</i>ef</Surname><Forename><b>x</b>y</Forename></Pupil>",
    "postcodes: address over own": "<Pupil><PostCode>OWN1</PostCode><Address><PostCode>ADR1</PostCode></Address>"
    "</Pupil><Pupil><Address><PostCode>A1</PostCode><PostCode>A2</PostCode></Address><PostCode>OWN</PostCode>"
    "</Pupil><Pupil><PostCode>O1</PostCode><PostCode>O2</PostCode><Address/><Address><Line>x</Line></Address>"
    "</Pupil><Pupil><Address><PostCode>A</PostCode></Address><Address><PostCode>B</PostCode></Address></Pupil>"
    "<Pupil><Address><Lines><PostCode>deep</PostCode></Lines></Address></Pupil>",
    "tabs, newlines, quotes, commas, markup characters": "<Pupil><Surname>a\tb\nc \"d\" 'e', f > g</Surname>"
    "<Forename>\u00e9\u00df\u4e2d \U0001f600</Forename></Pupil>",
    "pretty-printed": "\n  <Pupil>\n    <UPN>D</UPN>\n    <Surname> Spaced </Surname>\n  </Pupil>\n",
    "white space ending closing tags": "<Pupil><UPN>M</UPN\n><Other>o</Other ><Surname/></Pupil\t>",
    "names like ours": "<Pupil><UPNs>no</UPNs><UP>no</UP><SurnameX>no</SurnameX>"
    "<PreferredSurnameX>n</PreferredSurnameX><PreferredSurname>yes</PreferredSurname><x.y-z_1>ok</x.y-z_1></Pupil>",
}

LEFT_TO_THE_STREAMING_PARSER = {
    "an entity": "<Pupil><Surname>O&apos;Brien &amp; Co</Surname></Pupil>",
    "a character reference": "<Pupil><Surname>Caf&#233;</Surname></Pupil>",
    "CDATA": "<Pupil><Surname><![CDATA[<b>]]></Surname></Pupil>",
    "a comment": "<Pupil><Surname>Sm<!-- c -->ith</Surname></Pupil>",
    "a processing instruction": "<Pupil><?mis x?><UPN>E</UPN></Pupil>",
    "an attribute": '<Pupil id="1"><UPN>F</UPN></Pupil>',
    "a space in a tag": "<Pupil ><UPN >G</UPN ></Pupil>",
    "a carriage return reference": "<Pupil><Surname>a&#13;b</Surname></Pupil>",
    "a pupil inside a pupil": "<Pupil><UPN>H</UPN><Pupil><UPN>I</UPN></Pupil></Pupil>",
    "a namespace": '<Pupil xmlns="urn:x"><UPN>J</UPN></Pupil>',
    "an attribute of an element not read": '<Pupil><Extra a="1"><UPN>x</UPN></Extra><UPN>N</UPN></Pupil>',
    "a namespace declared by an element not read": '<Wrap xmlns="urn:x"><Pupil><UPN>O</UPN></Pupil></Wrap>',
    "a prefix on an element not read": '<Pupil><x:Other xmlns:x="urn:x">P</x:Other><UPN>Q</UPN></Pupil>',
    "a known name with a prefix": '<Pupil xmlns:x="urn:x"><x:UPN>R</x:UPN></Pupil>',
    "a prefix never declared": "<Pupil><x:UPN>K</x:UPN><UPN>L</UPN></Pupil>",
}


@pytest.mark.parametrize("case", sorted(PLAIN))
def test_plain_files_are_read_fast_with_the_same_table(tmp_path: Path, case: str) -> None:
    path = _census(tmp_path, PLAIN[case])
    assert _plain(path)
    assert _same(parse_census(path), parse_streaming(path))


@pytest.mark.parametrize("case", sorted(LEFT_TO_THE_STREAMING_PARSER))
def test_other_files_are_left_to_the_streaming_parser(tmp_path: Path, case: str) -> None:
    path = _census(tmp_path, LEFT_TO_THE_STREAMING_PARSER[case])
    assert not _plain(path)
    assert _same(parse_census(path), parse_streaming(path))


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("Message root", {"root": "Message"}),
        ("no declaration", {"head": ""}),
        ("byte order mark", {"head": "\ufeff" + DECLARATION}),
        ("repeated header", {"header": HEADER + HEADER.replace("2001", "2002")}),
        ("a header field after the header", {"header": HEADER + "<LEA/>"}),
    ],
)
def test_documents_read_fast(tmp_path: Path, case: str, kwargs: dict[str, str]) -> None:
    path = _census(tmp_path, PLAIN["ordinary"], **kwargs)
    assert _plain(path), case
    assert _same(parse_census(path), parse_streaming(path))


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("another root", {"root": "Invoice"}),
        ("declared windows-1252", {"head": '<?xml version="1.0" encoding="windows-1252"?>'}),
        ("no header", {"header": ""}),
        ("a header inside a pupil's container", {"header": "<Wrap>" + HEADER + "</Wrap>"}),
    ],
)
def test_documents_left_to_the_streaming_parser(tmp_path: Path, case: str, kwargs: dict[str, str]) -> None:
    path = _census(tmp_path, PLAIN["ordinary"], **kwargs)
    fast, slow = parse_census(path), parse_streaming(path)
    assert _same(fast, slow), case
    if kwargs.get("root") == "Invoice":
        assert fast.rejected is not None
        assert fast.rejected[0] == "XML-ROOT-01"


def test_windows_line_ends_are_read_fast(tmp_path: Path) -> None:
    path = _census(tmp_path, PLAIN["pretty-printed"] + "<Pupil><Surname>a\r\nb\rc</Surname></Pupil>")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert _plain(path)
    fast = parse_census(path)
    assert _same(fast, parse_streaming(path))
    assert fast.table is not None
    assert fast.table.column("r_surname").to_pylist()[-1] == "a\n\nb\nc"


def test_a_malformed_plain_file_is_refused_as_before(tmp_path: Path) -> None:
    path = _census(tmp_path, "<Pupil><UPN>A</Surname></Pupil>")
    parsed = parse_census(path)
    assert parsed.rejected is not None
    assert parsed.rejected[0] == "XML-WF-01"
    assert parsed.rejected == parse_streaming(path).rejected


def test_a_file_cut_short_anywhere_reads_as_before(tmp_path: Path) -> None:
    """Every prefix of a plain file (a tag cut in two, a name in the last bytes, nothing after the declaration)."""
    whole = _census(tmp_path, PLAIN["ordinary"] + "<Pupil><UPN/><Surname>Lee</Surname></Pupil>").read_bytes()
    path = tmp_path / "cut.xml"
    for end in range(len(whole)):
        path.write_bytes(whole[:end])
        assert _same(parse_census(path), parse_streaming(path)), whole[:end]


def test_each_column_holds_only_its_own_texts(tmp_path: Path) -> None:
    """The columns are pickled to the process that loads them: none carries the other columns' texts."""
    path = _census(tmp_path, PLAIN["ordinary"] * 50)
    found = census_xml.read_plain_census(path.read_bytes())
    assert found is not None
    for column in found[1]:
        alone = pa.array(column.to_pylist(), type=pa.string())
        assert len(pickle.dumps(column)) <= len(pickle.dumps(alone)) + 64


@pytest.mark.parametrize("path", sorted([*HOSTILE.rglob("*.xml"), *FIXTURES.glob("*.xml")]), ids=lambda p: p.name)
def test_hostile_corpus_and_fixtures_read_the_same(path: Path) -> None:
    assert _same(parse_census(path), parse_streaming(path))


def test_the_hostile_files_refused_before_are_refused_with_their_codes() -> None:
    expected = {
        "xxe_external_entity.xml": "XML-DTD-01",
        "billion_laughs.xml": "XML-DTD-01",
        "external_dtd.xml": "XML-DTD-01",
        "malformed.xml": "XML-WF-01",
        "truncated.xml": "XML-WF-01",
        "nul_in_xml.xml": "XML-WF-01",
        "deep_nesting.xml": "XML-WF-01",
        "wrong_root.xml": "XML-ROOT-01",
        "invalid_utf8.xml": "FILE-ENC-01",
        "windows1252_undeclared.xml": "FILE-ENC-01",
        "missing_header.xml": "XML-HDR-01",
    }
    for name, code in expected.items():
        parsed = parse_census(HOSTILE / name)
        assert parsed.rejected is not None, name
        assert parsed.rejected[0] == code, name


# Generated documents: pupils of random elements (ours, aliases, unknown, nested, repeated, empty or missing)
# with random text, including every character XML allows that matters to a delimited format.
TAGS = ["UPN", "Surname", "Forename", "Language", "FirstLanguage", "PostCode", "Address", "Contacts", "Other", "DOB"]
TEXT = st.text(alphabet=st.sampled_from(list("aZ9 \t\n,;\"'|>=é中-")), max_size=6)


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    form = draw(st.sampled_from(["empty", "text", "nested"] if depth < 2 else ["empty", "text"]))
    if form == "empty":
        return f"<{tag}/>"
    text = draw(TEXT).replace("&", "").replace("<", "")
    inner = "".join(draw(st.lists(_element(depth + 1), max_size=3))) if form == "nested" else ""
    return f"<{tag}>{text}{inner}{draw(TEXT) if inner else ''}</{tag}>"


@st.composite
def _pupils(draw: st.DrawFn) -> str:
    pupils = draw(st.lists(st.lists(_element(), max_size=6), min_size=1, max_size=5))
    record = draw(st.sampled_from(census_xml.RECORDS))
    return "".join(f"<{record}>{''.join(children)}</{record}>" for children in pupils)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pupils())
def test_generated_documents_read_the_same(pupils: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _census(Path(folder), pupils)
        assert _plain(path)
        assert _same(parse_census(path), parse_streaming(path))
