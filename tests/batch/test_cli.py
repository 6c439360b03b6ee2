"""The batch commands against a real database: what is queued, and that bad input queues nothing."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from sqlalchemy import text

from adit_core.batch import BatchKind, QueryBatch, TransferBatch, validate_file
from adit_core.db.database import Database
from tests.batch.files import write_csv, write_xlsx
from tests.cli import adit
from tests.worker.support import transfer


def register_servers() -> None:
    for name, port in (("src", "11112"), ("dst", "11113")):
        result = adit("server", "add", name, "--ae-title", name.upper(), "--host", "127.0.0.1",
                      "--port", port)  # fmt: skip
        assert result.exit_code == 0, result.output


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (
            session.scalar(text("SELECT count(*) FROM jobs")),
            session.scalar(text("SELECT count(*) FROM tasks")),
            session.scalar(text("SELECT count(*) FROM procrastinate_jobs")),
        )  # type: ignore[return-value]


def test_invalid_file_queues_nothing(database: Database, tmp_path: Path) -> None:
    register_servers()
    path = write_xlsx(
        tmp_path / "q.xlsx",
        [["PatientID", "Modalty"], ["0012345", "CT"], [42, "MR"]],
    )
    result = adit("batch-query", str(path), "--source", "src")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "q.xlsx is not a valid batch query file (3 problems); nothing was queued. Fix the file "
        "and run again:",
        "  line 1, column Modalty (B): unknown column 'Modalty'; did you mean Modality?",
        "  line 1: missing column Modality (required unless rows give an AccessionNumber)",
        "  line 3, column PatientID (A): PatientID 42 is stored as a number, so leading zeros "
        "may have been lost: format the column as Text (Format Cells → Text, or type ' before "
        "the value) and enter the IDs again exactly as the PACS has them",
    ]
    assert counts(database) == (0, 0, 0)


def test_batch_query_queues_a_task_per_line(database: Database, tmp_path: Path) -> None:
    register_servers()
    lines = "".join(f"{i:07d},CT,S{i}\n" for i in range(25))
    path = write_csv(tmp_path / "q.csv", "PatientID,Modality,Pseudonym\n" + lines)
    dry = adit("batch-query", str(path), "-s", "src", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ""
    assert "q.csv is valid: 25 lines would be searched on src; nothing was queued" in dry.stderr
    assert counts(database) == (0, 0, 0)

    result = adit("batch-query", str(path), "-s", "src", "--urgent")
    assert result.exit_code == 0, result.output
    job_id = int(result.stdout)
    assert counts(database) == (1, 25, 25)
    with database.session() as session:
        job = session.execute(
            text("SELECT kind, status, options FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
        assert (job.kind, job.status) == ("batch_query", "PENDING")
        assert job.options == {"source": "src", "file": "q.csv", "rows": 25}
        rows = session.execute(
            text(
                "SELECT t.position, t.patient_id, t.pseudonym, q.line, q.modalities, "
                "pj.priority FROM tasks t JOIN batch_query_tasks q ON q.task_id = t.id "
                "JOIN procrastinate_jobs pj ON pj.id = t.queued_job_id ORDER BY t.position"
            )
        ).all()
    assert [tuple(r) for r in rows[:2]] == [
        (0, "0000000", "S0", 2, ["CT"], 7),
        (1, "0000001", "S1", 3, ["CT"], 7),
    ]
    assert len(rows) == 25


def test_unknown_source_or_folder_source(database: Database, tmp_path: Path) -> None:
    register_servers()
    path = write_csv(tmp_path / "q.csv", "PatientID,Modality\nX1,CT\n")
    result = adit("batch-query", str(path), "-s", "nowhere")
    assert result.exit_code == 1
    assert "no server named 'nowhere' for the source (known: dst, src)" in result.stderr
    assert counts(database) == (0, 0, 0)


def test_batch_transfer_groups_studies(database: Database, tmp_path: Path) -> None:
    register_servers()
    path = write_csv(
        tmp_path / "t.csv",
        "PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n"
        "0012345;1.2.1;1.2.1.1;S1\n"
        "0000042;1.2.2;;S2\n"
        "0012345;1.2.1;1.2.1.2, 1.2.1.1;S1\n",
    )
    result = adit("batch-transfer", str(path), "-s", "src", "-d", "dst",
                  "--trial-protocol-id", "P7")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 lines → 2 studies (2 pseudonymized, 0 unchanged)" in result.stderr
    job_id = int(result.stdout)
    with database.session() as session:
        rows = session.execute(
            text(
                "SELECT t.study_uid, t.series_uids, t.pseudonym, b.lines, pj.priority "
                "FROM tasks t JOIN batch_transfer_tasks b ON b.task_id = t.id "
                "JOIN procrastinate_jobs pj ON pj.id = t.queued_job_id "
                "WHERE t.job_id = :id ORDER BY t.position"
            ),
            {"id": job_id},
        ).all()
        options = session.scalar(text("SELECT options FROM jobs WHERE id = :id"), {"id": job_id})
    assert [tuple(r) for r in rows] == [
        ("1.2.1", ["1.2.1.1", "1.2.1.2"], "S1", [2, 4], 2),
        ("1.2.2", [], "S2", [3], 2),
    ]
    assert options["trial_protocol_id"] == "P7" and options["file"] == "t.csv"


def test_export_refuses_other_jobs_and_other_formats(database: Database, tmp_path: Path) -> None:
    register_servers()
    job_id = transfer("-s", "src", "-d", "dst", "--study", "1.2.3")
    result = adit("jobs", "export", str(job_id), str(tmp_path / "out.xlsx"))
    assert result.exit_code == 1
    assert "only batch query jobs have results to export" in result.stderr
    result = adit("jobs", "export", str(job_id), str(tmp_path / "out.xls"))
    assert "the name must end in .xlsx or .csv" in result.stderr


def test_templates_have_text_id_columns_and_validate(tmp_path: Path) -> None:
    for kind, ids in ((BatchKind.QUERY, ("A", "D", "K")), (BatchKind.TRANSFER, "ABCD")):
        path = tmp_path / f"{kind}.xlsx"
        result = adit("batch", "template", kind.value, str(path))
        assert result.exit_code == 0, result.output
        sheet = openpyxl.load_workbook(path).worksheets[0]
        for letter in ids:
            assert sheet.column_dimensions[letter].number_format == "@", (kind, letter)
            assert sheet[f"{letter}2"].number_format == "@" or sheet[f"{letter}2"].value is None
        assert sheet["A2"].value in ("0012345", None)
        batch = validate_file(path, kind)
        assert isinstance(batch, QueryBatch | TransferBatch), batch
