"""Pieces the Jobs screens share: the live feed and status styling."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.dom import DOMNode
from textual.message import Message
from textual.signal import Signal

from adit_core.events import Event
from adit_tui.job_services import ListenerStatus, LiveState

# ---------------------------------------------------------------------------------------
# Live feed: the jobs screen listens; screens above it (job detail, task log) subscribe.


class JobEventReceived(Message, bubble=False):
    """A NOTIFY on adit_events (a hint: re-read the rows)."""

    def __init__(self, event: Event) -> None:
        self.event = event
        super().__init__()


class ListenerStatusChanged(Message, bubble=False):
    def __init__(self, status: ListenerStatus) -> None:
        self.status = status
        super().__init__()


@dataclass(frozen=True)
class JobChanges:
    """What changed during one coalescing window; `resync` means "re-read everything"."""

    jobs: frozenset[int] = frozenset()
    tasks: frozenset[int] = frozenset()
    resync: bool = False

    def touches_job(self, job_id: int) -> bool:
        return self.resync or job_id in self.jobs

    def touches_task(self, task_id: int) -> bool:
        return self.resync or task_id in self.tasks


class JobsFeed:
    """Fan-out of coalesced job changes and of the listener's state."""

    def __init__(self, owner: DOMNode) -> None:
        self.changes: Signal[JobChanges] = Signal(owner, "job-changes")
        self.status: Signal[ListenerStatus] = Signal(owner, "listener-status")
        self.last_status = ListenerStatus(LiveState.CONNECTING)

    def publish_status(self, status: ListenerStatus) -> None:
        self.last_status = status
        self.status.publish(status)


# ---------------------------------------------------------------------------------------
# Styling

STATUS_STYLES = {
    "PENDING": "",
    "IN_PROGRESS": "bold cyan",
    "CANCELING": "magenta",
    "CANCELED": "dim",
    "SUCCESS": "green",
    "WARNING": "yellow",
    "FAILURE": "bold red",
}


def status_text(status: str) -> Text:
    return Text(status.replace("_", " "), style=STATUS_STYLES.get(status, ""))
