"""The job monitor: the user's jobs (or everyone's), filterable by state, updated live.

Live updates: an exclusive async worker LISTENs on `adit_events` on a connection of its
own (reconnecting with backoff). Every NOTIFY is a hint: events are collected for about
200 ms, then the rows are re-read in a thread worker and the table is updated in place
(keyed rows, `update_cell`). After every (re)connect everything is re-read, since
notifications sent while disconnected are lost; while not live the list is polled.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import ScreenResume
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core.jobs.read import JobSummary
from adit_tui.job_services import (
    JobList,
    JobQuery,
    ListenerStatus,
    LiveState,
    fmt_bytes,
    listen_events,
    load_jobs,
)
from adit_tui.screens.jobs_actions import JobActionScreen, job_action_bindings
from adit_tui.screens.jobs_common import (
    JobChanges,
    JobEventReceived,
    JobsFeed,
    ListenerStatusChanged,
    status_text,
)
from adit_tui.screens.jobs_filter import StatusFilterScreen
from adit_tui.widgets.jobs_live import LiveIndicator
from adit_tui.widgets.nav_table import Column, NavTable

KIND_LABELS = {
    "selective_transfer": "transfer",
    "batch_transfer": "batch transfer",
    "batch_query": "batch query",
    "upload": "upload",
}


class JobsTable(NavTable):
    """The job list: enter opens the highlighted job."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="jobs.open",
                tooltip="Show the highlighted job: tasks, progress, logs"),
    ]  # fmt: skip


class JobsLoaded(Message, bubble=False):
    def __init__(self, jobs: JobList, generation: int) -> None:
        self.jobs = jobs
        self.generation = generation
        super().__init__()


class Reloader:
    """At most one load in flight; requests arriving meanwhile cause exactly one more."""

    def __init__(self, start: Any) -> None:
        self._start = start
        self.busy = False
        self._again = False

    def request(self) -> None:
        if self.busy:
            self._again = True
            return
        self.busy = True
        self._start()

    def done(self) -> None:
        self.busy = False
        if self._again:
            self._again = False
            self.request()


def job_cells(job: JobSummary, *, user: str = "") -> dict[str, Any]:
    failed = job.tasks_failed
    tasks = Text(f"{job.tasks_done:,}/{job.tasks_total:,}")
    if failed:
        tasks.append(f" ✗{failed:,}", style="red")
    if job.instances_expected:
        instances = f"{job.instances_done:,}/{job.instances_expected:,}"
    else:
        instances = f"{job.instances_done:,}" if job.instances_done else "-"
    kind = KIND_LABELS.get(job.kind, job.kind)
    owner = "you" if job.owner == user else job.owner
    job_id = Text(str(job.id), justify="right")
    if job.urgent:  # urgent jobs run first
        job_id = Text.assemble(("!", "bold red"), str(job.id), justify="right")
    return {
        "id": job_id,
        "status": status_text(job.status),
        "kind": Text(kind),
        "route": Text(f"{job.source} → {job.destination}", overflow="ellipsis", no_wrap=True),
        "tasks": tasks,
        "instances": Text(instances, justify="right"),
        "bytes": Text(fmt_bytes(job.bytes_done) if job.bytes_done else "-", justify="right"),
        "owner": Text(
            owner, overflow="ellipsis", no_wrap=True, style="dim" if owner == "you" else ""
        ),
        "created": Text(f"{job.created_at.astimezone():%m-%d %H:%M}"),
        "message": Text(job.message, overflow="ellipsis", no_wrap=True),
    }


class JobsScreen(JobActionScreen):
    """The Jobs mode: the job list with live status."""

    COMMAND_SCOPE = "jobs"

    DEFAULT_CSS = """
    JobsScreen #jobs-bar {
        height: 1;
        background: $panel;
    }
    JobsScreen #jobs-title {
        width: 1fr;
        padding: 0 1;
        text-style: bold;
    }
    JobsScreen #jobs-empty {
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
    }
    JobsScreen #jobs {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("o", "open_job", "Open", show=False, id="jobs.open_alias",
                tooltip="Show the highlighted job: tasks, progress, logs"),
        Binding("f", "filter", "Filter", id="jobs.filter",
                tooltip="Show only jobs in some states"),
        Binding("a", "toggle_everyone", "All users", id="jobs.everyone",
                tooltip="Show the jobs of every user, or only yours"),
        *job_action_bindings(),
        Binding("ctrl+r", "reload", "Reload", show=False, id="jobs.reload",
                tooltip="Read every job again now"),
    ]  # fmt: skip

    # Tuning (tests shorten them).
    coalesce_seconds = 0.2
    poll_seconds = 5.0
    reconnect_backoff: tuple[float, float] = (1.0, 30.0)
    limit = 200

    def __init__(
        self,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.feed = JobsFeed(self)
        self.query_state = JobQuery(limit=self.limit)
        self.jobs: dict[int, JobSummary] = {}
        self.user = ""
        self.truncated = False
        self.listener_status = ListenerStatus(LiveState.CONNECTING)
        self.loaded_once = False
        self._generation = 0
        self._reloader = Reloader(self._start_load)
        self._flush_timer: Timer | None = None
        self._pending_jobs: set[int] = set()
        self._pending_tasks: set[int] = set()
        self._pending_resync = False
        self._stale = False
        self._open_when_shown: int | None = None
        self._columns_for: tuple[bool, bool] | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="jobs-bar"):
            yield Label("Jobs", id="jobs-title")
            yield LiveIndicator(id="live")
        yield JobsTable(id="jobs")
        yield Static("", id="jobs-empty", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.show_times = self.context.config.show_times
        self._setup_columns()
        table = self.query_one("#jobs", NavTable)
        table.loading = True
        self.query_one("#jobs-empty").display = False
        self._listen()
        self.reload()
        self.set_interval(self.poll_seconds, self._poll_when_not_live)

    def _setup_columns(self) -> None:
        everyone, times = self.query_state.everyone, self.show_times
        if self._columns_for == (everyone, times):
            return
        self._columns_for = (everyone, times)
        columns = [
            Column("id", "Job", 6),
            Column("status", "Status", 11),
            Column("kind", "Kind", 8, drop=6),
            Column("route", "From → to", 18),
            Column("tasks", "Tasks", 8, drop=2),
            Column("instances", "Instances", 9, drop=1),
            Column("bytes", "Data", 8, drop=4),
        ]
        if everyone:
            columns.append(Column("owner", "Owner", 10, drop=3))
        if times:
            columns.append(Column("created", "Created", 11, drop=5))
        columns.append(Column("message", "Message", None, width_min=12))
        self.query_one("#jobs", NavTable).set_columns(columns)

    # -- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the list (coalesced: never more than one read in flight)."""
        self._reloader.request()

    def _start_load(self) -> None:
        self._load_jobs(self.query_state, self._generation)

    @work(thread=True, exclusive=True, group="jobs-load", exit_on_error=False,
          description="Could not read the jobs")  # fmt: skip
    def _load_jobs(self, query: JobQuery, generation: int) -> None:
        jobs = load_jobs(self.context.db, query)
        if not get_current_worker().is_cancelled:
            self.post_message(JobsLoaded(jobs, generation))

    def on_jobs_loaded(self, message: JobsLoaded) -> None:
        self._reloader.done()
        if message.generation != self._generation:
            return  # the filter changed meanwhile; a fresh load is already asked for
        self._apply(message.jobs)

    def _apply(self, jobs: JobList) -> None:
        table = self.query_one("#jobs", NavTable)
        table.loading = False
        self.loaded_once = True
        self.user = jobs.user
        self.truncated = jobs.truncated
        self.jobs = {job.id: job for job in jobs.rows}
        table.sync_rows([(str(job.id), job_cells(job, user=jobs.user)) for job in jobs.rows])
        empty = self.query_one("#jobs-empty", Static)
        empty.display = not jobs.rows
        table.display = bool(jobs.rows)
        if not jobs.rows:
            empty.update(self._empty_text())
        self._update_title()
        self.refresh_bindings_if_changed()

    def _empty_text(self) -> str:
        if self.query_state.statuses:
            return "No jobs in the chosen states. Press f to change the filter."
        whose = "Nobody has" if self.query_state.everyone else "You have"
        return (
            f"{whose} no jobs yet. Start one in the Transfer mode "
            "(or with `adit transfer`); it appears here at once."
        )

    def _update_title(self) -> None:
        whose = "All users' jobs" if self.query_state.everyone else "Your jobs"
        states = self.query_state.statuses
        shown = (
            ", ".join(s.replace("_", " ").lower() for s in sorted(states))
            if states
            else "all states"
        )
        count = len(self.jobs)
        more = f" (newest {count} shown)" if self.truncated else ""
        self.query_one("#jobs-title", Label).update(
            f"{whose} · {shown} · {count} job{'s' if count != 1 else ''}{more}"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.group == "jobs-load":
            self._reloader.done()
            self.query_one("#jobs", NavTable).loading = False
        elif event.state is WorkerState.CANCELLED and worker.group == "jobs-load":
            self._reloader.done()

    # -- live updates ---------------------------------------------------------------------

    @work(exclusive=True, group="jobs-listen", exit_on_error=False,
          description="Live updates stopped")  # fmt: skip
    async def _listen(self) -> None:
        await listen_events(
            self.context.db.url,
            lambda event: self.post_message(JobEventReceived(event)),
            lambda status: self.post_message(ListenerStatusChanged(status)),
            backoff=self.reconnect_backoff,
        )

    def on_job_event_received(self, message: JobEventReceived) -> None:
        event = message.event
        if event.job is None:
            self._pending_resync = True
        else:
            self._pending_jobs.add(int(event.job))
        if event.task is not None:
            self._pending_tasks.add(int(event.task))
        self._schedule_flush()

    def on_listener_status_changed(self, message: ListenerStatusChanged) -> None:
        status = message.status
        self.listener_status = status
        self.query_one(LiveIndicator).status = status
        self.feed.publish_status(status)
        if status.state is LiveState.LIVE:
            # Whatever happened while we were not listening is lost: re-read everything.
            self._pending_resync = True
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self.coalesce_seconds, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        changes = JobChanges(
            frozenset(self._pending_jobs), frozenset(self._pending_tasks), self._pending_resync
        )
        self._pending_jobs.clear()
        self._pending_tasks.clear()
        self._pending_resync = False
        self.feed.changes.publish(changes)
        if self._in_active_mode():
            self.reload()
        else:
            self._stale = True

    def _poll_when_not_live(self) -> None:
        if self.listener_status.state is not LiveState.LIVE:
            self._pending_resync = True
            self._schedule_flush()

    def _in_active_mode(self) -> bool:
        try:
            return self in self.app.screen_stack
        except Exception:
            return False

    @on(ScreenResume)
    def _resumed(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()
        if self._open_when_shown is not None:
            job_id, self._open_when_shown = self._open_when_shown, None
            self.call_after_refresh(self.open_job, job_id)

    # -- jobs and actions -----------------------------------------------------------------

    def current_job(self) -> JobSummary | None:
        key = self.query_one("#jobs", NavTable).cursor_key
        return self.jobs.get(int(key)) if key is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_job":
            return self.current_job() is not None
        return super().check_action(action, parameters)

    @on(DataTable.RowHighlighted, "#jobs")
    def _highlighted(self) -> None:
        self.refresh_bindings_if_changed()

    @on(DataTable.RowSelected, "#jobs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.open_job(int(event.row_key.value))

    def action_open_job(self) -> None:
        job = self.current_job()
        if job is not None:
            self.open_job(job.id)

    def open_job(self, job_id: int) -> None:
        """Show one job's detail on top of the list (what the navigator's `show_job` calls)."""
        if not self.is_mounted or self not in self.app.screen_stack:
            self._open_when_shown = job_id  # done when the jobs mode shows this screen
            return
        from adit_tui.screens.job_detail import JobDetailScreen

        stack = self.app.screen_stack
        above = stack[stack.index(self) + 1 :]
        if len(above) == 1 and isinstance(above[0], JobDetailScreen) and above[0].job_id == job_id:
            return
        for _ in above:
            self.app.pop_screen()
        table = self.query_one("#jobs", NavTable)
        if str(job_id) in table.keys_in_order():
            table.move_cursor(row=table.get_row_index(str(job_id)), animate=False)
        self.app.push_screen(JobDetailScreen(job_id, self.feed))

    def action_filter(self) -> None:
        def chosen(states: frozenset[str] | None) -> None:
            if states is not None and states != self.query_state.statuses:
                self._set_query(statuses=states)

        self.app.push_screen(StatusFilterScreen(self.query_state.statuses), chosen)

    def action_toggle_everyone(self) -> None:
        self._set_query(everyone=not self.query_state.everyone)

    def _set_query(self, **changes: Any) -> None:
        current = self.query_state
        self.query_state = JobQuery(
            everyone=changes.get("everyone", current.everyone),
            statuses=changes.get("statuses", current.statuses),
            limit=current.limit,
        )
        self._generation += 1
        self._setup_columns()
        self.query_one("#jobs", NavTable).loading = True
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def job_action_done(self, name: str, job_id: int, *, ok: bool) -> None:
        self.reload()
