"""Transfer mode: search a source, mark studies (or series), choose where they go, confirm.

The job is created by `adit_core.jobs.create.create_transfer_job` (through the services)
and the user lands on it in the Jobs mode; workers do the moving.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, Tree
from textual.worker import Worker, WorkerState

from adit_core import fields
from adit_core.fields import Field
from adit_tui import services
from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditScreen
from adit_tui.screens.confirm_transfer import ConfirmTransferScreen, TransferPlan
from adit_tui.services import NodeInfo, SearchCriteria, Selection, TransferOptions
from adit_tui.widgets.chrome import app_header
from adit_tui.widgets.dicom_browser import DicomBrowser, SelectableDicomTree, describe
from adit_tui.widgets.form_fields import FormInput, RuleValidator, validation_message
from adit_tui.widgets.search_form import SearchForm

# option field id → (label, its rule)
OPTION_FIELDS: dict[str, tuple[str, Field]] = {
    "pseudonym": ("Pseudonym", fields.PSEUDONYM),
    "trial_protocol_id": ("Trial ID", fields.TRIAL_PROTOCOL_ID),
    "trial_protocol_name": ("Trial name", fields.TRIAL_PROTOCOL_NAME),
}


class TransferPanel(Vertical):
    """Destination and options, each field with its own message line."""

    DEFAULT_CSS = """
    TransferPanel {
        width: 34;
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $text-accent;
        padding: 0 1;
    }
    TransferPanel:focus-within { border: round $primary; }
    TransferPanel .row { height: 1; }
    TransferPanel .row Label { width: 10; color: $text-muted; }
    TransferPanel .row Input, TransferPanel .row Select { width: 1fr; }
    TransferPanel .field-error { color: $text-error; height: auto; padding-left: 10; }
    TransferPanel .field-error.-ok { display: none; }
    TransferPanel Checkbox { margin-top: 1; }
    TransferPanel #selection-summary { height: auto; margin-top: 1; color: $text-muted; }
    TransferPanel #transfer-button { width: 100%; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("To")
            yield Select[str]([], id="destination", compact=True, prompt="destination")
        yield Static("", id="destination-error", classes="field-error -ok")
        for name, (label, rule) in OPTION_FIELDS.items():
            with Horizontal(classes="row"):
                yield Label(label)
                yield FormInput(
                    id=name,
                    validators=[RuleValidator(rule.problem)],
                    valid_empty=True,
                )
            yield Static("", id=f"{name}-error", classes="field-error -ok")
        yield Checkbox("Urgent (runs first)", id="urgent", compact=True)
        yield Static("Nothing marked yet: space marks a study.", id="selection-summary")
        yield Button("Transfer… (ctrl+t)", id="transfer-button", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.border_title = "Transfer to"

    def set_destinations(self, nodes: list[NodeInfo]) -> None:
        select = self.query_one("#destination", Select)
        current = select.value if select.value != Select.NULL else None
        select.set_options([(n.label, n.name) for n in nodes])
        if current in [n.name for n in nodes]:
            select.value = current
        self.show_error("destination", "" if nodes else "No destination: add a server or folder.")

    @property
    def destination(self) -> str | None:
        value = self.query_one("#destination", Select).value
        return None if value == Select.NULL else str(value)

    def options(self) -> TransferOptions:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        return TransferOptions(
            pseudonym=value("pseudonym"),
            trial_protocol_id=value("trial_protocol_id"),
            trial_protocol_name=value("trial_protocol_name"),
            urgent=self.query_one("#urgent", Checkbox).value,
        )

    def show_error(self, name: str, text: str) -> None:
        line = self.query_one(f"#{name}-error", Static)
        line.update(text)
        line.set_class(not text, "-ok")

    def problems(self) -> dict[str, str]:
        found = {}
        for name, (_label, rule) in OPTION_FIELDS.items():
            message = rule.problem(self.query_one(f"#{name}", Input).value)
            if message:
                found[name] = message
        return found

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        name = event.input.id or ""
        if name in OPTION_FIELDS:
            self.show_error(name, validation_message(event.validation_result))

    @on(Select.Changed, "#destination")
    def _destination_changed(self, event: Select.Changed) -> None:
        if event.value != Select.NULL:
            self.show_error("destination", "")


class TransferScreen(AditScreen[None]):
    SUB_TITLE = "Transfer"

    DEFAULT_CSS = """
    TransferScreen #detail {
        height: auto;
        max-height: 2;
        padding: 0 1;
        background: $boost;
    }
    """
    COMMAND_SCOPE = "transfer"
    COMMANDS = {ScreenCommands}

    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="transfer.focus_search",
                tooltip="Go to the search form (then Enter runs the search)"),
        Binding("escape", "cancel", "Cancel", id="transfer.cancel",
                tooltip="Cancel the running query"),
        Binding("ctrl+t", "submit", "Transfer…", id="transfer.submit",
                tooltip="Check the marked studies and options, then confirm the job"),
        Binding("ctrl+d", "focus_destination", "Destination", id="transfer.destination",
                tooltip="Go to the destination and options", show=False),
        Binding("ctrl+o", "focus_results", "Results", id="transfer.focus_results",
                tooltip="Go to the result tree", show=False),
    ]  # fmt: skip

    def compose(self) -> ComposeResult:
        yield app_header(self.app, "transfer")
        yield DicomBrowser(
            selectable=True, need_retrieve=True, side=TransferPanel(id="panel"), id="browser"
        )
        yield Static("", id="detail")
        yield Footer()

    _pending: list[Selection] = []

    @property
    def browser(self) -> DicomBrowser:
        return self.query_one(DicomBrowser)

    @property
    def panel(self) -> TransferPanel:
        return self.query_one(TransferPanel)

    @property
    def results(self) -> SelectableDicomTree:
        return self.query_one(SelectableDicomTree)

    def on_mount(self) -> None:
        self.browser.form.focus_first()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.browser.reload_servers()
            self._reload_destinations()

    # -- destinations --------------------------------------------------------------------

    def _reload_destinations(self) -> None:
        source = self.browser.server or self.browser.form.server
        self.run_worker(
            lambda: services.list_destinations(self.context.db, exclude=source),
            thread=True,
            exclusive=True,
            group="destinations",
            exit_on_error=False,
            description="Cannot list destinations",
        )

    @on(SearchForm.ServerChanged)
    def _source_changed(self, event: SearchForm.ServerChanged) -> None:
        self._reload_destinations()

    # -- selection -----------------------------------------------------------------------

    @on(SelectableDicomTree.SelectionChanged)
    def _selection_changed(self, event: SelectableDicomTree.SelectionChanged) -> None:
        selections = list(event.tree.selection.values())
        summary = self.query_one("#selection-summary", Static)
        if not selections:
            summary.update("Nothing marked yet: space marks a study.")
            return
        partial = sum(1 for s in selections if not s.whole)
        count = len(selections)
        text = f"{count} {'study' if count == 1 else 'studies'} marked"
        if partial:
            text += f", {partial} with some series only"
        summary.update(text)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[object]) -> None:
        self.query_one("#detail", Static).update(describe(event.node.data))

    def preselect(self, server: str, selections: list[Selection]) -> None:
        """Search `server` for these studies' patient and mark them (from the Explorer)."""
        patient_ids = {s.study.patient_id for s in selections}
        criteria = SearchCriteria(patient_id=patient_ids.pop() if len(patient_ids) == 1 else "")
        if len(selections) == 1 or criteria.patient_id:
            self.browser.form.fill(patient_id=criteria.patient_id)
        self._pending = selections
        self.browser.search(server, criteria)

    @on(DicomBrowser.SearchDone)
    def _search_done(self, event: DicomBrowser.SearchDone) -> None:
        self._reload_destinations()
        pending, self._pending = self._pending, []
        if pending:
            self.results.mark(pending)
            for node in self.results.root.children:
                node.expand()
        if event.outcome.patients:
            self.results.focus()

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.browser.busy
        return True

    def action_focus_search(self) -> None:
        self.browser.form.focus_first()

    def action_focus_results(self) -> None:
        self.results.focus()

    def action_focus_destination(self) -> None:
        self.query_one("#destination", Select).focus()

    def action_cancel(self) -> None:
        if self.browser.cancel():
            self.notify("Query cancelled.", timeout=2)

    @on(Button.Pressed, "#transfer-button")
    def action_submit(self) -> None:
        plan = self.plan()
        if plan is not None:
            self.app.push_screen(ConfirmTransferScreen(plan), self._confirmed)

    def plan(self) -> TransferPlan | None:
        """The transfer as the screen describes it, or None after saying what is missing."""
        selections = list(self.results.selection.values())
        source = self.browser.server
        if not selections or source is None:
            self.notify(
                "Mark at least one study first: search, then space on a study or series.",
                title="Nothing to transfer",
                severity="warning",
            )
            self.results.focus()
            return None
        destination = self.panel.destination
        if destination is None:
            self.panel.show_error("destination", "Choose where the studies go.")
            self.action_focus_destination()
            return None
        problems = self.panel.problems()
        for name in OPTION_FIELDS:
            self.panel.show_error(name, problems.get(name, ""))
        if problems:
            self.query_one(f"#{next(iter(problems))}", Input).focus()
            return None
        return TransferPlan(source, destination, selections, self.panel.options())

    def _confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        plan = self.plan()
        if plan is None:
            return
        self.run_worker(
            lambda: services.create_transfer(
                self.context.db,
                source=plan.source,
                destination=plan.destination,
                selections=plan.selections,
                options=plan.options,
            ),
            thread=True,
            exclusive=True,
            group="create-job",
            exit_on_error=False,
            description="The job was not created",
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "destinations" and event.state is WorkerState.SUCCESS:
            self.panel.set_destinations(worker.result or [])
        elif worker.group == "create-job" and event.state is WorkerState.SUCCESS:
            job_id = int(str(worker.result))
            self.notify(f"Job {job_id} created; workers will pick it up.", title="Transfer")
            self.results.clear_selection()
            self.context.navigator.show_job(job_id)
