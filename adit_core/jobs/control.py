"""Job control: cancel, resume, retry, restart, delete.

Each action is one transaction: rows change, queue entries follow, triggers re-derive the
job status and NOTIFY listeners.
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from adit_core.db.models import Job, Task
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import cancel_queued, defer_tasks
from adit_core.jobs.status import FINAL, Status, priority


def get_job(session: Session, job_id: int, *, lock: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalar(stmt)
    if job is None:
        raise JobError(f"no job with id {job_id}")
    return job


def _requeue(session: Session, job: Job, statuses: set[Status], *, reset_attempts: bool) -> int:
    """Put the job's tasks in the given states back to PENDING and queue them again."""
    values: dict[str, object] = {
        "status": Status.PENDING.value,
        "message": "",
        "instances_expected": None,
        "instances_done": 0,
        "instances_failed": 0,
        "bytes_done": 0,
        "started_at": None,
        "finished_at": None,
    }
    if reset_attempts:
        values["attempts"] = 0
    ids = list(
        session.scalars(
            update(Task)
            .where(Task.job_id == job.id, Task.status.in_([s.value for s in statuses]))
            .values(**values)
            .returning(Task.id)
        )
    )
    if ids:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status=Status.PENDING.value, finished_at=None, message="")
        )
        session.execute(text("SELECT adit_refresh_job_status(:id)"), {"id": job.id})
        defer_tasks(session, ids, priority=priority(job.kind, job.urgent))
    return len(ids)


def cancel(session: Session, job_id: int) -> Job:
    job = get_job(session, job_id, lock=True)
    if job.status not in (Status.PENDING, Status.IN_PROGRESS):
        raise JobError(
            f"job {job_id} is {job.status}; only pending or running jobs can be canceled"
        )
    job.status = Status.CANCELING.value
    session.flush()
    pending = session.execute(
        update(Task)
        .where(Task.job_id == job_id, Task.status == Status.PENDING.value)
        .values(status=Status.CANCELED.value, message="Canceled by the user.", finished_at=None)
        .returning(Task.queued_job_id)
    ).scalars()
    cancel_queued(session, [q for q in pending if q is not None], abort=False)
    running = session.scalars(
        select(Task.queued_job_id).where(
            Task.job_id == job_id, Task.status == Status.IN_PROGRESS.value
        )
    )
    cancel_queued(session, [q for q in running if q is not None], abort=True)
    session.execute(text("SELECT adit_refresh_job_status(:id)"), {"id": job_id})
    session.refresh(job)
    return job


def resume(session: Session, job_id: int) -> int:
    job = get_job(session, job_id, lock=True)
    if job.status != Status.CANCELED:
        raise JobError(f"job {job_id} is {job.status}; only canceled jobs can be resumed")
    return _requeue(session, job, {Status.CANCELED}, reset_attempts=True)


def retry(session: Session, job_id: int) -> int:
    job = get_job(session, job_id, lock=True)
    if job.status not in FINAL:
        raise JobError(f"job {job_id} is still {job.status}; wait for it to finish or cancel it")
    count = _requeue(session, job, {Status.FAILURE}, reset_attempts=True)
    if not count:
        raise JobError(f"job {job_id} has no failed tasks to retry")
    return count


def restart(session: Session, job_id: int) -> int:
    job = get_job(session, job_id, lock=True)
    if job.status not in FINAL:
        raise JobError(f"job {job_id} is still {job.status}; cancel it before restarting")
    return _requeue(session, job, set(FINAL), reset_attempts=True)


def delete(session: Session, job_id: int) -> None:
    job = get_job(session, job_id, lock=True)
    started = session.scalar(
        select(Task.id)
        .where(Task.job_id == job_id)
        .where((Task.status != Status.PENDING.value) | (Task.attempts > 0))
        .limit(1)
    )
    if job.status != Status.PENDING or started is not None:
        raise JobError(
            f"job {job_id} has started ({job.status}); only jobs that have not started can be "
            "deleted (cancel it instead)"
        )
    queued = session.scalars(select(Task.queued_job_id).where(Task.job_id == job_id))
    for queued_id in queued:
        if queued_id is not None:
            session.execute(
                text("SELECT procrastinate_cancel_job_v1(:id, false, true)"), {"id": queued_id}
            )
    session.delete(job)
    session.flush()
