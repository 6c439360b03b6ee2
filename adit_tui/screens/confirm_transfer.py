"""The last look before a selective transfer job is created."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditModal
from adit_tui.services import Selection, TransferOptions

MAX_LISTED = 12


@dataclass
class TransferPlan:
    source: str
    destination: str
    selections: list[Selection]
    options: TransferOptions

    @property
    def headline(self) -> str:
        count = len(self.selections)
        return (
            f"Transfer {count} {'study' if count == 1 else 'studies'} "
            f"from {self.source} to {self.destination}?"
        )


def plan_lines(plan: TransferPlan) -> Text:
    text = Text()
    for selection in plan.selections[:MAX_LISTED]:
        study = selection.study
        text.append("• ")
        text.append(study.patient_name or "(no name)", style="bold")
        text.append(f" {study.patient_id}  ", style="cyan")
        text.append(study.study_date.isoformat() if study.study_date else "no date")
        text.append(f"  {study.description or '(no description)'}")
        if selection.whole:
            text.append("  whole study", style="dim")
        else:
            numbers = ", ".join(
                f"#{s.number}" if s.number is not None else s.series_uid[-8:]
                for s in selection.series.values()
            )
            count = len(selection.series)
            text.append(f"  {count} series ({numbers})", style="yellow")
        text.append("\n")
    if len(plan.selections) > MAX_LISTED:
        text.append(f"… and {len(plan.selections) - MAX_LISTED} more\n", style="dim")
    options = plan.options
    text.append("\n")
    if options.pseudonym:
        text.append("Pseudonymize as ", style="dim")
        text.append(options.pseudonym, style="bold")
    else:
        text.append("Not pseudonymized: the data is transferred unchanged", style="yellow")
    if options.trial_protocol_id or options.trial_protocol_name:
        text.append("\nTrial protocol ", style="dim")
        text.append(
            " / ".join(v for v in (options.trial_protocol_id, options.trial_protocol_name) if v)
        )
    text.append("\nPriority ", style="dim")
    text.append("urgent (runs first)" if options.urgent else "normal")
    return text


class ConfirmTransferScreen(AditModal[bool]):
    COMMAND_SCOPE = "confirm"
    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    ConfirmTransferScreen { align: center middle; }
    ConfirmTransferScreen > Vertical {
        width: 90%;
        max-width: 100;
        height: auto;
        max-height: 90%;
        border: thick $primary 70%;
        background: $surface;
        padding: 0 1;
    }
    ConfirmTransferScreen #confirm-headline { text-style: bold; margin-bottom: 1; }
    ConfirmTransferScreen VerticalScroll { height: auto; max-height: 16; }
    ConfirmTransferScreen #confirm-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmTransferScreen Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("y", "confirm", "Create job", id="confirm.yes",
                tooltip="Create the transfer job and go to it"),
        Binding("n,escape", "cancel", "Back", id="confirm.no",
                tooltip="Go back without creating anything"),
    ]  # fmt: skip

    def __init__(self, plan: TransferPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.plan.headline, id="confirm-headline")
            with VerticalScroll():
                yield Static(plan_lines(self.plan), id="confirm-details")
            with Horizontal(id="confirm-buttons"):
                yield Button("Back (n)", id="no", compact=True)
                yield Button("Create job (y)", id="yes", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)
