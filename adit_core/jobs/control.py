"""Job actions: when each is allowed, what it does, and how its result is worded.

`JOB_ACTIONS` is the one table the CLI (`adit jobs cancel|resume|retry|restart|delete`)
and the app (keys, palette, confirmations) are built from. Whether an action is allowed
is a function of the job's summary (`JobAction.refusal`); the actions below check the
same function on the locked job before they change anything, so what the app offers and
what the database accepts cannot drift apart. Each action is one transaction: task rows
change (`transitions`), queue entries follow, triggers re-derive the job status and
NOTIFY listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from adit_core.db.models import Job
from adit_core.jobs import transitions
from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary, get_job, job_summary
from adit_core.jobs.status import FINAL, Status


def _cancel_refusal(job: JobSummary) -> str | None:
    if job.status in (Status.PENDING, Status.IN_PROGRESS):
        return None
    return f"job {job.id} is {job.status}; only pending or running jobs can be canceled"


def _resume_refusal(job: JobSummary) -> str | None:
    if job.status == Status.CANCELED:
        return None
    return f"job {job.id} is {job.status}; only canceled jobs can be resumed"


def _retry_refusal(job: JobSummary) -> str | None:
    if job.status not in FINAL:
        return f"job {job.id} is still {job.status}; wait for it to finish or cancel it"
    if job.tasks_failed == 0:
        return f"job {job.id} has no failed tasks to retry"
    return None


def _restart_refusal(job: JobSummary) -> str | None:
    if job.status not in FINAL:
        return f"job {job.id} is still {job.status}; cancel it before restarting"
    return None


def _delete_refusal(job: JobSummary) -> str | None:
    # started_at is set the moment any task runs, and kept when tasks are queued again.
    if job.status == Status.PENDING and job.started_at is None:
        return None
    return (
        f"job {job.id} has started ({job.status}); only jobs that have not started can be "
        "deleted (cancel it instead)"
    )


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


@dataclass(frozen=True)
class JobAction:
    name: str
    label: str  # button and notification title
    help: str  # the CLI command's help, the key's tooltip
    question: str  # "{job}" is replaced by the job's id
    consequence: str
    refusal: Callable[[JobSummary], str | None]  # why not, for this job; None: allowed
    run: Callable[[Session, int], str]  # does it; returns what to tell the user
    destructive: bool = False

    def allowed(self, job: JobSummary) -> bool:
        return self.refusal(job) is None


JOB_ACTIONS: dict[str, JobAction] = {
    action.name: action
    for action in (
        JobAction(
            "cancel",
            "Cancel",
            "Cancel a job: queued tasks are dropped, running ones stop within seconds.",
            "Cancel job {job}?",
            "Queued tasks are dropped; running ones stop within seconds. "
            "Canceled tasks can be resumed later.",
            _cancel_refusal,
            _run_cancel,
            destructive=True,
        ),
        JobAction(
            "resume",
            "Resume",
            "Resume a canceled job: its canceled tasks are queued again.",
            "Resume job {job}?",
            "Its canceled tasks are queued again.",
            _resume_refusal,
            _run_requeue(resume),
        ),
        JobAction(
            "retry",
            "Retry failed",
            "Retry the failed tasks of a finished job.",
            "Retry the failed tasks of job {job}?",
            "Only the failed tasks run again; the others keep their results.",
            _retry_refusal,
            _run_requeue(retry),
        ),
        JobAction(
            "restart",
            "Restart",
            "Run every task of a finished job again.",
            "Restart job {job}?",
            "Every task runs again from the start, including the ones that succeeded.",
            _restart_refusal,
            _run_requeue(restart),
            destructive=True,
        ),
        JobAction(
            "delete",
            "Delete",
            "Delete a job that has not started yet.",
            "Delete job {job}?",
            "The job and its tasks are removed for good (only possible before it starts).",
            _delete_refusal,
            _run_delete,
            destructive=True,
        ),
    )
}


def perform(session: Session, name: str, job_id: int) -> str:
    """Carry out a job action; returns what to tell the user. JobError when refused."""
    return JOB_ACTIONS[name].run(session, job_id)
