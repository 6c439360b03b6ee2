"""A yes/no confirmation for actions that change or remove things (jobs, servers)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditModal


class ConfirmScreen(AditModal[bool]):
    """Ask before doing something; dismisses with True (do it) or False."""

    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > #dialog {
        width: 64;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    ConfirmScreen.-destructive > #dialog {
        border: thick $error;
    }
    ConfirmScreen #question {
        text-style: bold;
        width: 100%;
        margin-bottom: 1;
    }
    ConfirmScreen #consequence {
        width: 100%;
        color: $text-muted;
    }
    ConfirmScreen #buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmScreen #buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Do it"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no",
                tooltip="Leave everything as it is"),
    ]  # fmt: skip

    def __init__(
        self,
        question: str,
        consequence: str = "",
        *,
        confirm_label: str = "Yes",
        cancel_label: str = "No",
        destructive: bool = False,
    ) -> None:
        super().__init__(classes="-destructive" if destructive else None)
        self.question = question
        self.consequence = consequence
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label
        self.destructive = destructive

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question", markup=False)
            if self.consequence:
                yield Static(self.consequence, id="consequence", markup=False)
            with Horizontal(id="buttons"):
                yield Button(
                    f"{self.confirm_label} (y)",
                    id="yes",
                    variant="error" if self.destructive else "primary",
                    compact=True,
                )
                yield Button(f"{self.cancel_label} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        # Destructive answers need a deliberate key: the safe button has the focus.
        self.query_one("#no" if self.destructive else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
