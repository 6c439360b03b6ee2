"""One job: progress bars, message, its tasks one page at a time, and each task's log.

Tasks are read a page at a time (`job_tasks(offset, limit)`), so a job with 10,000 tasks
opens as fast as one with ten; moving the cursor past either end of a page turns it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import ScreenResume
from textual.message import Message
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary, TaskView
from adit_tui.job_services import (
    JobDetail,
    ListenerStatus,
    fmt_bytes,
    last_page_offset,
    load_job_detail,
)
from adit_tui.screens.batch_export import ExportResultsModal
from adit_tui.screens.jobs import KIND_LABELS, Reloader
from adit_tui.screens.jobs_actions import JobActionScreen, job_action_bindings
from adit_tui.screens.jobs_common import JobChanges, JobsFeed, status_text
from adit_tui.screens.jobs_log import TaskLogScreen
from adit_tui.widgets.jobs_live import LiveIndicator
from adit_tui.widgets.jobs_progress import JobProgress
from adit_tui.widgets.nav_table import Column, NavTable

PAGE_SIZE = 100


class TasksTable(NavTable):
    """A job's tasks: enter shows the highlighted task's log."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Log", id="job.log",
                tooltip="Show the highlighted task's message and full log"),
    ]  # fmt: skip


class DetailLoaded(Message, bubble=False):
    def __init__(self, detail: JobDetail) -> None:
        self.detail = detail
        super().__init__()


def task_cells(task: TaskView) -> dict[str, Any]:
    expected = f"/{task.instances_expected:,}" if task.instances_expected is not None else ""
    instances = f"{task.instances_done:,}{expected}" if (expected or task.instances_done) else "-"
    if task.instances_failed:
        instances += f" ✗{task.instances_failed:,}"
    study = task.study_uid + (f" ({len(task.series_uids)} series)" if task.series_uids else "")
    return {
        "position": Text(f"{task.position + 1:,}", justify="right"),
        "status": status_text(task.status),
        "patient": Text(task.patient_id or "-", overflow="ellipsis", no_wrap=True),
        "study": Text(study, overflow="ellipsis", no_wrap=True),
        "instances": Text(instances, justify="right"),
        "bytes": Text(fmt_bytes(task.bytes_done) if task.bytes_done else "-", justify="right"),
        "attempts": Text(str(task.attempts), justify="right"),
        "message": Text(task.message, overflow="ellipsis", no_wrap=True),
    }


TASK_COLUMNS = [
    Column("position", "#", 6),
    Column("status", "Status", 11),
    Column("patient", "Patient", 10, drop=3),
    Column("study", "Study", 18, drop=2),
    Column("instances", "Instances", 11, drop=1),
    Column("bytes", "Data", 8, drop=4),
    Column("attempts", "Try", 3, drop=5),
    Column("message", "Message", None, width_min=14),
]


class JobDetailScreen(JobActionScreen):
    """Pushed on the jobs mode's stack by `JobsScreen.open_job`."""

    COMMAND_SCOPE = "job"

    DEFAULT_CSS = """
    JobDetailScreen #job-bar {
        height: 1;
        background: $panel;
    }
    JobDetailScreen #job-title {
        width: 1fr;
        padding: 0 1;
        text-style: bold;
    }
    JobDetailScreen #job-facts {
        padding: 0 1;
        color: $text-muted;
        height: 1;
    }
    JobDetailScreen #job-message {
        padding: 0 1;
        height: auto;
        max-height: 2;
    }
    JobDetailScreen #tasks {
        height: 1fr;
        border: round $panel;
        border-title-align: left;
    }
    JobDetailScreen #tasks:focus {
        border: round $primary;
    }
    JobDetailScreen #task-info {
        height: 2;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="job.back", tooltip="Back to the job list"),
        Binding("l", "show_log", "Log", show=False, id="job.log_alias",
                tooltip="Show the highlighted task's message and full log"),
        *job_action_bindings(),
        Binding("]", "page(1)", "Next page", id="job.next_page",
                tooltip="Show the next page of tasks"),
        Binding("[", "page(-1)", "Prev page", id="job.previous_page",
                tooltip="Show the previous page of tasks"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="job.reload",
                tooltip="Read the job and its tasks again now"),
        Binding("e", "export_results", "Export…", id="job.export",
                tooltip="Write this batch query's results to .xlsx or .csv"),
    ]  # fmt: skip

    def __init__(self, job_id: int, feed: JobsFeed | None = None, *, page_size: int = PAGE_SIZE):
        super().__init__()
        self.job_id = job_id
        self.feed = feed
        self.page_size = page_size
        self.detail: JobDetail | None = None
        self.page_offset = 0
        self._wanted_offset = 0
        self._cursor_after_load: str | None = None  # "first" / "last" after a page turn
        self._reloader = Reloader(self._start_load)
        self._leave_when_shown = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="job-bar"):
            yield Label(f"Job {self.job_id}", id="job-title")
            yield LiveIndicator(id="live")
        yield Label("", id="job-facts")
        yield JobProgress(show_times=self.context.config.show_times, id="progress")
        yield Static("", id="job-message", markup=False)
        yield TasksTable(id="tasks")
        yield Static("", id="task-info", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#tasks", NavTable)
        table.set_columns(TASK_COLUMNS)
        table.border_title = "Tasks"
        table.loading = True
        table.focus()
        if self.feed is not None:
            self.feed.changes.subscribe(self, self._on_changes)
            self.feed.status.subscribe(self, self._on_status)
            self._on_status(self.feed.last_status)
        self.reload()

    # -- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        self._reloader.request()

    def _start_load(self) -> None:
        self._load(self._wanted_offset)

    def _load(self, offset: int) -> None:
        self.run_worker(
            lambda: self._read(offset),
            thread=True,
            exclusive=True,
            group="job-detail-load",
            exit_on_error=False,
            description=f"Job {self.job_id}",
        )

    def _read(self, offset: int) -> None:
        detail = load_job_detail(
            self.context.db, self.job_id, offset=offset, page_size=self.page_size
        )
        if not get_current_worker().is_cancelled:
            self.post_message(DetailLoaded(detail))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        self._reloader.done()
        table = self.query_one("#tasks", NavTable)
        table.loading = False
        detail = message.detail
        if detail.offset != self._wanted_offset and self._reloader.busy:
            return  # a newer page was asked for
        self._apply(detail)

    def _apply(self, detail: JobDetail) -> None:
        self.detail = detail
        self.page_offset = self._wanted_offset = detail.offset
        job = detail.summary
        kind = KIND_LABELS.get(job.kind, job.kind)
        self.query_one("#job-title", Label).update(
            Text.assemble(f"Job {job.id} · {kind} · ", status_text(job.status))
        )
        facts = [f"{job.source} → {job.destination}"]
        pseudonym = detail.options.get("pseudonym")
        if pseudonym:
            facts.append(f"pseudonym {pseudonym}")
        protocol = detail.options.get("trial_protocol_id")
        if protocol:
            facts.append(f"trial {protocol}")
        if job.urgent:
            facts.append("urgent")
        if job.owner != detail.user:
            facts.append(f"owner {job.owner}")
        self.query_one("#job-facts", Label).update(Text(" · ".join(facts)))
        self.query_one(JobProgress).show(job, detail.tasks_counted)
        message = self.query_one("#job-message", Static)
        message.update(job.message)
        message.display = bool(job.message)

        table = self.query_one("#tasks", NavTable)
        rows = [(str(t.id), task_cells(t)) for t in detail.tasks]
        cursor_to: str | None = None
        if self._cursor_after_load and rows:
            cursor_to = rows[0][0] if self._cursor_after_load == "first" else rows[-1][0]
        self._cursor_after_load = None
        table.sync_rows(rows, cursor_to=cursor_to)
        total = detail.task_count
        if total > len(detail.tasks) or detail.offset:
            last = detail.offset + len(detail.tasks)
            table.border_title = f"Tasks {detail.offset + 1:,}-{last:,} of {total:,}"
            table.border_subtitle = Text("[ ] page · g/G first/last")
        else:
            table.border_title = f"Tasks ({total:,})"
            table.border_subtitle = ""
        self._show_task_info()
        self.refresh_bindings_if_changed()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "job-detail-load":
            return
        if event.state is WorkerState.ERROR:
            self._reloader.done()
            self.query_one("#tasks", NavTable).loading = False
            if isinstance(event.worker.error, JobError):  # the job is gone (deleted)
                self.leave()
        elif event.state is WorkerState.CANCELLED:
            self._reloader.done()

    # -- live -----------------------------------------------------------------------------

    def _on_changes(self, changes: JobChanges) -> None:
        shown = {t.id for t in self.detail.tasks} if self.detail else set()
        if changes.touches_job(self.job_id) or shown & changes.tasks:
            self.reload()

    def _on_status(self, status: ListenerStatus) -> None:
        self.query_one(LiveIndicator).status = status

    # -- tasks ----------------------------------------------------------------------------

    def current_job(self) -> JobSummary | None:
        return self.detail.summary if self.detail else None

    def current_task(self) -> TaskView | None:
        if self.detail is None:
            return None
        key = self.query_one("#tasks", NavTable).cursor_key
        return next((t for t in self.detail.tasks if str(t.id) == key), None)

    @on(DataTable.RowHighlighted, "#tasks")
    def _task_highlighted(self) -> None:
        self._show_task_info()
        self.refresh_bindings_if_changed()

    def _show_task_info(self) -> None:
        task = self.current_task()
        info = self.query_one("#task-info", Static)
        if task is None:
            info.update("")
            return
        last_line = task.log.strip().splitlines()[-1] if task.log.strip() else ""
        state = task.status.replace("_", " ").lower()
        lines = [f"Task {task.position + 1:,}: {task.message or state}"]
        if last_line and last_line != task.message:
            lines.append(f"log: {last_line}")
        info.update("\n".join(lines))

    @on(DataTable.RowSelected, "#tasks")
    def _task_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_log()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_log":
            return self.current_task() is not None
        if action == "export_results":
            return self.detail is not None and self.detail.summary.kind == "batch_query"
        if action == "page":
            if self.detail is None or not parameters:
                return False
            step = int(str(parameters[0]))
            if step < 0:
                return self.page_offset > 0
            return self.page_offset + self.page_size < self.detail.task_count
        return super().check_action(action, parameters)

    def action_export_results(self) -> None:
        self.app.push_screen(ExportResultsModal(self.job_id))

    def action_show_log(self) -> None:
        task = self.current_task()
        if task is not None:
            self.app.push_screen(TaskLogScreen(task.id, self.feed))

    def action_page(self, step: int) -> None:
        self._turn(step, "first" if step > 0 else "last")

    def _turn(self, step: int, cursor: str) -> None:
        if self.detail is None:
            return
        total = self.detail.task_count
        offset = self.page_offset + step * self.page_size
        if offset < 0 or offset > last_page_offset(total, self.page_size):
            return
        self._go_to(offset, cursor)

    def _go_to(self, offset: int, cursor: str) -> None:
        self._wanted_offset = offset
        self._cursor_after_load = cursor
        self.reload()

    @on(NavTable.EdgeReached, "#tasks")
    def _edge(self, event: NavTable.EdgeReached) -> None:
        # Moving past the last row shows the next page (cursor on its first row), and back.
        self._turn(event.direction, "first" if event.direction > 0 else "last")

    @on(NavTable.JumpRequested, "#tasks")
    def _jump(self, event: NavTable.JumpRequested) -> None:
        # g/G mean the first/last task of the job, not only of the page.
        if self.detail is None:
            return
        if event.direction < 0 and self.page_offset > 0:
            self._go_to(0, "first")
        elif event.direction > 0:
            last = last_page_offset(self.detail.task_count, self.page_size)
            if last != self.page_offset:
                self._go_to(last, "last")

    def leave(self) -> None:
        """Back to the job list, also from under a modal; later if another mode is shown."""
        if self not in self.app.screen_stack:
            self._leave_when_shown = True
            return
        if not self.is_current:
            self.pop_until_active()
        self.dismiss(None)

    @on(ScreenResume)
    def _resumed(self) -> None:
        if self._leave_when_shown:
            self._leave_when_shown = False
            self.call_after_refresh(self.leave)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def job_action_done(self, name: str, job_id: int, *, ok: bool) -> None:
        if ok and name == "delete":
            self.leave()
            return
        self.reload()
