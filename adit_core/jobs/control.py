"""Carrying out job actions (the table of when each is allowed: `adit_core.jobs.actions`).

Each action checks the table's rule on the locked job before it changes anything, and is
one transaction: task rows change (`transitions`), queue entries follow, triggers
re-derive the job status and NOTIFY listeners.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from adit_core.db.models import Job
from adit_core.jobs import transitions
from adit_core.jobs.actions import JOB_ACTIONS
from adit_core.jobs.errors import JobError
from adit_core.jobs.read import job_summary
from adit_core.jobs.status import FINAL, Status

__all__ = ["JOB_ACTIONS", "cancel", "delete", "get_job", "perform", "restart", "resume", "retry"]


def get_job(session: Session, job_id: int, *, lock: bool = False) -> Job:
    """The job row (locked for the transaction with `lock`); JobError when there is none."""
    stmt = select(Job).where(Job.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalar(stmt)
    if job is None:
        raise JobError(f"no job with id {job_id}")
    return job


def _allowed_job(session: Session, job_id: int, action: str) -> Job:
    """The job, locked; JobError with the action's refusal when it is not allowed."""
    job = get_job(session, job_id, lock=True)
    refusal = JOB_ACTIONS[action].refusal(job_summary(session, job_id))
    if refusal is not None:
        raise JobError(refusal)
    return job


def cancel(session: Session, job_id: int) -> Job:
    job = _allowed_job(session, job_id, "cancel")
    transitions.cancel_tasks(session, job_id)
    session.refresh(job)
    return job


def resume(session: Session, job_id: int) -> int:
    _allowed_job(session, job_id, "resume")
    return transitions.requeue_tasks(session, job_id, {Status.CANCELED})


def retry(session: Session, job_id: int) -> int:
    _allowed_job(session, job_id, "retry")
    return transitions.requeue_tasks(session, job_id, {Status.FAILURE})


def restart(session: Session, job_id: int) -> int:
    _allowed_job(session, job_id, "restart")
    return transitions.requeue_tasks(session, job_id, FINAL)


def delete(session: Session, job_id: int) -> None:
    job = _allowed_job(session, job_id, "delete")
    transitions.dequeue_job(session, job_id)
    session.delete(job)
    session.flush()


def _run_cancel(session: Session, job_id: int) -> str:
    status = cancel(session, job_id).status
    return f"Job {job_id}: {status.lower().replace('_', ' ')}."


def _run_requeue(requeue: Callable[[Session, int], int]) -> Callable[[Session, int], str]:
    def run(session: Session, job_id: int) -> str:
        count = requeue(session, job_id)
        return f"Job {job_id}: {count} task{'s' if count != 1 else ''} queued again."

    return run


def _run_delete(session: Session, job_id: int) -> str:
    delete(session, job_id)
    return f"Job {job_id} deleted."


_RUNNERS: dict[str, Callable[[Session, int], str]] = {
    "cancel": _run_cancel,
    "resume": _run_requeue(resume),
    "retry": _run_requeue(retry),
    "restart": _run_requeue(restart),
    "delete": _run_delete,
}


def perform(session: Session, name: str, job_id: int) -> str:
    """Carry out a job action; returns what to tell the user. JobError when refused."""
    return _RUNNERS[name](session, job_id)
