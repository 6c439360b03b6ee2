"""The search form shared by the Explorer and the Transfer mode.

Compact fields in a grid (fits 80 columns), each checked as it is typed with the same
rules the search uses (`adit_core.fields`); the line under the grid says which field is
wrong and why. Enter in any field (or the Search button) submits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static

from adit_tui.services import CRITERIA_CHECKS, NodeInfo, SearchCriteria
from adit_tui.widgets.form_fields import FormInput, RuleValidator, validation_message

# field id → (label, placeholder, check)
FIELDS: dict[str, tuple[str, str, Callable[[str], str | None]]] = {
    "patient_id": ("PatientID", "0012345 or 00123*", CRITERIA_CHECKS["patient_id"]),
    "patient_name": ("Name", "Last, First", CRITERIA_CHECKS["patient_name"]),
    "birth_date": ("Born", "YYYY-MM-DD", CRITERIA_CHECKS["birth_date"]),
    "accession_number": ("Accession", "", CRITERIA_CHECKS["accession_number"]),
    "modalities": ("Modality", "CT, MR", CRITERIA_CHECKS["modalities"]),
    "study_date_from": ("Studies from", "YYYY-MM-DD", CRITERIA_CHECKS["study_date_from"]),
    "study_date_to": ("to", "YYYY-MM-DD", CRITERIA_CHECKS["study_date_to"]),
}


class SearchForm(Vertical):
    DEFAULT_CSS = """
    SearchForm {
        height: auto;
        border: round $primary 50%;
        border-title-color: $text-accent;
        padding: 0 1;
    }
    SearchForm:focus-within { border: round $primary; }
    SearchForm Grid {
        grid-size: 6;
        grid-columns: auto 1fr auto 1fr auto 1fr;
        grid-rows: 1;
        grid-gutter: 0 1;
        height: auto;
    }
    SearchForm Label { color: $text-muted; }
    SearchForm Input.-invalid { color: $text-error; }
    SearchForm #search-button { width: 100%; min-width: 8; }
    SearchForm #form-message { height: auto; color: $text-error; }
    SearchForm #form-message.-ok { display: none; }
    """

    class Submitted(Message):
        """A valid search: run it on `server`."""

        def __init__(self, form: SearchForm, server: str, criteria: SearchCriteria) -> None:
            super().__init__()
            self.form = form
            self.server = server
            self.criteria = criteria

        @property
        def control(self) -> SearchForm:
            return self.form

    class ServerChanged(Message):
        def __init__(self, form: SearchForm, server: str | None) -> None:
            super().__init__()
            self.form = form
            self.server = server

        @property
        def control(self) -> SearchForm:
            return self.form

    def __init__(
        self, *, title: str = "Search", server_label: str = "Server", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._server_label = server_label
        self._servers: list[NodeInfo] = []

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label(self._server_label)
            yield Select[str](
                [], id="server", compact=True, prompt="choose a server", allow_blank=True
            )
            for name, (label, placeholder, check) in FIELDS.items():
                yield Label(label)
                yield FormInput(
                    id=name,
                    placeholder=placeholder,
                    validators=[RuleValidator(check)],
                    valid_empty=True,
                )
            yield Button("Search", id="search-button", compact=True, variant="primary")
        yield Static("", id="form-message", classes="-ok")

    # -- servers -------------------------------------------------------------------------

    def set_servers(self, servers: Sequence[NodeInfo]) -> None:
        """Offer these servers; keeps the current choice when it is still there."""
        select = self.query_one("#server", Select)
        current = select.value if select.value != Select.NULL else None
        self._servers = list(servers)
        names = [s.name for s in servers]
        select.set_options([(s.label, s.name) for s in servers])
        if current in names:
            select.value = current
        elif names:
            select.value = names[0]
        if not servers:
            self.show_message(
                "No server to search: add one in the Servers mode (F4) or with `adit server add`."
            )
        else:
            self.show_message("")

    @property
    def server(self) -> str | None:
        value = self.query_one("#server", Select).value
        return None if value == Select.NULL else str(value)

    @on(Select.Changed, "#server")
    def _server_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.ServerChanged(self, self.server))

    # -- values --------------------------------------------------------------------------

    def criteria(self) -> SearchCriteria:
        values = {name: self.query_one(f"#{name}", Input).value for name in FIELDS}
        return SearchCriteria(**values)

    def fill(self, **values: str) -> None:
        """Set fields by name (tests, and jumping here from elsewhere)."""
        for name, value in values.items():
            self.query_one(f"#{name}", Input).value = value

    def show_message(self, text: str) -> None:
        message = self.query_one("#form-message", Static)
        message.update(text)
        message.set_class(not text, "-ok")

    def focus_first(self) -> None:
        self.query_one("#patient_id", Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        name = event.input.id or ""
        if name not in FIELDS:
            return
        message = validation_message(event.validation_result)
        if message:
            self.show_message(f"{FIELDS[name][0]}: {message}")
        else:
            self._show_first_problem()

    def _show_first_problem(self) -> None:
        problems = self.criteria().problems()
        if problems:
            name, text = next(iter(problems.items()))
            self.show_message(f"{FIELDS[name][0]}: {text}")
        else:
            self.show_message("")

    # -- submit --------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#search-button")
    def _submit_event(self, event: Message) -> None:
        event.stop()
        self.submit()

    def submit(self) -> bool:
        """Check the form; post Submitted when it is valid. Returns whether it was."""
        criteria = self.criteria()
        problems = criteria.problems()
        for name in FIELDS:
            self.query_one(f"#{name}", Input).set_class(name in problems, "-invalid")
        if problems:
            name, text = next(iter(problems.items()))
            self.show_message(f"{FIELDS[name][0]}: {text}")
            self.query_one(f"#{name}", Input).focus()
            return False
        server = self.server
        if server is None:
            self.show_message("Choose the server to search first.")
            self.query_one("#server", Select).focus()
            return False
        self.show_message("")
        self.post_message(self.Submitted(self, server, criteria))
        return True
