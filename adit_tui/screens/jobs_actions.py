"""Job control shared by the job list and the job detail: cancel, resume, retry, restart
and delete, each behind a confirmation and offered only when the job allows it."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.worker import Worker, WorkerState

from adit_core.jobs.actions import JOB_ACTIONS
from adit_core.jobs.control import perform
from adit_core.jobs.read import JobSummary
from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditScreen
from adit_tui.screens.confirm import ConfirmScreen

ACTION_FOR = {
    "cancel_job": "cancel",
    "resume_job": "resume",
    "retry_job": "retry",
    "restart_job": "restart",
    "delete_job": "delete",
}


def job_action_bindings() -> list[Binding]:
    return [
        Binding("c", "cancel_job", "Cancel", id="jobs.cancel",
                tooltip="Cancel the job: queued tasks are dropped, running ones stop"),
        Binding("r", "resume_job", "Resume", id="jobs.resume",
                tooltip="Queue the canceled tasks of the job again"),
        Binding("t", "retry_job", "Retry", id="jobs.retry",
                tooltip="Run the failed tasks of the job again"),
        Binding("R", "restart_job", "Restart", id="jobs.restart",
                tooltip="Run every task of the finished job again"),
        Binding("d,delete", "delete_job", "Delete", id="jobs.delete",
                tooltip="Delete the job (only before it has started)"),
    ]  # fmt: skip


class JobActionScreen(AditScreen[None]):
    """A screen showing one current job (the highlighted one, or the one it is about)."""

    COMMANDS = {ScreenCommands}

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._running_actions: dict[Worker[Any], tuple[str, int]] = {}

    def current_job(self) -> JobSummary | None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        name = ACTION_FOR.get(action)
        if name is None:
            return True
        job = self.current_job()
        return job is not None and JOB_ACTIONS[name].allowed(job)

    def action_cancel_job(self) -> None:
        self.ask_job_action("cancel")

    def action_resume_job(self) -> None:
        self.ask_job_action("resume")

    def action_retry_job(self) -> None:
        self.ask_job_action("retry")

    def action_restart_job(self) -> None:
        self.ask_job_action("restart")

    def action_delete_job(self) -> None:
        self.ask_job_action("delete")

    def ask_job_action(self, name: str) -> None:
        job = self.current_job()
        action = JOB_ACTIONS[name]
        if job is None or not action.allowed(job):
            return
        tasks = f"{job.tasks_total:,} task{'s' if job.tasks_total != 1 else ''}"
        facts = f"{job.source} → {job.destination}, {tasks}, {job.status.replace('_', ' ')}."
        job_id = job.id

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_job_action(name, job_id)

        self.app.push_screen(
            ConfirmScreen(
                action.question.format(job=job_id),
                f"{action.consequence}\n{facts}",
                confirm_label=action.label,
                cancel_label="Keep" if action.destructive else "No",
                destructive=action.destructive,
            ),
            answered,
        )

    def run_job_action(self, name: str, job_id: int) -> None:
        """Carry out the action in a thread; a refusal becomes an error notification."""

        def run() -> str:
            with self.context.db.session() as session:
                return perform(session, name, job_id)

        label = JOB_ACTIONS[name].label
        worker = self.run_worker(run, thread=True, group="job-control", exit_on_error=False,
                                 description=f"{label}: job {job_id}")  # fmt: skip
        self._running_actions[worker] = (name, job_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        running = self._running_actions.pop(event.worker, None)
        if running is None:
            return
        name, job_id = running
        if event.state is WorkerState.SUCCESS:
            self.notify(str(event.worker.result), title=JOB_ACTIONS[name].label, markup=False)
        self.job_action_done(name, job_id, ok=event.state is WorkerState.SUCCESS)

    def job_action_done(self, name: str, job_id: int, *, ok: bool) -> None:
        """An action ended (`ok`: it was carried out): the screen shows the job anew."""
        raise NotImplementedError
