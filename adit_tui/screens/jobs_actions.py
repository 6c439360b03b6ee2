"""Job control shared by the job list and the job detail: cancel, resume, retry, restart
and delete, each behind a confirmation and offered only when the job allows it."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary
from adit_tui.commands import ScreenCommands
from adit_tui.job_services import JOB_ACTIONS, run_job_action
from adit_tui.screens.jobs_confirm import ConfirmScreen

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


class JobActionDone(Message, bubble=False):
    def __init__(self, action: str, job_id: int, ok: bool) -> None:
        self.action = action
        self.job_id = job_id
        self.ok = ok
        super().__init__()


class JobActionScreen(Screen[None]):
    """A screen showing one current job (the highlighted one, or the one it is about)."""

    COMMANDS = {ScreenCommands}

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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "job-control" and event.state is WorkerState.ERROR:
            self.notify(
                f"Could not change the job: {event.worker.error}",
                title="Jobs",
                severity="error",
                markup=False,
            )

    @work(thread=True, group="job-control", exit_on_error=False, description="job control")
    def run_job_action(self, name: str, job_id: int) -> None:
        label = JOB_ACTIONS[name].label
        db: Any = self.app.db  # type: ignore[attr-defined]
        try:
            text = run_job_action(db, name, job_id)
        except JobError as exc:
            self.app.notify(
                str(exc), title=f"{label}: job {job_id}", severity="error", markup=False
            )
            self.post_message(JobActionDone(name, job_id, ok=False))
            return
        self.app.notify(text, title=label, markup=False)
        self.post_message(JobActionDone(name, job_id, ok=True))
