"""Every change of a task's state, in one place and one SQL style (SQLAlchemy Core).

Workers claim, finish, re-queue and report progress here; job actions cancel and re-queue
here; stalled-task recovery re-queues here. Each function works inside the caller's
transaction: the task row, its queue entry (procrastinate, `adit_core.jobs.queue`) and the
job status the triggers derive (`adit_core.jobs.status`) commit together.

    PENDING ──claim──▶ IN_PROGRESS ──finish──▶ SUCCESS | WARNING | FAILURE | CANCELED
       ▲                   │
       └──finish(PENDING)──┘  (retry with backoff, worker shutdown, stalled worker)
    PENDING ──cancel──▶ CANCELED;  final ──requeue (resume/retry/restart)──▶ PENDING
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.orm import Session

from adit_core.db.models import Job, Task
from adit_core.jobs.queue import cancel_queued, defer_tasks, drop_queued
from adit_core.jobs.status import Status, priority

CANCELED_BY_USER = "Canceled by the user."


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_with(lines: Sequence[str], now: datetime) -> ColumnElement[str]:
    """The task's log with `lines` appended, each stamped with `now`."""
    entry = "\n".join(f"{_stamp(now)} {line}" for line in lines if line)
    return func.btrim(Task.log + literal("\n") + literal(entry), " \t\r\n")


def refresh_job_status(session: Session, job_id: int) -> None:
    """Derive the job's state from its tasks now (the triggers do it on task changes)."""
    session.execute(select(func.adit_refresh_job_status(job_id)))


# -- a worker's run of one task ----------------------------------------------------------


def claim(session: Session, task_id: int) -> int | None:
    """PENDING → IN_PROGRESS; the attempt number, or None if the task is not pending."""
    attempt = session.scalar(
        update(Task)
        .where(Task.id == task_id, Task.status == Status.PENDING.value)
        .values(
            status=Status.IN_PROGRESS.value,
            attempts=Task.attempts + 1,
            started_at=func.now(),
            finished_at=None,
            message="",
            instances_done=0,
            instances_failed=0,
            bytes_done=0,
            updated_at=func.now(),
        )
        .returning(Task.attempts)
    )
    return None if attempt is None else int(attempt)


def record_progress(session: Session, task_id: int, *, done: int, failed: int, nbytes: int) -> None:
    session.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(instances_done=done, instances_failed=failed, bytes_done=nbytes)
    )


def record_expected(session: Session, task_id: int, count: int) -> None:
    """How many instances the source listed for the task (progress shows done/expected)."""
    session.execute(update(Task).where(Task.id == task_id).values(instances_expected=count))


def finish(
    session: Session,
    task_id: int,
    status: Status,
    message: str,
    lines: Sequence[str] = (),
    *,
    requeue_in: float | None = None,
    refund_attempt: bool = False,
) -> Status | None:
    """End a run: a final state, or PENDING and queued again after `requeue_in` seconds.

    A cancel that arrived while the run was finishing wins over PENDING. `refund_attempt`:
    the run was interrupted (worker shutdown) and does not use up an attempt. Returns the
    state written (None when the task no longer exists).
    """
    row = session.execute(
        select(Job.status, Job.kind, Job.urgent)
        .select_from(Task)
        .join(Job, Job.id == Task.job_id)
        .where(Task.id == task_id)
        .with_for_update(of=Task)
    ).one_or_none()
    if row is None:
        return None
    job_status, kind, urgent = row
    if status is Status.PENDING and job_status in (Status.CANCELING, Status.CANCELED):
        status, message = Status.CANCELED, CANCELED_BY_USER
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "status": status.value,
        "message": message,
        "log": _log_with([message, *lines], now),
        "finished_at": None if status is Status.PENDING else now,
        "updated_at": now,
    }
    if refund_attempt:
        values["attempts"] = func.greatest(Task.attempts - 1, 0)
    session.execute(update(Task).where(Task.id == task_id).values(**values))
    if status is Status.PENDING:
        when = now + timedelta(seconds=requeue_in or 0)
        defer_tasks(session, [task_id], priority=priority(kind, urgent), scheduled_at=when)
    return status


def requeue_stalled(session: Session, task_id: int, note: str) -> bool:
    """A task whose worker died goes back to PENDING (its queue entry is retried by the
    caller); `note` goes into its log. False when the task was not running any more."""
    now = datetime.now(UTC)
    changed = session.scalar(
        update(Task)
        .where(
            Task.id == task_id,
            Task.status.in_([Status.IN_PROGRESS.value, Status.CANCELING.value]),
        )
        .values(
            status=Status.PENDING.value,
            message="The worker running this task stopped responding; queued again.",
            log=_log_with([note], now),
            updated_at=now,
        )
        .returning(Task.id)
    )
    return changed is not None


# -- job actions -------------------------------------------------------------------------


def cancel_tasks(session: Session, job_id: int) -> None:
    """The job becomes CANCELING: waiting tasks are CANCELED and leave the queue, running
    ones are asked to stop (their worker records CANCELED); then the job is re-derived."""
    session.execute(update(Job).where(Job.id == job_id).values(status=Status.CANCELING.value))
    waiting = session.scalars(
        update(Task)
        .where(Task.job_id == job_id, Task.status == Status.PENDING.value)
        .values(status=Status.CANCELED.value, message=CANCELED_BY_USER, finished_at=None)
        .returning(Task.queued_job_id)
    ).all()
    cancel_queued(session, [q for q in waiting if q is not None], abort=False)
    running = session.scalars(
        select(Task.queued_job_id).where(
            Task.job_id == job_id, Task.status == Status.IN_PROGRESS.value
        )
    ).all()
    cancel_queued(session, [q for q in running if q is not None], abort=True)
    refresh_job_status(session, job_id)


def requeue_tasks(session: Session, job_id: int, statuses: Collection[Status]) -> int:
    """The job's tasks in `statuses` start over: PENDING, counters and attempts reset,
    queued again at the job's priority. Returns how many."""
    ids = session.scalars(
        update(Task)
        .where(Task.job_id == job_id, Task.status.in_([s.value for s in statuses]))
        .values(
            status=Status.PENDING.value,
            message="",
            instances_expected=None,
            instances_done=0,
            instances_failed=0,
            bytes_done=0,
            attempts=0,
            started_at=None,
            finished_at=None,
        )
        .returning(Task.id)
    ).all()
    if not ids:
        return 0
    kind, urgent = session.execute(select(Job.kind, Job.urgent).where(Job.id == job_id)).one()
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=Status.PENDING.value, finished_at=None, message="")
    )
    refresh_job_status(session, job_id)
    defer_tasks(session, list(ids), priority=priority(kind, urgent))
    return len(ids)


def dequeue_job(session: Session, job_id: int) -> None:
    """Drop every queue entry of the job's tasks (before the job is deleted)."""
    queued = session.scalars(select(Task.queued_job_id).where(Task.job_id == job_id)).all()
    drop_queued(session, [q for q in queued if q is not None])
