"""Exports never carry a live formula (spreadsheet formula injection), and an export read
back as a batch transfer file still gives the original values."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from adit_core.batch import TransferBatch, validate_file
from adit_core.batch.formula_guard import csv_text, unescaped
from adit_core.batch.spreadsheet import write_table
from adit_core.batch.table import read_table
from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import make_study
from tests.worker.support import adit, register_orthanc, run_until_final

HOSTILE = ["=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x")']
# Values that already look escaped must survive too, or reading back would change them.
TRICKY = ["'=1+1", "''-2", "'plain", "-", "a=b", "1-2"]


@pytest.mark.parametrize("value", HOSTILE + TRICKY)
def test_csv_escape_is_reversed_exactly(value: str) -> None:
    escaped = csv_text(value)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescaped(escaped) == value


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


def test_written_tables_hold_hostile_text_as_text(tmp_path: Path) -> None:
    header = ["PatientID", "StudyDescription", "Pseudonym"]
    rows = [["0012345", value, value] for value in HOSTILE + TRICKY]
    xlsx, csv_path = tmp_path / "out.xlsx", tmp_path / "out.csv"
    write_table(xlsx, header, rows, text_columns={"PatientID", "Pseudonym"})
    write_table(csv_path, header, rows, text_columns={"PatientID", "Pseudonym"})

    assert "<f>" not in _sheet_xml(xlsx) and "<f " not in _sheet_xml(xlsx)
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        for cell in row[1:]:
            assert cell.data_type == "s", (cell.coordinate, cell.value)
            if str(cell.value).startswith(("=", "+", "-", "@", "\t", "\r")):
                assert cell.quotePrefix, cell.coordinate  # stays text when edited in Excel

    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        written = [row[1:] for row in csv.reader(handle)][1:]
    assert [row[0] for row in written] == [
        "'=1+1", "'+1+1", "'-1+1", "'@SUM(1+1)", "'\t=1+1", "'\r=1+1", "'=HYPERLINK(\"http://x\")",
        "''=1+1", "'''-2", "'plain", "'-", "a=b", "1-2",
    ]  # fmt: skip
    assert all(row[0] == row[1] for row in written)

    for path in (xlsx, csv_path):
        table = read_table(path)
        values = [tuple(cells[1:]) for _line, cells in table.rows]
        # XML reads a raw carriage return as a line feed (openpyxl writes it unescaped); batch
        # files refuse control characters in every column, so no value that matters has one.
        original = [v.replace("\r", "\n") if path == xlsx else v for v in HOSTILE + TRICKY]
        assert values == [(value, value) for value in original], path.name


def test_pacs_values_and_pseudonyms_in_a_real_export(
    database: Database, empty_b: OrthancServer, tmp_path: Path
) -> None:
    """StudyDescriptions from a real Orthanc and a pseudonym from the query file, through a
    batch query job and `adit jobs export`, then the export fed back as a transfer file."""
    descriptions = ["=1+1", "@SUM(1+1)", "-1+1"]
    studies = [
        make_study(patient_id="0077001", patient_name="Formel^Fritz", birth_date="19700101",
                   modality="CT", n_series=1, n_instances=1, seed=70 + n,
                   study_date=f"2024010{n + 1}", description=description)
        for n, description in enumerate(descriptions)
    ]  # fmt: skip
    empty_b.upload_many(ds for study in studies for ds in study.datasets())
    register_orthanc("src", empty_b, "find,get")
    query = tmp_path / "query.csv"
    query.write_text("PatientID,Modality,Pseudonym\n0077001,CT,-SUBJ+1\n", encoding="utf-8")
    result = adit("batch-query", str(query), "-s", "src")
    assert result.exit_code == 0, result.output
    job_id = int(result.stdout)
    assert run_until_final(database, job_id) == "SUCCESS"

    xlsx, csv_path = tmp_path / "found.xlsx", tmp_path / "found.csv"
    for path in (xlsx, csv_path):
        exported = adit("jobs", "export", str(job_id), str(path))
        assert exported.exit_code == 0, exported.output

    assert not re.search(r"<f[ >]", _sheet_xml(xlsx))
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    header = [c.value for c in sheet[1]]
    by_uid = {
        row[header.index("StudyInstanceUID")].value: row for row in sheet.iter_rows(min_row=2)
    }
    for study, description in zip(studies, descriptions, strict=True):
        row = by_uid[study.study_uid]
        cell = row[header.index("StudyDescription")]
        assert (cell.value, cell.data_type) == (description, "s")
        assert row[header.index("Pseudonym")].value == "-SUBJ+1"

    raw = csv_path.read_text(encoding="utf-8-sig")
    assert "'=1+1" in raw and "'@SUM(1+1)" in raw and "'-1+1" in raw and "'-SUBJ+1" in raw
    assert not re.search(r"(^|,)[=+\-@]", raw, re.MULTILINE)

    for path in (xlsx, csv_path):
        batch = validate_file(path, "transfer")
        assert isinstance(batch, TransferBatch), batch
        assert sorted((r.patient_id, r.study_uid, r.pseudonym) for r in batch.rows) == sorted(
            ("0077001", s.study_uid, "-SUBJ+1") for s in studies
        )
