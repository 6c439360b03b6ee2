"""Backend of the Jobs and Servers screens: blocking database and DICOM calls meant for
thread workers, and the LISTEN loop the live monitor runs in an async worker.

Nothing here imports Textual, so every function is usable (and tested) without the app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import psycopg
from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adit_core import registry
from adit_core.db.database import Database
from adit_core.db.models import DicomServerRow, Task
from adit_core.dicom.server import Capability
from adit_core.events import CHANNEL, Event
from adit_core.jobs import control
from adit_core.jobs.read import JobSummary, TaskView, job_summary, job_tasks, list_jobs
from adit_core.jobs.status import FINAL, Status
from adit_core.redact import mask_url
from adit_core.registry import RegistryError, ServerSpec

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
        options = dict(control.get_job(session, job_id).options)
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


@dataclass(frozen=True)
class JobAction:
    """A job control action as the screens offer it (confirmation text and when allowed)."""

    name: str  # the function in adit_core.jobs.control
    label: str
    question: str  # "{job}" is replaced by the job's id
    consequence: str
    destructive: bool = False

    def allowed(self, job: JobSummary) -> bool:
        status = Status(job.status)
        if self.name == "cancel":
            return status in (Status.PENDING, Status.IN_PROGRESS)
        if self.name == "resume":
            return status == Status.CANCELED
        if self.name == "retry":
            return status in FINAL and job.tasks_failed > 0
        if self.name == "restart":
            return status in FINAL
        if self.name == "delete":
            return status == Status.PENDING and job.started_at is None
        return False


JOB_ACTIONS: dict[str, JobAction] = {
    action.name: action
    for action in (
        JobAction(
            "cancel",
            "Cancel",
            "Cancel job {job}?",
            "Queued tasks are dropped; running ones stop within seconds. "
            "Canceled tasks can be resumed later.",
            destructive=True,
        ),
        JobAction("resume", "Resume", "Resume job {job}?", "Its canceled tasks are queued again."),
        JobAction(
            "retry",
            "Retry failed",
            "Retry the failed tasks of job {job}?",
            "Only the failed tasks run again; the others keep their results.",
        ),
        JobAction(
            "restart",
            "Restart",
            "Restart job {job}?",
            "Every task runs again from the start, including the ones that succeeded.",
            destructive=True,
        ),
        JobAction(
            "delete",
            "Delete",
            "Delete job {job}?",
            "The job and its tasks are removed for good (only possible before it starts).",
            destructive=True,
        ),
    )
}


def run_job_action(db: Database, name: str, job_id: int) -> str:
    """Carry out a control action; returns what to tell the user. Raises JobError."""
    action = JOB_ACTIONS[name]
    with db.session() as session:
        result = getattr(control, action.name)(session, job_id)
    if name == "cancel":
        return f"Job {job_id}: {result.status.lower().replace('_', ' ')}."
    if name == "delete":
        return f"Job {job_id} deleted."
    return f"Job {job_id}: {result} task{'s' if result != 1 else ''} queued again."


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
# Servers and folders


@dataclass(frozen=True)
class ServerInfo:
    """A registered server without its secret (only whether one is set)."""

    name: str
    ae_title: str
    host: str
    port: int
    capabilities: frozenset[Capability]
    patient_root: bool
    study_root: bool
    dicomweb_url: str | None
    qido_prefix: str
    wado_prefix: str
    stow_prefix: str
    authorization_set: bool
    max_search_results: int

    @property
    def model(self) -> str:
        return "+".join(
            m for m, on in (("patient", self.patient_root), ("study", self.study_root)) if on
        )

    @property
    def capability_text(self) -> str:
        return ",".join(c.value for c in Capability if c in self.capabilities)


@dataclass(frozen=True)
class FolderInfo:
    name: str
    path: str
    quota_gb: Decimal | None
    warn_size_gb: Decimal | None


def _server_info(row: DicomServerRow) -> ServerInfo:
    spec = ServerSpec.from_row(row)
    return ServerInfo(
        name=spec.name,
        ae_title=spec.ae_title,
        host=spec.host,
        port=spec.port,
        capabilities=spec.capabilities,
        patient_root=spec.patient_root,
        # A server without C-FIND/C-GET/C-MOVE stores no model; study root is the default.
        study_root=spec.study_root or not spec.patient_root,
        dicomweb_url=mask_url(spec.dicomweb_root_url) or None,  # the app never shows secrets
        qido_prefix=spec.qido_prefix,
        wado_prefix=spec.wado_prefix,
        stow_prefix=spec.stow_prefix,
        authorization_set=bool(spec.authorization_header),
        max_search_results=spec.max_search_results,
    )


def load_registry(db: Database) -> tuple[list[ServerInfo], list[FolderInfo]]:
    with db.session() as session:
        servers = [_server_info(r) for r in registry.list_servers(session)]
        folders = [
            FolderInfo(r.name, r.path, r.quota_gb, r.warn_size_gb)
            for r in registry.list_folders(session)
        ]
    return servers, folders


KEEP_SECRET = None  # ServerForm.authorization: keep what is stored


@dataclass
class ServerForm:
    """What the server form submits. `authorization`: None keeps the stored header,
    "" removes it, anything else replaces it."""

    name: str
    ae_title: str
    host: str
    port: int
    capabilities: frozenset[Capability]
    patient_root: bool
    study_root: bool
    dicomweb_url: str | None
    qido_prefix: str = ""
    wado_prefix: str = ""
    stow_prefix: str = ""
    max_search_results: int = 200
    authorization: str | None = KEEP_SECRET

    def spec(self, stored_header: str | None) -> ServerSpec:
        header = stored_header if self.authorization is None else (self.authorization or None)
        return ServerSpec(
            name=self.name,
            ae_title=self.ae_title,
            host=self.host,
            port=self.port,
            capabilities=self.capabilities,
            patient_root=self.patient_root,
            study_root=self.study_root,
            dicomweb_root_url=self.dicomweb_url or None,
            qido_prefix=self.qido_prefix,
            wado_prefix=self.wado_prefix,
            stow_prefix=self.stow_prefix,
            authorization_header=header,
            max_search_results=self.max_search_results,
        )


def save_server(db: Database, original: str | None, form: ServerForm) -> str:
    """Add (original None) or change a server; returns its name. Raises RegistryError."""
    with db.session() as session:
        if original is None:
            row = registry.add_server(session, form.spec(None))
        else:
            stored_row = registry.get_server_row(session, original)
            spec = form.spec(stored_row.authorization_header)
            if spec.dicomweb_root_url and spec.dicomweb_root_url == mask_url(
                stored_row.dicomweb_root_url
            ):  # the form showed the URL masked and it was left as it was
                spec.dicomweb_root_url = stored_row.dicomweb_root_url
            row = registry.update_server(session, original, spec)
        return row.name


def absolute_folder_path(path: str) -> str:
    return str(Path(path.strip()).expanduser().absolute()) if path.strip() else ""


def save_folder(
    db: Database,
    original: str | None,
    *,
    name: str,
    path: str,
    quota_gb: Decimal | None,
    warn_size_gb: Decimal | None,
) -> str:
    """Add (original None) or change a folder; returns its name. Raises RegistryError."""
    path = absolute_folder_path(path)
    with db.session() as session:
        if original is None:
            row = registry.add_folder(
                session, name, path, quota_gb=quota_gb, warn_size_gb=warn_size_gb
            )
        else:
            row = registry.update_folder(
                session,
                original,
                new_name=name,
                path=path,
                quota_gb=quota_gb,
                warn_size_gb=warn_size_gb,
            )
        return row.name


def remove_node(db: Database, name: str, kind: str) -> None:
    """Remove a server or folder. Raises RegistryError (also when jobs still use it)."""
    try:
        with db.session() as session:
            registry.remove_node(session, name, kind)
    except IntegrityError:
        raise RegistryError(
            f"the {kind} {name!r} is used by existing jobs and cannot be removed"
        ) from None


@dataclass(frozen=True)
class EchoResult:
    server: str
    method: str
    seconds: float


def echo_server(db: Database, name: str) -> EchoResult:
    """C-ECHO (or a QIDO-RS request for DICOMweb-only servers). Raises DicomError."""
    from adit_core import settings
    from adit_core.dicom.operations import echo

    with db.session() as session:
        server = registry.get_server(session, name)
        local = settings.load(session).local_node
    method, seconds = echo(server, local)
    return EchoResult(name, method, seconds)


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
    on_event: Callable[[Event], None],
    on_status: Callable[[ListenerStatus], None],
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
