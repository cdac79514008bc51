"""Write the hostile-input corpus under tests/collect/hostile/ (run once; the files are committed).

    .venv/bin/python tests/collect/make_hostile.py

Each file's expected outcome is in test_hostile.py.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent / "hostile"

HEADER = (
    "<Header><CollectionDetails><Collection>SC</Collection><Term>SPR</Term><Year>2009</Year>"
    "<ReferenceDate>2009-01-15</ReferenceDate></CollectionDetails>"
    "<Source><LEA>874</LEA><Estab>{estab}</Estab><SchoolName>Hostile School</SchoolName></Source></Header>"
)
GOOD_PUPIL = (
    "<Pupil><UPN>Z874200103001</UPN><Surname>{surname}</Surname><Forename>John</Forename>"
    "<DOB>{dob}</DOB><Gender>{gender}</Gender><Ethnicity>{ethnicity}</Ethnicity><Language>ENG</Language>"
    "<FSMeligible>0</FSMeligible><SENprovision>{sen}</SENprovision><NCyearActual>{nc}</NCyearActual>"
    "<Address><PostCode>PE1 1AA</PostCode></Address></Pupil>"
)


def pupil(**values: str) -> str:
    base = {"surname": "Smith", "dob": "2001-03-04", "gender": "M", "ethnicity": "WBRI", "sen": "N", "nc": "3"}
    return GOOD_PUPIL.format(**{**base, **values})


def census(pupils: str, estab: str = "2901", declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    prolog = declaration + "\n" if declaration else ""
    return f"{prolog}<SchoolCensus>{HEADER.format(estab=estab)}<Pupils>{pupils}</Pupils></SchoolCensus>\n"


KS_HEADER = "UPN,Surname,Forenames,DOB,Gender,LAEstab,URN,EnglishLevel,MathsLevel,ScienceLevel\r\n"
KS_ROW = "C874400198001,Adams,Zoe,01/10/1997,F,8742001,172001,4,5,4\r\n"
SURVEY_HEADER = "RespondentID,Wave,InterviewDate,FirstName,LastName,DOB,Gender,Postcode,MainActivity\n"


def write(name: str, data: str | bytes) -> None:
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def xml_cases() -> None:
    write(
        "xxe_external_entity.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE SchoolCensus [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        + census(pupil(surname="&xxe;"), declaration=""),
    )
    chain = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    write(
        "billion_laughs.xml",
        f'<?xml version="1.0"?>\n<!DOCTYPE SchoolCensus [<!ENTITY l0 "lol">{chain}]>\n'
        + census(pupil(surname="&l9;"), declaration=""),
    )
    write(
        "external_dtd.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE SchoolCensus SYSTEM "http://example.invalid/census.dtd">\n'
        + census(pupil(), declaration=""),
    )
    write("malformed.xml", census(pupil()).replace("</Surname>", "</Surnam>", 1))
    write("truncated.xml", census(pupil() * 3)[:-120])
    write("wrong_root.xml", '<?xml version="1.0"?>\n<Invoice><Header/><Line>1</Line></Invoice>\n')
    write("utf16_no_declaration.xml", census(pupil(), estab="2902", declaration="").encode("utf-16-le"))
    declared = census(pupil(surname="Zoë Ångström", estab="2903"), estab="2903",
                      declaration='<?xml version="1.0" encoding="windows-1252"?>')  # fmt: skip
    write("windows1252_declared.xml", declared.encode("cp1252"))
    write("windows1252_undeclared.xml", census(pupil(surname="Zoë")).encode("cp1252"))
    write("invalid_utf8.xml", census(pupil(surname="Smith")).encode("utf-8").replace(b"Smith", b"Sm\xffth"))
    write("nul_in_xml.xml", census(pupil(surname="Sm\x00ith")))
    write("huge_field.xml", census(pupil(surname="A" * 1_048_576), estab="2904"))
    write(
        "formula_injection.xml",
        census(pupil(surname="=cmd|' /C calc'!A0", ethnicity='=HYPERLINK("http://x.invalid","x")'), estab="2905"),
    )
    write(
        "missing_header.xml", '<?xml version="1.0"?>\n<SchoolCensus><Pupils>' + pupil() + "</Pupils></SchoolCensus>\n"
    )
    write("no_pupils.xml", census("", estab="2906"))
    write(
        "comments_and_pis.xml",
        census("<!-- a comment --><?mis export?>" + pupil(surname="Smith<!-- inner -->"), estab="2907"),
    )
    write("entities_and_cdata.xml", census(pupil(surname="O&apos;Brien &amp; Co &#233;<![CDATA[]]>"), estab="2908"))
    write("duplicate_upns.xml", census(pupil() + pupil(surname="Smyth"), estab="2909"))
    write("dob_in_future.xml", census(pupil(dob="2031-01-01"), estab="2910"))
    write("dob_nc_year_mismatch.xml", census(pupil(nc="9"), estab="2911"))
    write("unknown_codes.xml", census(pupil(gender="X", sen="Q"), estab="2912"))
    write("bad_check_letter.xml", census(pupil().replace("Z874200103001", "A874200103001"), estab="2913"))
    write("deep_nesting.xml", census(pupil(surname="<b>" * 3000 + "x" + "</b>" * 3000), estab="2914"))
    write(
        "sql_in_values.xml",
        census(pupil(surname="Robert'); DROP TABLE collect_census;--"), estab="2915"),
    )


def csv_cases() -> None:
    write("empty.csv", b"")
    write("whitespace_only.csv", "\n \r\n\t\n")
    write("only_header.csv", KS_HEADER)
    write("no_header.csv", KS_ROW * 2)
    write("missing_column.csv", KS_HEADER.replace("Surname,", "") + KS_ROW.replace("Adams,", ""))
    write("extra_columns.csv", KS_HEADER.replace("\r\n", ",Notes\r\n") + KS_ROW.replace("\r\n", ",hello\r\n"))
    write("ragged_rows.csv", KS_HEADER + KS_ROW + "C874400198001,Adams\r\n" + KS_ROW.replace("\r\n", ",x,y\r\n"))
    write("duplicate_header.csv", KS_HEADER.replace("Forenames", "Surname") + KS_ROW)
    write("bom_crlf.csv", "\ufeff" + KS_HEADER + KS_ROW)
    write(
        "quotes_in_names.csv",
        SURVEY_HEADER + 'Q1,1,20090501,"Mary\nAnn","O""Brien, Jr",19960101,Female,PE1 1AA,At school\n',
    )
    write(
        "windows1252_undeclared.csv",
        (SURVEY_HEADER + "W1,1,20090501,Ann,Zoë,19960101,Female,,At school\n").encode("cp1252"),
    )
    write("utf16_with_bom.csv", (SURVEY_HEADER + "U1,1,20090501,Ann,Lee,19960101,Female,,At school\n").encode("utf-16"))
    write(
        "utf16_no_bom.csv", (SURVEY_HEADER + "U2,1,20090501,Ann,Lee,19960101,Female,,At school\n").encode("utf-16-le")
    )
    write("embedded_nul.csv", KS_HEADER + KS_ROW.replace(",4,5,4", ",4\x00,5,4"))
    # a spreadsheet sent as it is, not saved as CSV (a workbook is a zip of XML parts)
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as parts:
        for part, text in (("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<workbook/>")):
            parts.writestr(zipfile.ZipInfo(part, date_time=(2009, 1, 1, 0, 0, 0)), text)  # the same bytes each time
    write("excel_workbook.xlsx", workbook.getvalue())
    write("excel_97.xls", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    write("a_letter.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    # rows of nothing but commas after the data (a spreadsheet whose cells beyond the data were formatted)
    write("comma_only_rows.csv", KS_HEADER + KS_ROW + ",,,,,,,,,\r\n" * 3)
    # a spreadsheet set to another country's list separator
    write("semicolons.csv", (KS_HEADER + KS_ROW).replace(",", ";"))
    write("tab_separated.csv", (KS_HEADER + KS_ROW).replace(",", "\t"))
    write(
        "formula_injection.csv",
        SURVEY_HEADER
        + "=cmd|' /C calc'!A0,1,20090501,-2+3,@SUM(A1),19960101,Female,PE1 1AA,At school\n"
        + "=cmd|' /C calc'!A0,1,20090501,\tAnn,+Lee,19960101,Female,PE1 1AA,At school\n",
    )
    rng = random.Random(7)
    write("binary_junk.csv", bytes(rng.randrange(256) for _ in range(4096)))
    write(
        "impossible_heights.csv",
        "NHS_PCT,SchoolURN,Surname,Forename,DOB,Sex,Postcode,DateOfMeasurement,HeightCm,WeightKg\n"
        "PCT874,172001,Tall,Tim,15/03/2004,1,PE1 1AA,01/03/2009,180.0,18.0\n"
        "PCT874,172001,Light,Liz,05/05/1998,2,PE1 1AA,01/03/2009,140.0,2.5\n"
        "PCT874,172001,Neg,Ned,05/05/1998,1,PE1 1AA,01/03/2009,-140.0,38.0\n",
    )
    write(
        "bad_dates.csv",
        "ULN,FamilyName,GivenNames,DateOfBirth,Sex,Postcode,UKPRN,ProviderName,LearnStartDate,LearningAimLevel\n"
        ",Day,Ann,2009-02-30,F,PE1 1AA,10001234,College,2008-09-01,Level 2\n"
        ",Day,Bob,31/13/1992,M,PE1 1AA,10001234,College,tomorrow,Level 2\n",
    )
    write("name with 'quote' and space.csv", SURVEY_HEADER + "N1,1,20090501,Ann,Lee,19960101,Female,,At school\n")


def parquet_cases() -> None:
    write("not_parquet.parquet", b"PAR1 this is not really parquet at all")
    buffer = io.BytesIO()
    pq.write_table(pa.table({"UKPRN": ["1"] * 100, "Surname": ["x"] * 100}), buffer)
    write("truncated.parquet", buffer.getvalue()[: len(buffer.getvalue()) // 2])
    write("text_named_parquet.parquet", "just, some, words\nand, more, words\n")


def mixed_directory() -> None:
    write("mixed_directory/good_ks.csv", KS_HEADER + KS_ROW.replace("Adams", "Abbot"))
    write("mixed_directory/bad_empty.csv", b"")
    write("mixed_directory/bad_xml.xml", "<SchoolCensus><Header>")
    write("mixed_directory/good_census.xml", census(pupil(), estab="2916"))


if __name__ == "__main__":
    xml_cases()
    csv_cases()
    parquet_cases()
    mixed_directory()
