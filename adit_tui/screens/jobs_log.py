"""The task log viewer: one task's state, message and full log, following it live."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, Log, Static
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core.jobs.read import TaskView
from adit_tui.commands import ScreenCommands
from adit_tui.job_services import fmt_bytes, load_task
from adit_tui.screens.base import AditModal
from adit_tui.screens.jobs_common import JobChanges, JobsFeed, status_text


class TaskLoaded(Message, bubble=False):
    def __init__(self, task: TaskView | None) -> None:
        self.task_view = task
        super().__init__()


class TaskLogScreen(AditModal[None]):
    """Shows a task's log; re-reads it whenever the task changes."""

    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    TaskLogScreen {
        align: center middle;
    }
    TaskLogScreen > #dialog {
        width: 96%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    TaskLogScreen #task-title {
        text-style: bold;
        width: 100%;
    }
    TaskLogScreen #task-facts {
        color: $text-muted;
        width: 100%;
    }
    TaskLogScreen #task-message {
        width: 100%;
        margin-bottom: 1;
    }
    TaskLogScreen Log {
        height: 1fr;
        border: round $panel;
    }
    """

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="task_log.close", tooltip="Back to the job"),
        Binding("j", "scroll_down", "Down", show=False, id="task_log.down",
                tooltip="Scroll the log down"),
        Binding("k", "scroll_up", "Up", show=False, id="task_log.up", tooltip="Scroll the log up"),
        Binding("g", "top", "Top", id="task_log.top", tooltip="Go to the start of the log"),
        Binding("G", "bottom", "End", id="task_log.bottom",
                tooltip="Go to the end of the log (and follow it)"),
    ]  # fmt: skip

    def __init__(self, task_id: int, feed: JobsFeed | None = None) -> None:
        super().__init__()
        self.task_id = task_id
        self.feed = feed
        self.task_view: TaskView | None = None
        self._shown_log = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Task {self.task_id}", id="task-title")
            yield Label("", id="task-facts")
            yield Static("", id="task-message", markup=False)
            yield Log(id="log", highlight=False)

    def on_mount(self) -> None:
        self.query_one(Log).loading = True
        if self.feed is not None:
            self.feed.changes.subscribe(self, self._on_changes)
        self._load()

    def _on_changes(self, changes: JobChanges) -> None:
        if changes.touches_task(self.task_id):
            self._load()

    @work(thread=True, exclusive=True, group="task-log", exit_on_error=False,
          description="Task log")  # fmt: skip
    def _load(self) -> None:
        task = load_task(self.context.db, self.task_id)
        if not get_current_worker().is_cancelled:
            self.post_message(TaskLoaded(task))

    def on_task_loaded(self, message: TaskLoaded) -> None:
        log = self.query_one(Log)
        log.loading = False
        task = message.task_view
        if task is None:
            self.query_one("#task-message", Static).update("This task no longer exists.")
            return
        self.task_view = task
        title = Text.assemble(
            f"Task {task.position + 1} (id {task.id}) · ", status_text(task.status)
        )
        self.query_one("#task-title", Label).update(title)
        expected = f"/{task.instances_expected:,}" if task.instances_expected is not None else ""
        facts = [
            f"study {task.study_uid}",
            f"patient {task.patient_id or '-'}",
            f"{task.instances_done:,}{expected} instances",
            fmt_bytes(task.bytes_done),
            f"attempts {task.attempts}",
        ]
        if task.series_uids:
            facts.insert(1, f"{len(task.series_uids)} series")
        if task.pseudonym:
            facts.append(f"pseudonym {task.pseudonym}")
        self.query_one("#task-facts", Label).update(Text(" · ".join(facts)))
        self.query_one("#task-message", Static).update(task.message or "No message.")
        self._show_log(task.log)

    def _show_log(self, text: str) -> None:
        log = self.query_one(Log)
        if text == self._shown_log:
            return
        if self._shown_log and text.startswith(self._shown_log):
            added = text[len(self._shown_log) :]
            log.write(added)
        else:
            log.clear()
            log.write(text if text else "(the log is empty)")
        self._shown_log = text

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.query_one(Log).loading = False

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one(Log).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(Log).scroll_up(animate=False)

    def action_top(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = False
        log.scroll_home(animate=False)

    def action_bottom(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
