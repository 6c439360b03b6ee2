"""Pieces shared by the Jobs and Servers screens: UI options read from the app, the live
feed, and status styling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal

from adit_core.events import Event
from adit_tui.job_services import ListenerStatus, LiveState

# ---------------------------------------------------------------------------------------
# Options


def ui_option(app: App[Any], name: str, default: Any) -> Any:
    """An option of the app's config (`app.config.<name>`), else an app attribute, else the
    default. Tests and snapshots turn clocks off with `show_times = False`."""
    config = getattr(app, "config", None)
    if config is not None and hasattr(config, name):
        return getattr(config, name)
    return getattr(app, name, default)


def show_times(app: App[Any]) -> bool:
    """Whether screens show clock-dependent values (times, elapsed, ETA, rates).

    `show_times` when the config has it, else the header clock setting (`show_clock`):
    the deterministic test config turns both off."""
    value = ui_option(app, "show_times", None)
    if value is None:
        value = ui_option(app, "show_clock", True)
    return bool(value)


# ---------------------------------------------------------------------------------------
# Footer


def refresh_bindings_if_changed(screen: Screen[Any]) -> None:
    """`refresh_bindings()` only when an action of the screen became (un)available.

    Cursor moves fire often (a page of rows arriving moves it a hundred times) and every
    refresh rebuilds the footer, so skip the ones that change nothing."""
    state: list[bool | None] = []
    for cls in type(screen).__mro__:
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding):
                _, name, params = parse_action(binding.action)
                state.append(screen.check_action(name, params))
    previous = getattr(screen, "_adit_binding_state", None)
    if previous != state:
        screen._adit_binding_state = state  # type: ignore[attr-defined]
        screen.refresh_bindings()


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
