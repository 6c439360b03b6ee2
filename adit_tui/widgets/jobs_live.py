"""The live/reconnecting indicator of the job monitor."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from adit_tui.job_services import ListenerStatus, LiveState

_LABELS = {
    LiveState.CONNECTING: "◌ connecting…",
    LiveState.LIVE: "● live",
    LiveState.RECONNECTING: "⟳ reconnecting…",
}


class LiveIndicator(Static):
    """Shows whether job updates arrive live (LISTEN connected) or not."""

    DEFAULT_CSS = """
    LiveIndicator {
        width: auto;
        height: 1;
        padding: 0 1;
        color: $text-warning;
    }
    LiveIndicator.-live {
        color: $text-success;
    }
    LiveIndicator.-reconnecting {
        color: $text-error;
        text-style: bold;
    }
    """

    status: reactive[ListenerStatus] = reactive(ListenerStatus(LiveState.CONNECTING))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(_LABELS[LiveState.CONNECTING], id=id, classes="-connecting")

    @property
    def state(self) -> LiveState:
        return self.status.state

    def watch_status(self, status: ListenerStatus) -> None:
        self.update(_LABELS[status.state])
        for state in LiveState:
            self.set_class(state is status.state, f"-{state.value}")
        if status.state is LiveState.LIVE:
            self.tooltip = "Job updates arrive live (LISTEN adit_events)."
        elif status.state is LiveState.RECONNECTING:
            retry = f" Retrying in {status.retry_in:.0f} s." if status.retry_in else ""
            self.tooltip = (
                f"Live updates lost: {status.detail or 'disconnected'}.{retry} "
                "The list is re-read every few seconds meanwhile."
            )
        else:
            self.tooltip = "Connecting to the database for live updates…"
