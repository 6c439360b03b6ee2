"""Reading jobs and tasks for people and scripts (CLI, TUI), in plain SQL (see `db.sql`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from psycopg.rows import DictRow

from adit_core.db import sql
from adit_core.jobs.errors import JobError

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable


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


# One row per job with its tasks' counters (a lateral count touches only the jobs listed).
_SUMMARY = """
    SELECT j.id, j.kind, j.owner, j.status, j.urgent, j.message,
           coalesce(j.options->>'source', '') AS source,
           coalesce(j.options->>'destination', '') AS destination,
           j.created_at, j.started_at, j.finished_at,
           c.total AS tasks_total, c.done AS tasks_done, c.failed AS tasks_failed,
           c.expected AS instances_expected, c.idone AS instances_done,
           c.ifailed AS instances_failed, c.bytes AS bytes_done
      FROM jobs j
      CROSS JOIN LATERAL (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE t.status IN ('SUCCESS', 'WARNING', 'FAILURE', 'CANCELED'))
                 AS done,
               count(*) FILTER (WHERE t.status = 'FAILURE') AS failed,
               coalesce(sum(t.instances_expected), 0) AS expected,
               coalesce(sum(t.instances_done), 0) AS idone,
               coalesce(sum(t.instances_failed), 0) AS ifailed,
               coalesce(sum(t.bytes_done), 0) AS bytes
          FROM tasks t WHERE t.job_id = j.id
      ) c
"""


def _summary(r: DictRow) -> JobSummary:
    for key in ("instances_expected", "instances_done", "instances_failed", "bytes_done"):
        r[key] = int(r[key])  # sums of bigint columns arrive as Decimal
    return JobSummary(**r)


def list_jobs(
    session: Connectable,
    *,
    owner: str | None = None,
    statuses: list[str] | None = None,
    limit: int = 200,
) -> list[JobSummary]:
    found = sql.rows(
        session,
        _SUMMARY + "WHERE (%(owner)s::text IS NULL OR j.owner = %(owner)s) "
        "AND (%(statuses)s::text[] IS NULL OR j.status = ANY(%(statuses)s)) "
        "ORDER BY j.created_at DESC, j.id DESC LIMIT %(limit)s",
        {"owner": owner or None, "statuses": statuses or None, "limit": limit},
    )
    return [_summary(r) for r in found]


def job_summary(session: Connectable, job_id: int) -> JobSummary:
    found = sql.row(session, _SUMMARY + "WHERE j.id = %s", (job_id,))
    if found is None:
        raise JobError(f"no job with id {job_id}")
    return _summary(found)


def job_tasks(
    session: Connectable, job_id: int, *, offset: int = 0, limit: int | None = None
) -> list[TaskView]:
    found = sql.rows(
        session,
        """
        SELECT t.id, t.position, t.status,
               coalesce(src.name, '') AS source, coalesce(dst.name, '') AS destination,
               t.patient_id, t.study_uid, t.series_uids, t.pseudonym, t.attempts, t.message,
               t.log, t.instances_expected, t.instances_done, t.instances_failed, t.bytes_done,
               t.started_at, t.finished_at
          FROM tasks t
          LEFT JOIN dicom_nodes src ON src.id = t.source_id
          LEFT JOIN dicom_nodes dst ON dst.id = t.destination_id
         WHERE t.job_id = %s
         ORDER BY t.position, t.id
        OFFSET %s LIMIT %s
        """,
        (job_id, offset, limit),
    )
    return [TaskView(**r) for r in found]


def job_options(session: Connectable, job_id: int) -> dict[str, object]:
    """What the job was created with (source, destination, pseudonym, trial, …)."""
    found = sql.row(session, "SELECT options FROM jobs WHERE id = %s", (job_id,))
    if found is None:
        raise JobError(f"no job with id {job_id}")
    return dict(found["options"])
