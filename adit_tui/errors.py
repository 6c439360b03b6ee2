"""The one place where a failed worker becomes a notification.

Every screen (`AditScreen`) and every widget that runs workers of its own mixes in
`ReportsWorkerErrors`: when one of its workers fails, the error is shown as an error
notification titled with the worker's description ("The job was not created", "Server
pacs"). An `AditError` is shown as it is (its message is written for people); an OS
error by its cause; anything else is a bug, logged with its traceback. Screens still
handle the state change themselves to put their widgets right (a spinner off, a status
line), but they never notify about errors on their own.
"""

from __future__ import annotations

import logging

from textual.worker import Worker, WorkerState

from adit_core.errors import AditError

log = logging.getLogger("adit.tui")


def error_text(error: BaseException | None) -> str:
    """What to tell the user about `error`."""
    if isinstance(error, AditError):
        return str(error)
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return f"{type(error).__name__}: {error}"


def notify_worker_error(worker: Worker[object]) -> None:
    error = worker.error
    if not isinstance(error, AditError | OSError):
        log.error("a worker failed", exc_info=error, extra={"worker": worker.description})
    worker.node.app.notify(
        error_text(error), title=worker.description, severity="error", markup=False
    )


class ReportsWorkerErrors:
    """Mix into a screen or widget: its failed workers become error notifications.

    Textual calls this handler in addition to the class's own `on_worker_state_changed`
    (handlers run for every class of the MRO)."""

    def _on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and not worker.is_cancelled:
            notify_worker_error(worker)
