"""Choose which job states the job list shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, SelectionList

from adit_tui.commands import ScreenCommands
from adit_tui.job_services import STATUSES
from adit_tui.screens.base import AditModal
from adit_tui.screens.jobs_common import status_text

ACTIVE = frozenset({"PENDING", "IN_PROGRESS", "CANCELING"})
PROBLEMS = frozenset({"WARNING", "FAILURE", "CANCELED"})


class StatusFilterScreen(AditModal[frozenset[str] | None]):
    """Dismisses with the chosen states (empty: all states) or None (unchanged)."""

    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    StatusFilterScreen {
        align: center middle;
    }
    StatusFilterScreen > #dialog {
        width: 50;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    StatusFilterScreen #title {
        text-style: bold;
        margin-bottom: 1;
    }
    StatusFilterScreen SelectionList {
        height: auto;
        max-height: 9;
    }
    StatusFilterScreen #hint {
        color: $text-muted;
        margin-top: 1;
    }
    StatusFilterScreen #buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    StatusFilterScreen #buttons Button {
        margin-left: 1;
        min-width: 10;
    }
    """

    BINDINGS = [
        Binding("a", "apply", "Apply", id="jobs_filter.apply", tooltip="Show the chosen states"),
        Binding("x", "everything", "All states", id="jobs_filter.all",
                tooltip="Show jobs in every state"),
        Binding("o", "preset('active')", "Active", id="jobs_filter.active",
                tooltip="Only pending, running and canceling jobs"),
        Binding("p", "preset('problems')", "Problems", id="jobs_filter.problems",
                tooltip="Only jobs with warnings, failures or cancellations"),
        Binding("j", "down", "Down", show=False, id="jobs_filter.down", tooltip="Next state"),
        Binding("k", "up", "Up", show=False, id="jobs_filter.up", tooltip="Previous state"),
        Binding("escape", "dismiss_unchanged", "Close", id="jobs_filter.close",
                tooltip="Keep the current filter"),
    ]  # fmt: skip

    def __init__(self, current: frozenset[str]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Show jobs in these states", id="title")
            yield SelectionList[str](
                *[(status_text(s), s, s in self.current) for s in STATUSES], id="states"
            )
            yield Label(
                "space toggles (none: every state)\no active only · p problems only", id="hint"
            )
            with Horizontal(id="buttons"):
                yield Button("Apply (a)", id="apply", variant="primary", compact=True)
                yield Button("All states (x)", id="all", compact=True)

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @property
    def chosen(self) -> frozenset[str]:
        return frozenset(self.query_one(SelectionList).selected)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.chosen if event.button.id == "apply" else frozenset())

    def action_apply(self) -> None:
        self.dismiss(self.chosen)

    def action_everything(self) -> None:
        self.dismiss(frozenset())

    def action_preset(self, name: str) -> None:
        self.dismiss(ACTIVE if name == "active" else PROBLEMS)

    def action_down(self) -> None:
        self.query_one(SelectionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(SelectionList).action_cursor_up()

    def action_dismiss_unchanged(self) -> None:
        self.dismiss(None)
