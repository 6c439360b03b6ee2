"""A modal with every attribute of one instance, fetched when it opens (Esc closes/cancels)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from adit_tui import services
from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditModal
from adit_tui.services import InstanceRecord, TagRow
from adit_tui.widgets.form_fields import FormInput


class TagsScreen(AditModal[None]):
    COMMAND_SCOPE = "tags"
    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    TagsScreen { align: center middle; }
    TagsScreen > Vertical {
        width: 96%;
        max-width: 140;
        height: 90%;
        border: thick $primary 70%;
        background: $surface;
        padding: 0 1;
    }
    TagsScreen #tags-title { text-style: bold; width: 1fr; }
    TagsScreen #tags-filter-row { height: 1; margin-bottom: 1; }
    TagsScreen #tags-filter-row Label { width: auto; margin-right: 1; color: $text-muted; }
    TagsScreen DataTable { height: 1fr; }
    TagsScreen #tags-status { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="tags.close",
                tooltip="Close (and cancel loading)"),
        Binding("slash", "focus_filter", "Filter", id="tags.filter",
                tooltip="Filter the attributes by tag, keyword or value"),
        Binding("j", "cursor_down", "Down", show=False, id="tags.down", tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="tags.up", tooltip="Previous row"),
    ]  # fmt: skip

    def __init__(self, server: str, instance: InstanceRecord) -> None:
        super().__init__()
        self.server = server
        self.instance = instance
        self.rows: list[TagRow] = []

    def compose(self) -> ComposeResult:
        number = "?" if self.instance.number is None else self.instance.number
        with Vertical():
            yield Static(
                f"Instance #{number} · {self.instance.sop_class_name} · from {self.server}",
                id="tags-title",
            )
            with Horizontal(id="tags-filter-row"):
                yield Label("Filter")
                yield FormInput(placeholder="tag, keyword or value", id="tags-filter")
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_column("Tag", key="tag", width=11)
            table.add_column("Keyword", key="keyword", width=30)
            table.add_column("VR", key="vr", width=2)
            table.add_column("Value", key="value")
            yield table
            yield Static("Loading…", id="tags-status")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.loading = True
        table.focus()
        self.run_worker(
            self._load,
            thread=True,
            exclusive=True,
            group="tags",
            exit_on_error=False,
            description=f"Server {self.server}",
        )

    def _load(self) -> list[TagRow]:
        worker = get_current_worker()
        return services.instance_tags(
            self.context.db,
            self.server,
            self.instance,
            cancel=worker.cancelled_event,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "tags":
            return
        table = self.query_one(DataTable)
        status = self.query_one("#tags-status", Static)
        if event.state is WorkerState.SUCCESS:
            table.loading = False
            self.rows = event.worker.result or []
            self._show(self.query_one("#tags-filter", Input).value)
            if not self.query_one("#tags-filter", Input).value:
                table.focus()  # unless the user has started filtering meanwhile
        elif event.state is WorkerState.ERROR:
            table.loading = False
            status.update(f"Could not load the instance from {self.server}.")
        elif event.state is WorkerState.CANCELLED:
            table.loading = False
            status.update("Cancelled.")

    def _show(self, text: str) -> None:
        table = self.query_one(DataTable)
        needle = text.strip().casefold()
        table.clear()
        shown = 0
        for index, row in enumerate(self.rows):
            haystack = f"{row.tag} {row.keyword} {row.value}".casefold()
            if needle and needle not in haystack:
                continue
            # Nesting inside sequences: one marker per level (DataTable trims leading spaces).
            indent = "\u203a " * row.depth
            table.add_row(row.tag, indent + row.keyword, row.vr, row.value, key=str(index))
            shown += 1
        total = len(self.rows)
        status = f"{total} attributes" if shown == total else f"{shown} of {total} attributes"
        self.query_one("#tags-status", Static).update(f"{status} · / filter · Esc close")

    @on(Input.Changed, "#tags-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        if self.rows:
            self._show(event.value)

    @on(Input.Submitted, "#tags-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#tags-filter", Input).focus()

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def action_close(self) -> None:
        for worker in self.workers:
            worker.cancel()
        self.dismiss(None)
