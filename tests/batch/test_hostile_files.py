"""Batch files that would silently turn pseudonymization off, and files that cannot be read:
formulas, half-empty Pseudonym columns, encrypted and old workbooks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adit_core.batch import QueryBatch, TransferBatch, TransferRow, ValidationReport, validate_file
from adit_core.db.database import Database
from tests.batch.files import FIXTURES, Formula, write_csv, write_xlsx, write_xlsx_with_formulas
from tests.worker.support import adit, register_orthanc

STUDY_1 = "1.2.826.0.1.3680043.8.498.10001"
STUDY_2 = "1.2.826.0.1.3680043.8.498.10002"
STUDY_3 = "1.2.826.0.1.3680043.8.498.10003"
TRANSFER_HEADER = ["PatientID", "StudyInstanceUID", "Pseudonym"]
NO_VALUE = "formula without a value: save the file in Excel or paste values"


def problems(path: Path, kind: str = "transfer") -> list[str]:
    result = validate_file(path, kind)
    assert isinstance(result, ValidationReport), result
    return [str(p) for p in result.problems]


def test_formula_without_a_value_is_refused_with_line_and_column(tmp_path: Path) -> None:
    """The trial's case: =CONCAT("SUB","J1") written by a script, no value computed. It used
    to read as empty, and the study was queued unpseudonymized."""
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [TRANSFER_HEADER,
         ["0012345", STUDY_1, Formula('CONCAT("SUB","J1")')],
         ["0012346", STUDY_2, Formula('CONCAT("SUB","J2")', empty_value_tag=False)],
         [Formula("A2"), STUDY_3, "SUBJ3"]],
    )  # fmt: skip
    assert problems(path) == [
        f'line 2, column Pseudonym (C): {NO_VALUE} (=CONCAT("SUB","J1"))',
        f'line 3, column Pseudonym (C): {NO_VALUE} (=CONCAT("SUB","J2"))',
        f"line 4, column PatientID (A): {NO_VALUE} (=A2)",
    ]


def test_formula_is_read_by_its_cached_value(tmp_path: Path) -> None:
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [TRANSFER_HEADER,
         ["0012345", STUDY_1, Formula('CONCAT("SUB","J1")', cached="SUBJ1")],
         [Formula("A2", cached="0012345"), STUDY_2, Formula("C2", cached="SUBJ1")]],
    )  # fmt: skip
    batch = validate_file(path, "transfer")
    assert isinstance(batch, TransferBatch), batch
    assert batch.rows == [
        TransferRow(line=2, patient_id="0012345", study_uid=STUDY_1, pseudonym="SUBJ1"),
        TransferRow(line=3, patient_id="0012345", study_uid=STUDY_2, pseudonym="SUBJ1"),
    ]


def test_cached_errors_and_numbers_from_formulas_follow_the_cell_rules(tmp_path: Path) -> None:
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [TRANSFER_HEADER,
         ["0012345", STUDY_1, Formula("VLOOKUP(A2,Sheet2!A:B,2,0)", cached="#N/A")],
         [Formula("12300+45", cached=12345), STUDY_2, "SUBJ2"]],
    )  # fmt: skip
    found = problems(path)
    assert found[0].startswith("line 2, column Pseudonym (C): the cell shows the Excel error #N/A")
    assert found[1].startswith(
        "line 3, column PatientID (A): PatientID 12345 is stored as a number"
    )


def test_header_formula_without_a_value_is_named(tmp_path: Path) -> None:
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [["PatientID", "StudyInstanceUID", Formula('"Pseudo"&"nym"')],
         ["0012345", STUDY_1, "SUBJ1"]],
    )  # fmt: skip
    assert f"line 1, column C: {NO_VALUE}" in problems(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_pseudonym_missing_on_some_lines_of_a_pseudonymized_file(
    tmp_path: Path, suffix: str
) -> None:
    rows = [
        TRANSFER_HEADER,
        ["0012345", STUDY_1, "SUBJ1"],
        ["0012346", STUDY_2, ""],
        ["0012347", STUDY_3, "SUBJ3"],
        ["0012348", STUDY_3 + ".1", None],
    ]
    if suffix == ".xlsx":
        path = write_xlsx(tmp_path / "t.xlsx", rows)
    else:
        text = "".join(",".join("" if v is None else v for v in row) + "\n" for row in rows)
        path = write_csv(tmp_path / "t.csv", text)
    expected = (
        "column Pseudonym (C): empty, but other lines of this file have a pseudonym "
        "(lines 2, 4): give every line its pseudonym (a file either pseudonymizes every "
        "study or none)"
    )
    assert problems(path) == [f"line 3, {expected}", f"line 5, {expected}"]
    # A query file carries its pseudonyms into the export for the transfer: same rule.
    query = write_xlsx(
        tmp_path / "q.xlsx",
        [["PatientID", "Modality", "Pseudonym"], ["0012345", "CT", "SUBJ1"], ["0012346", "CT"]],
    )
    assert problems(query, "query") == [
        "line 3, column Pseudonym (C): empty, but other lines of this file have a pseudonym "
        "(line 2): give every line its pseudonym (a file either pseudonymizes every study or "
        "none)"
    ]


def test_formula_computing_an_empty_pseudonym_counts_as_empty(tmp_path: Path) -> None:
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [TRANSFER_HEADER,
         ["0012345", STUDY_1, "SUBJ1"],
         ["0012346", STUDY_2, Formula('IF(A3="0012346","","X")', cached="")]],
    )  # fmt: skip
    [problem] = problems(path)
    assert problem.startswith("line 3, column Pseudonym (C): empty, but other lines")


def test_an_all_empty_pseudonym_column_warns_that_nothing_is_pseudonymized(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "t.xlsx", [TRANSFER_HEADER, ["0012345", STUDY_1, ""], ["0012346", STUDY_2]]
    )
    batch = validate_file(path, "transfer")
    assert isinstance(batch, TransferBatch), batch
    assert [str(w) for w in batch.warnings] == [
        "column Pseudonym (C): empty on every line: the studies will be transferred as they "
        "are, not pseudonymized"
    ]
    query = write_xlsx(
        tmp_path / "q.xlsx", [["PatientID", "Modality", "Pseudonym"], ["0012345", "CT", ""]]
    )
    assert isinstance(validate_file(query, "query"), QueryBatch)


def test_password_protected_workbook_names_itself(tmp_path: Path) -> None:
    for name in ("cohort.xlsx", "cohort.csv"):
        path = shutil.copy(FIXTURES / "encrypted.xlsx", tmp_path / name)
        [problem] = problems(Path(path))
        assert problem.startswith("the file is password-protected: open it in Excel, remove")
        assert ".xls" not in problem.split("ADIT")[0].replace(".xlsx", "")


def test_old_xls_renamed_to_xlsx_says_so(tmp_path: Path) -> None:
    path = shutil.copy(FIXTURES / "legacy.xls", tmp_path / "cohort.xlsx")
    [problem] = problems(Path(path))
    assert problem.startswith("this is an old Excel 97-2003 workbook (.xls) named .xlsx")


def test_cli_queues_nothing_from_a_formula_file(database: Database, orthanc_a, tmp_path) -> None:  # type: ignore[no-untyped-def]
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", orthanc_a, "store")
    path = write_xlsx_with_formulas(
        tmp_path / "t.xlsx",
        [TRANSFER_HEADER, ["0012345", STUDY_1, Formula('CONCAT("SUB","J1")')]],
    )
    result = adit("batch-transfer", str(path), "-s", "src", "-d", "dst")
    assert result.exit_code == 1
    assert "nothing was queued" in result.stderr
    assert f'line 2, column Pseudonym (C): {NO_VALUE} (=CONCAT("SUB","J1"))' in result.stderr
    assert result.stdout == ""
    assert adit("jobs", "list", "--json", "--all").stdout.strip() == "[]"
