"""Backend of the Jobs screens: blocking database reads meant for thread workers, what the
screens compute from them, and the LISTEN loop the live monitor runs in an async worker.

Nothing here imports Textual, so every function is usable (and tested) without the app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NoReturn

import psycopg
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from adit_core.db.database import Database
from adit_core.db.models import Task
from adit_core.events import CHANNEL, Event
from adit_core.jobs.read import (
    JobSummary,
    TaskView,
    job_options,
    job_summary,
    job_tasks,
    list_jobs,
)
from adit_core.jobs.status import Status

log = logging.getLogger("adit.tui.jobs")

STATUSES: tuple[str, ...] = tuple(s.value for s in Status)

# ---------------------------------------------------------------------------------------
# Jobs


def current_user(session: Session) -> str:
    return str(session.connection().exec_driver_sql("SELECT current_user").scalar())


@dataclass(frozen=True)
class JobQuery:
    """What the job list shows: whose jobs, which states, how many."""

    everyone: bool = False
    statuses: frozenset[str] = frozenset()
    limit: int = 200


@dataclass
class JobList:
    query: JobQuery
    user: str
    rows: list[JobSummary]
    truncated: bool  # more jobs match than `query.limit`


def load_jobs(db: Database, query: JobQuery) -> JobList:
    with db.session() as session:
        user = current_user(session)
        rows = list_jobs(
            session,
            owner=None if query.everyone else user,
            statuses=sorted(query.statuses) or None,
            limit=query.limit + 1,
        )
    return JobList(query, user, rows[: query.limit], len(rows) > query.limit)


@dataclass
class JobDetail:
    """One job with one page of its tasks."""

    summary: JobSummary
    options: dict[str, object]
    tasks: list[TaskView]
    offset: int
    page_size: int
    user: str = ""  # who is looking (the database user)
    tasks_counted: int = 0  # tasks that know how many instances they expect

    @property
    def task_count(self) -> int:
        return self.summary.tasks_total


def load_job_detail(db: Database, job_id: int, *, offset: int, page_size: int) -> JobDetail:
    """The job and the page of tasks starting at `offset` (clamped to the last page)."""
    with db.session() as session:
        summary = job_summary(session, job_id)
        options = job_options(session, job_id)
        total = summary.tasks_total
        offset = max(0, min(offset, last_page_offset(total, page_size)))
        tasks = job_tasks(session, job_id, offset=offset, limit=page_size)
        user = current_user(session)
        counted = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.job_id == job_id, Task.instances_expected.is_not(None))
        )
    return JobDetail(summary, options, tasks, offset, page_size, user, int(counted or 0))


def expected_instances(job: JobSummary, tasks_counted: int) -> float | None:
    """All instances the job will move: exact once every task has counted, else
    extrapolated from the tasks that have."""
    if tasks_counted <= 0 or job.instances_expected <= 0:
        return None
    if tasks_counted >= job.tasks_total:
        return float(job.instances_expected)
    return job.instances_expected / tasks_counted * job.tasks_total


def last_page_offset(total: int, page_size: int) -> int:
    return 0 if total <= 0 else ((total - 1) // page_size) * page_size


def load_task(db: Database, task_id: int) -> TaskView | None:
    """One task as the job detail shows it (None when it no longer exists)."""
    with db.session() as session:
        row = session.execute(
            select(Task.job_id, Task.position).where(Task.id == task_id)
        ).one_or_none()
        if row is None:
            return None
        job_id, position = row
        index = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.job_id == job_id, tuple_(Task.position, Task.id) < (position, task_id))
        )
        found = job_tasks(session, job_id, offset=int(index or 0), limit=1)
    return found[0] if found and found[0].id == task_id else None


# ---------------------------------------------------------------------------------------
# Presentation helpers (pure)


def fmt_bytes(n: float) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def done_fraction(job: JobSummary) -> float | None:
    """How much of the job is done, from tasks (several) or instances (one task)."""
    if job.tasks_total > 1:
        return job.tasks_done / job.tasks_total
    if job.instances_expected > 0:
        return min(1.0, (job.instances_done + job.instances_failed) / job.instances_expected)
    return None


def eta_seconds(job: JobSummary, now: datetime) -> float | None:
    """Seconds left for a running job, extrapolated from its progress so far."""
    if job.status != Status.IN_PROGRESS or job.started_at is None:
        return None
    fraction = done_fraction(job)
    elapsed = (now - job.started_at).total_seconds()
    if fraction is None or not 0 < fraction < 1 or elapsed <= 0:
        return None
    return elapsed * (1 - fraction) / fraction


def expected_bytes(job: JobSummary) -> float | None:
    """The job's total size, estimated from what arrived so far: per instance for a single
    task, per finished task for several."""
    if job.bytes_done <= 0:
        return None
    if job.tasks_total > 1:
        if job.tasks_done <= 0:
            return None
        return job.bytes_done / job.tasks_done * job.tasks_total
    if job.instances_done <= 0 or job.instances_expected <= 0:
        return None
    return job.bytes_done / job.instances_done * job.instances_expected


# ---------------------------------------------------------------------------------------
# Live events


class LiveState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class ListenerStatus:
    state: LiveState
    detail: str = ""  # why it is not live (may name the server: keep it out of snapshots)
    retry_in: float | None = None
    backend_pid: int | None = None


async def listen_events(
    url: str,
    on_event: Callable[[Event], object],
    on_status: Callable[[ListenerStatus], object],
    *,
    backoff: tuple[float, float] = (1.0, 30.0),
    idle_timeout: float = 1.0,
) -> NoReturn:
    """LISTEN on a connection of its own, forever: reconnect with exponential backoff.

    `on_status` gets LIVE after every (re)connect; everything sent while disconnected is
    lost, so that is the moment to re-read all rows. Cancel the task to stop; the
    connection is closed on the way out.
    """
    first, longest = backoff
    delay = first
    state = LiveState.CONNECTING
    while True:
        on_status(ListenerStatus(state))
        try:
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=10)
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                delay = first
                on_status(ListenerStatus(LiveState.LIVE, backend_pid=conn.info.backend_pid))
                while True:
                    async for notify in conn.notifies(timeout=idle_timeout):
                        on_event(Event.parse(notify.payload))
                    await conn.execute("SELECT 1")  # notices a dead link while idle
        except (psycopg.Error, OSError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.info("event listener disconnected: %s; retrying in %.0f s", reason, delay)
            state = LiveState.RECONNECTING
            on_status(ListenerStatus(state, detail=reason, retry_in=delay))
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)
