"""Job and task states, and the rule that derives a job's state from its tasks.

The rule runs inside PostgreSQL (`adit_job_status`, called by `adit_refresh_job_status`
from the task triggers), so a job is right however its tasks change: by a worker, a job
action, or psql. `job_status` below is the same rule in Python, for reading and for the
test that holds the two together; `JOB_STATUS_SQL` is the SQL that migration 0005 installs.
A change to the rule changes both and adds a migration that runs `JOB_STATUS_SQL` again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


FINAL = frozenset({Status.CANCELED, Status.SUCCESS, Status.WARNING, Status.FAILURE})
ACTIVE = frozenset({Status.PENDING, Status.IN_PROGRESS, Status.CANCELING})


class JobKind(StrEnum):
    SELECTIVE_TRANSFER = "selective_transfer"
    BATCH_QUERY = "batch_query"
    BATCH_TRANSFER = "batch_transfer"
    UPLOAD = "upload"


# Higher runs first. Urgent work of any kind beats normal work; interactive selective
# transfers beat batch work (as ADIT orders them).
PRIORITY: dict[JobKind, tuple[int, int]] = {
    JobKind.SELECTIVE_TRANSFER: (4, 8),
    JobKind.BATCH_QUERY: (3, 7),
    JobKind.BATCH_TRANSFER: (2, 6),
    JobKind.UPLOAD: (4, 8),
}


def priority(kind: JobKind | str, urgent: bool) -> int:
    normal, high = PRIORITY[JobKind(kind)]
    return high if urgent else normal


@dataclass(frozen=True)
class TaskCounts:
    """How many of a job's tasks are in each state (CANCELING tasks count as running)."""

    pending: int = 0
    running: int = 0
    success: int = 0
    warning: int = 0
    failure: int = 0
    canceled: int = 0

    @property
    def total(self) -> int:
        return (
            self.pending + self.running + self.success + self.warning + self.failure
            + self.canceled
        )  # fmt: skip


def job_status(current: Status, tasks: TaskCounts) -> tuple[Status, str | None]:
    """A job's state from its tasks, and the message a final state sets (None: keep it).

    - A job being canceled stays CANCELING while a task still runs, then is CANCELED.
    - A running task makes the job IN_PROGRESS (IN_PROGRESS ranks above PENDING); so does
      waiting work once some of it has been done.
    - A job without tasks has nothing to do: SUCCESS.
    - Once every task is final: CANCELED if any was canceled, else FAILURE if any failed,
      else WARNING if any warned, else SUCCESS.
    """
    total = tasks.total
    if current == Status.CANCELING:
        if tasks.running:
            return Status.CANCELING, None
        return Status.CANCELED, f"Canceled: {tasks.canceled} of {total} tasks canceled."
    if tasks.running:
        return Status.IN_PROGRESS, None
    if tasks.pending:
        return (Status.IN_PROGRESS if tasks.pending < total else Status.PENDING), None
    if total == 0:
        return Status.SUCCESS, "Nothing to do."
    if tasks.canceled:
        return Status.CANCELED, f"{tasks.canceled} of {total} tasks canceled."
    if tasks.failure:
        return Status.FAILURE, f"{tasks.failure} of {total} tasks failed."
    if tasks.warning:
        return Status.WARNING, f"{tasks.warning} of {total} tasks finished with warnings."
    return Status.SUCCESS, f"All {total} tasks succeeded."


# `job_status` in PL/pgSQL, and the refresh that applies it to a job row. The job row is
# locked first, so two tasks finishing at the same moment cannot leave the job behind.
JOB_STATUS_SQL = """
CREATE OR REPLACE FUNCTION adit_job_status(
    cur text, pending bigint, running bigint, success bigint, warning bigint,
    failure bigint, canceled bigint, OUT status text, OUT message text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    total bigint := pending + running + success + warning + failure + canceled;
BEGIN
    message := NULL;
    IF cur = 'CANCELING' THEN
        IF running > 0 THEN
            status := 'CANCELING';
        ELSE
            status := 'CANCELED';
            message := format('Canceled: %s of %s tasks canceled.', canceled, total);
        END IF;
    ELSIF running > 0 THEN
        status := 'IN_PROGRESS';
    ELSIF pending > 0 THEN
        status := CASE WHEN pending < total THEN 'IN_PROGRESS' ELSE 'PENDING' END;
    ELSIF total = 0 THEN
        status := 'SUCCESS';
        message := 'Nothing to do.';
    ELSIF canceled > 0 THEN
        status := 'CANCELED';
        message := format('%s of %s tasks canceled.', canceled, total);
    ELSIF failure > 0 THEN
        status := 'FAILURE';
        message := format('%s of %s tasks failed.', failure, total);
    ELSIF warning > 0 THEN
        status := 'WARNING';
        message := format('%s of %s tasks finished with warnings.', warning, total);
    ELSE
        status := 'SUCCESS';
        message := format('All %s tasks succeeded.', total);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION adit_refresh_job_status(p_job bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    c record;
    derived record;
BEGIN
    SELECT jobs.status INTO cur FROM jobs WHERE id = p_job FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT count(*) FILTER (WHERE tasks.status = 'PENDING') AS pending,
           count(*) FILTER (WHERE tasks.status IN ('IN_PROGRESS', 'CANCELING')) AS running,
           count(*) FILTER (WHERE tasks.status = 'SUCCESS') AS success,
           count(*) FILTER (WHERE tasks.status = 'WARNING') AS warning,
           count(*) FILTER (WHERE tasks.status = 'FAILURE') AS failure,
           count(*) FILTER (WHERE tasks.status = 'CANCELED') AS canceled
      INTO c FROM tasks WHERE job_id = p_job;
    SELECT * INTO derived FROM adit_job_status(
        cur, c.pending, c.running, c.success, c.warning, c.failure, c.canceled);
    UPDATE jobs
       SET status = derived.status,
           message = COALESCE(derived.message,
                              CASE WHEN derived.status IN ('PENDING', 'IN_PROGRESS')
                                   THEN '' ELSE jobs.message END),
           started_at = CASE WHEN derived.status <> 'PENDING'
                             THEN COALESCE(started_at, now()) ELSE started_at END,
           finished_at = CASE WHEN derived.status IN ('SUCCESS', 'WARNING', 'FAILURE', 'CANCELED')
                              THEN COALESCE(finished_at, now()) ELSE NULL END,
           updated_at = now()
     WHERE id = p_job
       AND (jobs.status IS DISTINCT FROM derived.status
            OR (derived.message IS NOT NULL AND jobs.message <> derived.message));
END $$;
"""
