"""Reading jobs and tasks for people and scripts (CLI, TUI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from adit_core.db.models import DicomNode, Job, Task
from adit_core.jobs.errors import JobError


def get_job(session: Session, job_id: int, *, lock: bool = False) -> Job:
    """The job row (locked for the transaction with `lock`); JobError when there is none."""
    stmt = select(Job).where(Job.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalar(stmt)
    if job is None:
        raise JobError(f"no job with id {job_id}")
    return job


@dataclass
class JobSummary:
    id: int
    kind: str
    owner: str
    status: str
    urgent: bool
    message: str
    source: str
    destination: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    tasks_total: int
    tasks_done: int
    tasks_failed: int
    instances_expected: int
    instances_done: int
    instances_failed: int
    bytes_done: int

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("created_at", "started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass
class TaskView:
    id: int
    position: int
    status: str
    source: str
    destination: str
    patient_id: str
    study_uid: str
    series_uids: list[str]
    pseudonym: str
    attempts: int
    message: str
    log: str
    instances_expected: int | None
    instances_done: int
    instances_failed: int
    bytes_done: int
    started_at: datetime | None
    finished_at: datetime | None

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def _summary_query() -> Select[Any]:
    counts = (
        select(
            Task.job_id,
            func.count().label("total"),
            func.count()
            .filter(Task.status.in_(["SUCCESS", "WARNING", "FAILURE", "CANCELED"]))
            .label("done"),
            func.count().filter(Task.status == "FAILURE").label("failed"),
            func.coalesce(func.sum(Task.instances_expected), 0).label("expected"),
            func.coalesce(func.sum(Task.instances_done), 0).label("idone"),
            func.coalesce(func.sum(Task.instances_failed), 0).label("ifailed"),
            func.coalesce(func.sum(Task.bytes_done), 0).label("bytes"),
        )
        .group_by(Task.job_id)
        .subquery()
    )
    return select(Job, counts).outerjoin(counts, counts.c.job_id == Job.id)


def _summary(row: Row[Any]) -> JobSummary:
    job: Job = row[0]
    return JobSummary(
        id=job.id,
        kind=job.kind,
        owner=job.owner,
        status=job.status,
        urgent=job.urgent,
        message=job.message,
        source=str(job.options.get("source", "")),
        destination=str(job.options.get("destination", "")),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        tasks_total=row.total or 0,
        tasks_done=row.done or 0,
        tasks_failed=row.failed or 0,
        instances_expected=int(row.expected or 0),
        instances_done=int(row.idone or 0),
        instances_failed=int(row.ifailed or 0),
        bytes_done=int(row.bytes or 0),
    )


def list_jobs(
    session: Session,
    *,
    owner: str | None = None,
    statuses: list[str] | None = None,
    limit: int = 200,
) -> list[JobSummary]:
    stmt = _summary_query().order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if owner:
        stmt = stmt.where(Job.owner == owner)
    if statuses:
        stmt = stmt.where(Job.status.in_(statuses))
    return [_summary(row) for row in session.execute(stmt)]


def job_summary(session: Session, job_id: int) -> JobSummary:
    get_job(session, job_id)
    row = session.execute(_summary_query().where(Job.id == job_id)).one()
    return _summary(row)


def job_tasks(
    session: Session, job_id: int, *, offset: int = 0, limit: int | None = None
) -> list[TaskView]:
    names = {row[0]: row[1] for row in session.execute(select(DicomNode.id, DicomNode.name))}
    stmt = select(Task).where(Task.job_id == job_id).order_by(Task.position, Task.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        TaskView(
            id=t.id,
            position=t.position,
            status=t.status,
            source=names.get(t.source_id, "") if t.source_id else "",
            destination=names.get(t.destination_id, "") if t.destination_id else "",
            patient_id=t.patient_id,
            study_uid=t.study_uid,
            series_uids=list(t.series_uids),
            pseudonym=t.pseudonym,
            attempts=t.attempts,
            message=t.message,
            log=t.log,
            instances_expected=t.instances_expected,
            instances_done=t.instances_done,
            instances_failed=t.instances_failed,
            bytes_done=t.bytes_done,
            started_at=t.started_at,
            finished_at=t.finished_at,
        )
        for t in session.scalars(stmt)
    ]
