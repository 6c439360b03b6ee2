"""Running one task to its next state: claim it, run it, record the outcome in one place.

Every way a run can end maps to exactly one task state:
- finished → SUCCESS or WARNING;
- a transient error with attempts left → PENDING again, re-queued with exponential backoff;
- a permanent error, or no attempts left → FAILURE, with a message that says what to do;
- canceled by the user → CANCELED;
- the worker shutting down → PENDING again, re-queued at once.
"""

from __future__ import annotations

import logging
import traceback
from typing import Unpack

from sqlalchemy import select

from adit_core import settings
from adit_core.db.database import Database
from adit_core.db.models import Job, Task
from adit_core.dicom.errors import DicomCanceled, DicomError
from adit_core.jobs import transitions
from adit_core.jobs.status import JobKind, Status
from adit_worker.batch_query import BatchQueryRunner
from adit_worker.cancel import CancelToken, StopReason
from adit_worker.progress import ProgressReporter
from adit_worker.transfer import (
    Outcome,
    RunnerOptions,
    TaskFailed,
    TransferContext,
    TransferRunner,
)

log = logging.getLogger("adit.worker")


def _finish(
    db: Database,
    task_id: int,
    status: Status,
    message: str,
    lines: list[str],
    *,
    requeue_in: float | None = None,
    refund_attempt: bool = False,
) -> None:
    with db.session() as session:
        transitions.finish(
            session,
            task_id,
            status,
            message,
            lines,
            requeue_in=requeue_in,
            refund_attempt=refund_attempt,
        )


def run_task(
    db: Database, task_id: int, token: CancelToken, **runner_options: Unpack[RunnerOptions]
) -> None:
    with db.session() as session:
        attempt = transitions.claim(session, task_id)
    if attempt is None:
        log.info("task is not pending any more; skipped", extra={"task_id": task_id})
        return
    log.info("task started", extra={"task_id": task_id, "attempt": attempt})
    with db.session() as session:
        current = settings.load(session)
    max_attempts, base = current.max_attempts, current.retry_base_seconds
    runner: TransferRunner | BatchQueryRunner | None = None  # once the task has loaded
    try:
        runner = _runner(db, task_id, token, runner_options)
        with ProgressReporter(db, task_id) as progress:
            outcome: Outcome = runner.run(progress)
        _finish(db, task_id, Status(outcome.status), outcome.message, outcome.log)
        log.info("task finished", extra={"task_id": task_id, "status": outcome.status})
    except DicomCanceled:
        _stopped(db, task_id, token)
    except (TaskFailed, DicomError) as exc:
        if token.stopped:
            _stopped(db, task_id, token)
            return
        transient = exc.transient
        reason = str(exc).rstrip(".")
        details = exc.details if isinstance(exc, TaskFailed) else []
        lines = list(details) or (list(runner.log) if runner is not None else [])
        if transient and attempt < max_attempts:
            delay = base * (2 ** (attempt - 1))
            _finish(
                db,
                task_id,
                Status.PENDING,
                f"Attempt {attempt} of {max_attempts} failed: {reason}. Retrying in {delay:g} s.",
                lines,
                requeue_in=delay,
            )
            log.warning("task will be retried", extra={"task_id": task_id, "error": str(exc)})
            return
        advice = (
            f"Gave up after {attempt} attempts: {reason}. Check that the servers are reachable, "
            "then run `adit jobs retry`."
            if transient
            else f"{reason}."
        )
        _finish(db, task_id, Status.FAILURE, advice, lines)
        log.error("task failed", extra={"task_id": task_id, "error": str(exc)})
    except Exception as exc:
        _finish(
            db,
            task_id,
            Status.FAILURE,
            f"Unexpected error: {exc}. This is a bug; the log has the details.",
            [traceback.format_exc()],
        )
        log.exception("task crashed", extra={"task_id": task_id})


def _runner(
    db: Database, task_id: int, token: CancelToken, runner_options: RunnerOptions
) -> TransferRunner | BatchQueryRunner:
    """Batch query tasks search; every other kind of task transfers."""
    with db.session() as session:
        kind = session.scalar(
            select(Job.kind).join(Task, Task.job_id == Job.id).where(Task.id == task_id)
        )
    if kind == JobKind.BATCH_QUERY:
        return BatchQueryRunner.load(db, task_id, token)
    ctx = TransferContext.load(db, task_id)
    return TransferRunner(db, ctx, token, **runner_options)


def _stopped(db: Database, task_id: int, token: CancelToken) -> None:
    if token.reason is StopReason.SHUTDOWN:
        message = "The worker stopped; the task was queued again."
        # An interrupted run does not use up an attempt.
        _finish(db, task_id, Status.PENDING, message, [], refund_attempt=True)
    else:
        _finish(db, task_id, Status.CANCELED, transitions.CANCELED_BY_USER, [])
