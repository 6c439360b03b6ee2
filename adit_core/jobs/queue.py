"""Putting tasks on procrastinate's queue inside our own transaction.

We call procrastinate's SQL API (`procrastinate_defer_jobs_v1`, `procrastinate_cancel_job_v1`)
directly, so a job's rows and its queue entries commit or roll back together. The worker
registers the task under the same name (`adit_worker.app`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

QUEUE = "dicom"
TASK_NAME = "adit.process_task"
MAINTENANCE_QUEUE = "maintenance"


def defer_tasks(
    session: Session,
    task_ids: Sequence[int],
    *,
    priority: int,
    scheduled_at: datetime | None = None,
) -> None:
    """Queue one procrastinate job per task and remember its id on the task row."""
    if not task_ids:
        return
    # A task is queued at most once: drop an entry still waiting from an earlier run.
    session.execute(
        text(
            "SELECT procrastinate_cancel_job_v1(queued_job_id, false, true) FROM tasks "
            "WHERE id = ANY(CAST(:ids AS bigint[])) AND queued_job_id IS NOT NULL"
        ),
        {"ids": list(task_ids)},
    )
    job_ids = session.scalars(
        text(
            """
            SELECT unnest(procrastinate_defer_jobs_v1(array_agg(
                ROW(:queue, :task_name, :priority, NULL, 'task-' || t.id,
                    json_build_object('task_id', t.id)::jsonb,
                    CAST(:scheduled_at AS timestamptz)
                )::procrastinate_job_to_defer_v1 ORDER BY t.id)))
              FROM unnest(CAST(:ids AS bigint[])) AS t(id)
            """
        ),
        {
            "queue": QUEUE,
            "task_name": TASK_NAME,
            "priority": priority,
            "scheduled_at": scheduled_at,
            "ids": list(task_ids),
        },
    ).all()
    # A separate statement: rows inserted by the function are invisible to the one above.
    session.execute(
        text(
            "UPDATE tasks SET queued_job_id = pj.id, updated_at = now() "
            "FROM procrastinate_jobs pj "
            "WHERE pj.id = ANY(CAST(:job_ids AS bigint[])) "
            "AND tasks.id = (pj.args->>'task_id')::bigint"
        ),
        {"job_ids": list(job_ids)},
    )


def drop_queued(session: Session, queued_job_ids: Sequence[int]) -> None:
    """Remove queue entries for good (their tasks are about to be deleted)."""
    for job_id in queued_job_ids:
        session.execute(
            text("SELECT procrastinate_cancel_job_v1(:id, false, true)"), {"id": job_id}
        )


def cancel_queued(session: Session, queued_job_ids: Sequence[int], *, abort: bool) -> None:
    """Dequeue waiting jobs; with abort, also ask running ones to stop (their worker is told)."""
    for job_id in queued_job_ids:
        session.execute(
            text("SELECT procrastinate_cancel_job_v1(:id, :abort, false)"),
            {"id": job_id, "abort": abort},
        )
