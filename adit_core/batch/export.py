"""`adit jobs export`: a batch query job's results as .xlsx or .csv.

ADIT's result columns, then QueryLine (the line of the query file), Status and Error.
Lines that failed or found nothing are included, with the reason, so nothing drops out
silently. The file is a valid batch transfer file as it is: PatientID, StudyInstanceUID,
SeriesInstanceUID (series-level queries) and Pseudonym are there, IDs are text cells, and
lines without a study are skipped when it is read back as a transfer file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from adit_core.batch.columns import (
    EXPORT_SERIES_COLUMNS,
    EXPORT_STUDY_COLUMNS,
    EXPORT_TRAILING_COLUMNS,
    ID_COLUMNS,
    UID_COLUMNS,
)
from adit_core.batch.results import ExportLine, export_lines
from adit_core.batch.spreadsheet import check_output_path, write_table
from adit_core.dates import from_dicom_date
from adit_core.db.models import BatchQueryTask, Task
from adit_core.dicom.query import human_person_name
from adit_core.jobs.control import get_job
from adit_core.jobs.errors import JobError
from adit_core.jobs.status import JobKind, Status

_TEXT_COLUMNS = ID_COLUMNS | UID_COLUMNS | {"PatientName", "StudyTime"}
_WIDTHS = {
    "PatientName": 24,
    "StudyDescription": 24,
    "StudyInstanceUID": 40,
    "SeriesInstanceUID": 40,
    "SeriesDescription": 24,
    "Error": 60,
}


@dataclass
class ExportSummary:
    path: Path
    rows: int
    tasks_failed: int
    tasks_unfinished: int


def default_export_name(job_id: int, suffix: str = ".xlsx") -> str:
    return f"batch_query_job_{job_id}_results{suffix}"


def export_results(session: Session, job_id: int, path: Path | str) -> ExportSummary:
    """Write the results of batch query job `job_id` to `path` (.xlsx or .csv)."""
    path = Path(path)
    check_output_path(path)
    job = get_job(session, job_id)
    if job.kind != JobKind.BATCH_QUERY:
        raise JobError(
            f"job {job_id} is a {job.kind.replace('_', ' ')} job; only batch query jobs have "
            "results to export"
        )
    series_level = bool(
        session.scalar(
            select(func.count())
            .select_from(BatchQueryTask)
            .join(Task, Task.id == BatchQueryTask.task_id)
            .where(
                Task.job_id == job_id,
                or_(
                    BatchQueryTask.series_description != "",
                    func.cardinality(BatchQueryTask.series_numbers) > 0,
                ),
            )
        )
    )
    counts = dict(
        session.execute(
            select(Task.status, func.count()).where(Task.job_id == job_id).group_by(Task.status)
        ).all()
    )
    header = [
        *EXPORT_STUDY_COLUMNS,
        *(EXPORT_SERIES_COLUMNS if series_level else ()),
        *EXPORT_TRAILING_COLUMNS,
    ]
    rows = write_table(
        path,
        header,
        _rows(export_lines(session, job_id), series_level),
        text_columns=_TEXT_COLUMNS,
        widths=_WIDTHS,
        sheet_title="Results",
    )
    unfinished = sum(
        n
        for status, n in counts.items()
        if status in (Status.PENDING, Status.IN_PROGRESS, Status.CANCELING)
    )
    return ExportSummary(path, rows, counts.get(Status.FAILURE.value, 0), unfinished)


def _rows(lines: Iterator[ExportLine], series_level: bool) -> Iterator[list[object]]:
    for item in lines:
        q, r = item.query, item.result
        error = "" if item.status == Status.SUCCESS and r is not None else item.message
        if r is None:
            study: list[object] = [
                q.pseudonym,
                q.patient_id,
                _human_name(q.patient_name),
                q.patient_birth_date,
                None,
                None,
                None,
                None,
                None,
                q.accession_number,
                None,
            ]
            series: list[object] = [None, None, None]
        else:
            study = [
                q.pseudonym,
                r.patient_id,
                _human_name(r.patient_name),
                _date(r.patient_birth_date),
                r.modalities_in_study,
                _date(r.study_date),
                _time(r.study_time),
                r.study_description,
                r.number_of_study_related_instances,
                r.accession_number,
                r.study_instance_uid,
            ]
            series = [r.series_instance_uid or None, r.series_description, r.series_number]
        yield [*study, *(series if series_level else ()), q.line, item.status, error]


def _human_name(dicom_name: str) -> str:
    """``Yamada^Tarou=山田^太郎`` → ``Yamada, Tarou``: the first representation only."""
    group = next((g for g in dicom_name.split("=") if g), "")
    return human_person_name(group)


def _date(value: str) -> date | str | None:
    if not value:
        return None
    return from_dicom_date(value) or value


def _time(value: str) -> str:
    match = re.match(r"^(\d{2})(\d{2})?(\d{2})?", value or "")
    if not match:
        return value or ""
    return ":".join(part for part in match.groups() if part)
