"""Job actions: when each is allowed and how it is offered and worded.

`JOB_ACTIONS` is the one table the CLI (`adit jobs cancel|resume|retry|restart|delete`)
and the app (keys, palette, confirmations) are built from. Whether an action is allowed
is a function of the job's summary (`JobAction.refusal`); `adit_core.jobs.control` carries
the actions out and checks the same function on the locked job first, so what the app
offers and what the database accepts cannot drift apart. This module imports nothing
heavy: commands list the actions without loading the database layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adit_core.jobs.read import JobSummary
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


@dataclass(frozen=True)
class JobAction:
    name: str
    label: str  # button and notification title
    help: str  # the CLI command's help, the key's tooltip
    question: str  # "{job}" is replaced by the job's id
    consequence: str
    refusal: Callable[[JobSummary], str | None]  # why not, for this job; None: allowed
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
            destructive=True,
        ),
        JobAction(
            "resume",
            "Resume",
            "Resume a canceled job: its canceled tasks are queued again.",
            "Resume job {job}?",
            "Its canceled tasks are queued again.",
            _resume_refusal,
        ),
        JobAction(
            "retry",
            "Retry failed",
            "Retry the failed tasks of a finished job.",
            "Retry the failed tasks of job {job}?",
            "Only the failed tasks run again; the others keep their results.",
            _retry_refusal,
        ),
        JobAction(
            "restart",
            "Restart",
            "Run every task of a finished job again.",
            "Restart job {job}?",
            "Every task runs again from the start, including the ones that succeeded.",
            _restart_refusal,
            destructive=True,
        ),
        JobAction(
            "delete",
            "Delete",
            "Delete a job that has not started yet.",
            "Delete job {job}?",
            "The job and its tasks are removed for good (only possible before it starts).",
            _delete_refusal,
            destructive=True,
        ),
    )
}
