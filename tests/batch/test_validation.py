"""Batch files as users make them, good and broken: every problem with its line and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adit_core.batch import (
    BatchKind,
    QueryBatch,
    QueryRow,
    TransferBatch,
    TransferRow,
    ValidationReport,
    group_by_study,
    validate_file,
)
from adit_core.batch.table import MAX_FILE_BYTES
from tests.batch.files import write_csv, write_xlsx

QUERY_HEADER = ["PatientID", "PatientName", "PatientBirthDate", "Modality", "Pseudonym"]


def report(path: Path, kind: str) -> ValidationReport:
    result = validate_file(path, kind)
    assert isinstance(result, ValidationReport), result
    return result


def only(result: ValidationReport) -> str:
    assert len(result.problems) == 1, result.format()
    return str(result.problems[0])


def test_valid_xlsx_query_with_every_date_form(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "q.xlsx",
        [
            ["Patient ID", "patient_name", "PATIENTBIRTHDATE", "From", "Until", "Modality",
             "Series Description", "SeriesNumber", "Pseudonym", "AccessionNumber"],
            ["0012345", None, None, date(2023, 1, 1), "20241231", "ct, mr", "", None, "S1",
             None],
            [None, "Müller, Jürgen", "12.03.1965", "2023-01-01", None, "MR", r"^t\d|knie", "1, 2",
             "S1", None],
            [None, "Ødegård^Åse", date(1980, 11, 24), None, None, None, None, 3, "S2", "0042"],
            [None, None, None, None, None, None, None, None, None, None],  # empty: skipped
        ],
        text_columns=[0, 9],
    )  # fmt: skip
    batch = validate_file(path, "query")
    assert isinstance(batch, QueryBatch), batch
    assert batch.rows == [
        QueryRow(line=2, patient_id="0012345", study_date_from=date(2023, 1, 1),
                 study_date_until=date(2024, 12, 31), modalities=("CT", "MR"), pseudonym="S1"),
        QueryRow(line=3, patient_name="Müller^Jürgen", patient_birth_date=date(1965, 3, 12),
                 study_date_from=date(2023, 1, 1), modalities=("MR",),
                 series_description=r"^t\d|knie", series_numbers=(1, 2), pseudonym="S1"),
        QueryRow(line=4, patient_name="Ødegård^Åse", patient_birth_date=date(1980, 11, 24),
                 accession_number="0042", series_numbers=(3,), pseudonym="S2"),
    ]  # fmt: skip
    assert batch.warnings == []


@pytest.mark.parametrize(
    ("text", "bom"),
    [
        ("PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n"
         "0012345;1.2.3;1.2.3.1, 1.2.3.2;SUBJ01\n"
         "0012345;1.2.3;1.2.3.2 1.2.3.3;SUBJ01\n"
         ";;;\n"
         "0012345;1.2.4;;SUBJ01\n", True),
        ('patient_id,Study Instance UID,SERIESINSTANCEUID,pseudonym\r\n'
         '0012345,1.2.3,"1.2.3.1, 1.2.3.2",SUBJ01\r\n'
         '0012345,1.2.3,1.2.3.2 1.2.3.3,SUBJ01\r\n'
         ',,,\r\n'
         '0012345,1.2.4,,SUBJ01\r\n', False),
    ],
    ids=["semicolon-with-bom", "comma-crlf"],
)  # fmt: skip
def test_valid_csv_transfer(tmp_path: Path, text: str, bom: bool) -> None:
    batch = validate_file(write_csv(tmp_path / "t.csv", text, bom=bom), BatchKind.TRANSFER)
    assert isinstance(batch, TransferBatch), batch
    assert batch.rows == [
        TransferRow(2, "0012345", "1.2.3", ("1.2.3.1", "1.2.3.2"), "SUBJ01"),
        TransferRow(3, "0012345", "1.2.3", ("1.2.3.2", "1.2.3.3"), "SUBJ01"),
        TransferRow(5, "0012345", "1.2.4", (), "SUBJ01"),
    ]


def test_grouping_follows_adit() -> None:
    rows = [
        TransferRow(2, "P1", "1.1", ("1.1.2", "1.1.1"), "S1"),
        TransferRow(3, "P2", "2.1", ("2.1.1",), "S2"),
        TransferRow(4, "P1", "1.1", ("1.1.1", "1.1.3"), "S1"),
        TransferRow(5, "P2", "2.1", (), "S2"),
        TransferRow(6, "P2", "2.1", ("2.1.9",), "S2"),
    ]
    groups = group_by_study(rows)
    assert [(g.study_uid, g.series_uids, g.lines) for g in groups] == [
        ("1.1", ["1.1.2", "1.1.1", "1.1.3"], [2, 4]),  # merged, order kept, no duplicates
        ("2.1", [], [3, 5, 6]),  # one row without series: the whole study
    ]


def test_unknown_misspelled_and_missing_columns(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "q.xlsx",
        [["PatientName", "Modalty", "Psuedonym", "Comment", "StudyInstanceUID", "Modalty"],
         ["Doe, John", "CT", "X", "", "", ""]],
    )  # fmt: skip
    messages = [str(p) for p in report(path, "query").problems]
    assert messages == [
        "line 1, column Modalty (B): unknown column 'Modalty'; did you mean Modality?",
        "line 1, column Psuedonym (C): unknown column 'Psuedonym'; did you mean Pseudonym?",
        "line 1, column Comment (D): unknown column 'Comment'; valid columns are PatientID, "
        "PatientName, PatientBirthDate, AccessionNumber, From, Until, Modality, "
        "StudyDescription, SeriesDescription, SeriesNumber, Pseudonym",
        "line 1, column StudyInstanceUID (E): unknown column 'StudyInstanceUID': "
        "StudyInstanceUID belongs in a batch transfer file (is this the right kind of file?)",
        "line 1, column Modalty (F): unknown column 'Modalty'; did you mean Modality?",
        "line 1: missing column PatientID (or both PatientName and PatientBirthDate): every "
        "row must name its patient",
        "line 1: missing column Modality (required unless rows give an AccessionNumber)",
    ]


def test_transfer_requires_its_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "PatientID,SeriesInstanceUID,PatientID\n1,1.2,1\n")
    messages = [str(p) for p in report(path, "transfer").problems]
    assert messages == [
        "line 1, column PatientID (C): PatientID appears twice (columns A and C); keep one",
        "line 1: missing column StudyInstanceUID (it is required)",
    ]


def test_ids_stored_as_numbers_are_flagged(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["PatientID", "StudyInstanceUID", "Pseudonym"],
         [12345, "1.2.3", "A1"],
         ["0012345", 1.2, 7]],
    )  # fmt: skip
    messages = [str(p) for p in report(path, "transfer").problems]
    assert messages[0] == (
        "line 2, column PatientID (A): PatientID 12345 is stored as a number, so leading "
        "zeros may have been lost: format the column as Text (Format Cells → Text, or type ' "
        "before the value) and enter the IDs again exactly as the PACS has them"
    )
    assert messages[1].startswith(
        "line 3, column StudyInstanceUID (B): StudyInstanceUID is stored as a number (1.2)"
    )
    assert messages[2].startswith("line 3, column Pseudonym (C): Pseudonym 7 is stored as a number")
    assert len(messages) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31.02.2024", "impossible date '31.02.2024'"),
        ("2023-13-01", "impossible date '2023-13-01'"),
        ("03/01/1980", "ambiguous date '03/01/1980' (is the first number the day or the month?)"
                       ": write it as YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"),
        ("01.03.80", "date '01.03.80' has a two-digit year; write the year in full"),
        ("March 1980", "unrecognised date 'March 1980'; use YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"),
        (29281, "the number 29281 is not a date: format the cell as a date, or type the date "
                "as YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"),
        ("2999-01-01", "birth date 2999-01-01 is in the future"),
    ],
)  # fmt: skip
def test_bad_dates(tmp_path: Path, value: object, message: str) -> None:
    path = write_xlsx(
        tmp_path / "q.xlsx",
        [QUERY_HEADER, ["0012345", "", "", "CT", ""], ["", "Doe, Jo", value, "CT", ""]],
    )
    assert only(report(path, "query")) == f"line 3, column PatientBirthDate (C): {message}"


def test_from_after_until(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "q.csv", "PatientID,Modality,From,Until\nX1,CT,2024-02-01,20240101\n"
    )
    assert only(report(path, "query")) == (
        "line 2, column Until (D): Until (2024-01-01) is before From (2024-02-01); swap them"
    )


def test_forbidden_characters(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "q.csv",
        "PatientID,PatientName,PatientBirthDate,AccessionNumber,Modality,Pseudonym\n"
        "00*12,,,,CT,\n"
        ',"Doe\\John",1980-01-01,,CT,\n'
        ',"Doe, Jo\tX",1980-01-01,,CT,\n'
        "X1,,,A?1,CT,\n"
        "X2,,,,C T,S\\1\n",
    )
    messages = [str(p) for p in report(path, "query").problems]
    assert messages == [
        "line 2, column PatientID (A): must not contain * or ? (wildcards are not allowed here)",
        "line 3, column PatientName (B): must not contain a backslash (\\)",
        "line 4, column PatientName (B): must not contain line breaks, tabs or other control "
        "characters",
        "line 5, column AccessionNumber (D): must not contain * or ? (wildcards are not allowed "
        "here)",
        "line 6, column Modality (E): 'C T' is not a modality: uppercase letters, digits or "
        "underscores, at most 16 (e.g. CT, MR); several separated by commas",
        "line 6, column Pseudonym (F): must not contain a backslash (\\)",
    ]


def test_row_rules(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "q.csv",
        "PatientID,PatientName,PatientBirthDate,AccessionNumber,Modality,SeriesDescription,"
        "SeriesNumber\n"
        ',"Doe, Jo",,,CT,,\n'
        ",,1980-01-01,,CT,,\n"
        "X1,,,,,,\n"
        "X2,,,A-17,,,\n"  # an accession number makes the modality optional
        "X3,,,,MR,*flair,\n"
        "X4,,,,MR,,1;2\n",
    )
    messages = [str(p) for p in report(path, "query").problems]
    assert messages == [
        "line 2: the patient is not identified: give a PatientID, or a PatientName together "
        "with a PatientBirthDate (PatientBirthDate is missing)",
        "line 3: the patient is not identified: give a PatientID, or a PatientName together "
        "with a PatientBirthDate (PatientName is missing)",
        "line 4, column Modality (E): missing Modality (required unless the row has an "
        "AccessionNumber); several may be given, separated by commas",
        "line 6, column SeriesDescription (F): '*flair' is not a valid regular expression: "
        "nothing to repeat at position 0 (this is a regular expression, not a wildcard "
        "pattern: write .* instead of *, or just the word, e.g. thorax)",
        "line 7, column SeriesNumber (G): '1;2' is not a series number: whole numbers, "
        "separated by commas",
    ]


def test_uid_syntax(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "t.csv",
        "PatientID,StudyInstanceUID,SeriesInstanceUID\n"
        "P1,1.2.abc,\n"
        "P1,1.2.3,1.2..4\n"
        f"P1,1.{'2' * 70},\n"
        "P1,,1.2.3.4\n"
        ",1.2.5,\n",
    )
    messages = [str(p) for p in report(path, "transfer").problems]
    assert messages == [
        "line 2, column StudyInstanceUID (B): '1.2.abc' is not a valid UID: digits separated "
        "by single dots, at most 64 characters",
        "line 3, column SeriesInstanceUID (C): '1.2..4' is not a valid UID: digits separated "
        "by single dots, at most 64 characters",
        "line 4, column StudyInstanceUID (B): is 72 characters long; at most 64 are allowed",
        "line 5, column StudyInstanceUID (B): missing StudyInstanceUID (required)",
        "line 6, column PatientID (A): missing PatientID (required)",
    ]


def test_file_wide_consistency(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["PatientID", "StudyInstanceUID", "Pseudonym"],
         ["P1", "1.1", "S1"],
         ["P1", "1.2", "S1"],
         ["P2", "1.1", "S2"],
         ["P1", "1.3", "S9"],
         ["P3", "1.4", "S2"],
         ["P1", "1.5", ""]],
    )  # fmt: skip
    result = report(path, "transfer")
    assert [str(p) for p in result.problems] == [
        "line 4, column PatientID (A): StudyInstanceUID 1.1 is given with different "
        "PatientIDs ('P1' on line 2; 'P2' on line 4); a study belongs to one patient",
        "line 5, column Pseudonym (C): PatientID 'P1' has different pseudonyms ('S1' on "
        "lines 2, 3; 'S9' on line 5); give each patient one pseudonym on every line",
        "line 7, column Pseudonym (C): empty, but other lines of this file have a pseudonym "
        "(lines 2, 3, 4, 5, 6): give every line its pseudonym (a file either pseudonymizes "
        "every study or none)",
    ]
    # Two patients sharing a pseudonym may be one person with two IDs: a warning only.
    assert [str(w) for w in result.warnings] == [
        "line 6, column Pseudonym (C): pseudonym 'S2' is used for several PatientIDs ('P2' on "
        "line 4; 'P3' on line 6); their data will look like one patient's (fine if they are "
        "one person)"
    ]


def test_every_problem_at_once(tmp_path: Path) -> None:
    rows: list[list[object]] = [QUERY_HEADER]
    rows += [[f"{i:07d}", "", "", "CT", ""] for i in range(200)]
    rows += [[12345, "", "31.02.1980", "", ""]]  # three problems on line 202
    rows += [["", "Doe, Jo", "1.13.1980", "MR", ""]]  # one on line 203
    result = report(write_xlsx(tmp_path / "q.xlsx", rows), "query")
    assert [(p.line, p.column) for p in result.problems] == [
        (202, "PatientID"),
        (202, "PatientBirthDate"),
        (202, "Modality"),
        (203, "PatientBirthDate"),
    ]
    assert result.rows_read == 202
    assert result.summary().startswith("q.xlsx is not a valid batch query file (4 problems)")


def test_unreadable_files(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    assert "unsupported file type .xls (old Excel format)" in only(report(xls, "query"))
    fake = tmp_path / "fake.xlsx"
    fake.write_text("PatientID\n1\n")
    assert "not a readable .xlsx file" in only(report(fake, "query"))
    latin = write_csv(
        tmp_path / "l.csv", "PatientID,Modality\nX1,CT\nMüller,CT\n", encoding="latin-1"
    )
    assert only(report(latin, "query")).startswith("line 3: the file is not UTF-8 text")
    empty = write_csv(tmp_path / "e.csv", "\n\n")
    assert "the file is empty" in only(report(empty, "query"))
    header_only = write_csv(tmp_path / "h.csv", "PatientID,Modality\n")
    assert "no data rows" in only(report(header_only, "query"))
    orphan = write_csv(tmp_path / "o.csv", "PatientID,Modality,\nX1,CT,oops\n")
    assert only(report(orphan, "query")) == (
        "line 2, column C: this column has values but no name in the header row; add the "
        "column name or delete the values"
    )


def test_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    line = "0012345,1.2.3.4.5.6.7.8.9,,SUBJECT\n"
    big.write_text("PatientID,StudyInstanceUID,SeriesInstanceUID,Pseudonym\n"
                   + line * (MAX_FILE_BYTES // len(line) + 1))  # fmt: skip
    message = only(report(big, "transfer"))
    assert "batch files may be at most 10 MB" in message and "split it" in message


def test_export_lines_without_study_are_skipped_when_read_as_transfer(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        "Pseudonym,PatientID,PatientName,StudyInstanceUID,QueryLine,Status,Error\n"
        'S1,0012345,"Müller, Jürgen",1.2.3,2,SUCCESS,\n'
        "S2,9999999,,,3,FAILURE,no patient with PatientID '9999999' on the source\n"
        "S3,0000007,,,4,SUCCESS,No studies matched.\n",
    )
    batch = validate_file(path, "transfer")
    assert isinstance(batch, TransferBatch), batch
    assert batch.rows == [TransferRow(2, "0012345", "1.2.3", (), "S1")]
    assert [str(s) for s in batch.skipped] == [
        "line 3: skipped, no study to transfer (FAILURE: no patient with PatientID '9999999' "
        "on the source)",
        "line 4: skipped, no study to transfer (SUCCESS: No studies matched.)",
    ]


def test_title_row_and_excel_errors(tmp_path: Path) -> None:
    titled = write_xlsx(
        tmp_path / "t.xlsx", [["Study list"], ["PatientID", "Modality"], ["X", "CT"]]
    )
    assert [str(p) for p in report(titled, "query").problems][1] == (
        "line 1: no known column names in the first row; the first non-empty row must be the "
        "header (PatientID, PatientName, PatientBirthDate, AccessionNumber, From, Until, "
        "Modality, StudyDescription, SeriesDescription, SeriesNumber, Pseudonym)"
    )
    broken = write_xlsx(tmp_path / "e.xlsx", [["PatientID", "Modality"], ["#N/A", "CT"]])
    assert only(report(broken, "query")) == (
        "line 2, column PatientID (A): the cell shows the Excel error #N/A; fix the formula or "
        "type the value"
    )
