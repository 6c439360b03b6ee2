"""Explorer mode: search a server and browse patient → study → series → instance → tags."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, Tree
from textual.worker import Worker

from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditScreen
from adit_tui.screens.tags import TagsScreen
from adit_tui.services import (
    InstanceRecord,
    PatientRecord,
    SearchCriteria,
    SearchOutcome,
    Selection,
    SeriesRecord,
    StudyRecord,
)
from adit_tui.widgets.chrome import app_header
from adit_tui.widgets.dicom_browser import DicomBrowser, DicomTree, describe


class ExplorerScreen(AditScreen[None]):
    SUB_TITLE = "Explorer"
    COMMAND_SCOPE = "explorer"
    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    ExplorerScreen #detail {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
        color: $text;
    }
    """

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="explorer.focus_search",
                tooltip="Go to the search form (then Enter runs the search)"),
        Binding("escape", "cancel", "Cancel", id="explorer.cancel",
                tooltip="Cancel the running query"),
        Binding("ctrl+r", "search", "Run search", id="explorer.search",
                tooltip="Run the search with what the form holds", show=False),
        Binding("ctrl+o", "focus_results", "Results", id="explorer.focus_results",
                tooltip="Go to the result tree", show=False),
        Binding("t", "tags", "Tags", id="explorer.tags",
                tooltip="Show every attribute of the highlighted instance"),
        Binding("x", "transfer", "Transfer…", id="explorer.transfer",
                tooltip="Transfer this study (series, or the patient's studies found): "
                        "opens the Transfer mode with it marked"),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        yield app_header(self.app, "explorer")
        yield DicomBrowser(id="browser")
        yield Static("", id="detail")
        yield Footer()

    @property
    def browser(self) -> DicomBrowser:
        return self.query_one(DicomBrowser)

    def on_mount(self) -> None:
        self.browser.form.focus_first()

    def on_screen_resume(self) -> None:
        # Servers may have been added or changed in the Servers mode meanwhile.
        if self.is_mounted:
            self.browser.reload_servers()

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides a key from the footer while it would do nothing (keeps 80 columns tidy).
        if action == "cancel":
            return self.browser.busy
        if action == "tags":
            node = self.browser.results.cursor_node
            return node is not None and isinstance(node.data, InstanceRecord)
        if action == "transfer":
            return self._transfer_target() is not None
        return True

    def action_focus_search(self) -> None:
        self.browser.form.focus_first()

    def action_focus_results(self) -> None:
        self.browser.results.focus()

    def action_search(self) -> None:
        self.browser.form.submit()

    def action_cancel(self) -> None:
        if self.browser.cancel():
            self.notify("Query cancelled.", timeout=2)

    def action_tags(self) -> None:
        node = self.browser.results.cursor_node
        if node is not None and isinstance(node.data, InstanceRecord):
            self.open_tags(node.data)

    def _transfer_target(self) -> list[Selection] | None:
        """What `x` would mark in the Transfer mode for the highlighted line."""
        node = self.browser.results.cursor_node
        if node is None or self.browser.server is None:
            return None
        data = node.data
        if isinstance(data, PatientRecord):
            return [Selection(study) for study in data.studies]
        if isinstance(data, StudyRecord):
            return [Selection(data)]
        series_node = node.parent if isinstance(data, InstanceRecord) else node
        if series_node is None:
            return None
        data = series_node.data
        if isinstance(data, SeriesRecord) and series_node.parent is not None:
            study = series_node.parent.data
            if isinstance(study, StudyRecord):
                return [Selection(study, {data.series_uid: data})]
        return None

    def action_transfer(self) -> None:
        selections = self._transfer_target()
        if selections and self.browser.server is not None:
            self.context.navigator.start_transfer(self.browser.server, selections)

    def open_tags(self, instance: InstanceRecord) -> None:
        if self.browser.server is None:
            return
        self.app.push_screen(TagsScreen(self.browser.server, instance))

    def search(self, server: str, criteria: SearchCriteria) -> Worker[SearchOutcome]:
        """Run a search as if typed (tests and other modes use this)."""
        return self.browser.search(server, criteria)

    # -- events --------------------------------------------------------------------------

    @on(DicomTree.InstanceChosen)
    def _instance_chosen(self, event: DicomTree.InstanceChosen) -> None:
        self.open_tags(event.instance)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[object]) -> None:
        self.query_one("#detail", Static).update(describe(event.node.data))
        self.refresh_bindings()

    @on(DicomBrowser.SearchDone)
    def _search_done(self, event: DicomBrowser.SearchDone) -> None:
        if event.outcome.patients:
            self.browser.results.focus()
