"""Putting tasks on procrastinate's queue inside our own transaction.

We call procrastinate's SQL API (`procrastinate_defer_jobs_v1`, `procrastinate_cancel_job_v1`)
directly, so a job's rows and its queue entries commit or roll back together. The worker
registers the task under the same name (`adit_worker.app`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from adit_core.db import sql

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable

QUEUE = "dicom"
TASK_NAME = "adit.process_task"
MAINTENANCE_QUEUE = "maintenance"


def defer_tasks(
    session: Connectable,
    task_ids: Sequence[int],
    *,
    priority: int,
    scheduled_at: datetime | None = None,
) -> None:
    """Queue one procrastinate job per task and remember its id on the task row."""
    if not task_ids:
        return
    ids = list(task_ids)
    # A task is queued at most once: drop an entry still waiting from an earlier run.
    sql.execute(
        session,
        "SELECT procrastinate_cancel_job_v1(queued_job_id, false, true) FROM tasks "
        "WHERE id = ANY(%s::bigint[]) AND queued_job_id IS NOT NULL",
        (ids,),
    )
    queued = sql.rows(
        session,
        """
        SELECT unnest(procrastinate_defer_jobs_v1(array_agg(
            ROW(%(queue)s, %(task_name)s, %(priority)s, NULL, 'task-' || t.id,
                json_build_object('task_id', t.id)::jsonb,
                %(scheduled_at)s::timestamptz
            )::procrastinate_job_to_defer_v1 ORDER BY t.id))) AS id
          FROM unnest(%(ids)s::bigint[]) AS t(id)
        """,
        {
            "queue": QUEUE,
            "task_name": TASK_NAME,
            "priority": priority,
            "scheduled_at": scheduled_at,
            "ids": ids,
        },
    )
    # A separate statement: rows inserted by the function are invisible to the one above.
    sql.execute(
        session,
        "UPDATE tasks SET queued_job_id = pj.id, updated_at = now() "
        "FROM procrastinate_jobs pj "
        "WHERE pj.id = ANY(%s::bigint[]) AND tasks.id = (pj.args->>'task_id')::bigint",
        ([r["id"] for r in queued],),
    )


def drop_queued(session: Connectable, queued_job_ids: Sequence[int]) -> None:
    """Remove queue entries for good (their tasks are about to be deleted)."""
    for job_id in queued_job_ids:
        sql.execute(session, "SELECT procrastinate_cancel_job_v1(%s, false, true)", (job_id,))


def cancel_queued(session: Connectable, queued_job_ids: Sequence[int], *, abort: bool) -> None:
    """Dequeue waiting jobs; with abort, also ask running ones to stop (their worker is told)."""
    for job_id in queued_job_ids:
        sql.execute(session, "SELECT procrastinate_cancel_job_v1(%s, %s, false)", (job_id, abort))
