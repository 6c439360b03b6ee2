"""Saving a batch file from the app: a batch query job's results, or a template.

`SaveFileModal` asks for a path (.xlsx or .csv, chosen by the name's ending or with the
Format buttons), writes the file in a thread worker and dismisses with the path written
(None when cancelled). `ExportResultsModal(job_id)` writes `export_results`; the Batch
mode's template key uses the same modal with `write_template`.

    ┌ Export the results of job 7 ───────────────────────────┐
    │ Save as  batch_query_job_7_results.xlsx                │
    │ Format   ● Excel (.xlsx)  ○ CSV (.csv)                 │
    │ … what the file holds …                                │
    │                              [ Cancel ] [ Save ]       │
    └────────────────────────────────────────────────────────┘
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState

from adit_core.batch import default_export_name, export_results
from adit_tui.commands import ScreenCommands
from adit_tui.errors import error_text
from adit_tui.screens.base import AditModal
from adit_tui.widgets.form_fields import FormInput, validation_message

SUFFIXES = (".xlsx", ".csv")


def resolve_path(value: str, base: Path | None = None) -> Path:
    """What the user typed as an absolute path: ~ expanded, relative to `base` (or cwd)."""
    path = Path(value.strip()).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path


def check_save_path(value: str, base: Path | None = None) -> str | None:
    """None when a file can be written at `value`, else why not."""
    if not value.strip():
        return "Type a file name ending in .xlsx or .csv."
    path = resolve_path(value, base)
    if path.suffix.lower() not in SUFFIXES:
        return "The name must end in .xlsx or .csv."
    if path.is_dir():
        return f"{value.strip()} is a folder; add a file name."
    if not path.parent.is_dir():
        return f"The folder {path.parent} does not exist."
    return None


class SavePathValidator(Validator):
    def __init__(self, base: Path | None) -> None:
        super().__init__()
        self.base = base

    def validate(self, value: str) -> ValidationResult:
        message = check_save_path(value, self.base)
        return self.failure(message) if message else self.success()


class FileWritten(Message):
    """The worker wrote the file; `summary` says what is in it."""

    def __init__(self, path: Path, summary: str) -> None:
        super().__init__()
        self.path = path
        self.summary = summary


class SaveFileModal(AditModal[Path | None]):
    """Where to save an .xlsx or .csv file; `write` does the work in a thread."""

    DEFAULT_CSS = """
    SaveFileModal {
        align: center middle;
        background: $background 60%;
    }
    SaveFileModal #dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        border: round $primary;
        border-title-color: $text-accent;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    SaveFileModal .row { height: 1; margin-bottom: 1; }
    SaveFileModal .row Label { width: 9; color: $text-muted; }
    SaveFileModal .row Input { width: 1fr; }
    SaveFileModal Input.-invalid { color: $text-error; }
    SaveFileModal #format { layout: horizontal; width: auto; }
    SaveFileModal #format RadioButton { width: auto; margin-right: 2; }
    SaveFileModal #hint { height: auto; color: $text-muted; }
    SaveFileModal #path-error { height: auto; color: $text-error; margin-top: 1; }
    SaveFileModal #path-error.-ok { display: none; }
    SaveFileModal #buttons { height: 1; margin-top: 1; align-horizontal: right; }
    SaveFileModal #buttons Button { margin-left: 2; min-width: 10; }
    """

    COMMAND_SCOPE = "save_file"
    COMMANDS = {ScreenCommands}

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="save_file.cancel",
                tooltip="Close without writing anything"),
        Binding("ctrl+s", "save", "Save", id="save_file.save",
                tooltip="Write the file (Enter in the path field does the same)"),
        Binding("ctrl+t", "toggle_format", "xlsx/csv", id="save_file.format",
                tooltip="Switch the file name between .xlsx and .csv"),
    ]  # fmt: skip

    def __init__(
        self, title: str, default: str, hint: str = "", *, base: Path | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.hint = hint
        self.base = base
        self.busy = False

    # -- to override ---------------------------------------------------------------------

    def write(self, path: Path) -> str:
        """Write the file (in a worker thread); returns what to tell the user."""
        raise NotImplementedError

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        suffix = Path(self.default).suffix.lower()
        with Vertical(id="dialog"):
            with Horizontal(classes="row"):
                yield Label("Save as")
                yield FormInput(
                    self.default,
                    id="path",
                    validators=[SavePathValidator(self.base)],
                )
            with Horizontal(classes="row"):
                yield Label("Format")
                with RadioSet(id="format", compact=True):
                    yield RadioButton("Excel (.xlsx)", value=suffix != ".csv", id="xlsx")
                    yield RadioButton("CSV (.csv)", value=suffix == ".csv", id="csv")
            if self.hint:
                yield Static(self.hint, id="hint")
            yield Static("", id="path-error", classes="-ok")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = self.title_text
        field = self.query_one("#path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @property
    def path_input(self) -> Input:
        return self.query_one("#path", Input)

    def show_error(self, text: str) -> None:
        line = self.query_one("#path-error", Static)
        line.update(Text(text))
        line.set_class(not text, "-ok")

    # -- format by suffix ----------------------------------------------------------------

    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        suffix = Path(event.value.strip()).suffix.lower()
        if suffix in SUFFIXES:
            button = self.query_one("#xlsx" if suffix == ".xlsx" else "#csv", RadioButton)
            if not button.value:
                with self.prevent(RadioSet.Changed):
                    button.value = True
        result = event.validation_result
        self.show_error(validation_message(result))

    @on(RadioSet.Changed, "#format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self._set_suffix(".csv" if event.pressed.id == "csv" else ".xlsx")

    def _set_suffix(self, suffix: str) -> None:
        field = self.path_input
        value = field.value.strip()
        if not value:
            value = f"export{suffix}"
        current = Path(value).suffix
        if current.lower() == suffix:
            return
        stem = value[: -len(current)] if current.lower() in SUFFIXES else value
        field.value = stem + suffix
        field.cursor_position = len(field.value)

    def action_toggle_format(self) -> None:
        current = Path(self.path_input.value.strip()).suffix.lower()
        self._set_suffix(".xlsx" if current == ".csv" else ".csv")

    # -- saving --------------------------------------------------------------------------

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.busy:
            return
        value = self.path_input.value
        problem = check_save_path(value, self.base)
        if problem:
            self.show_error(problem)
            self.path_input.focus()
            return
        self.show_error("")
        self._set_busy(True)
        self._write(resolve_path(value, self.base))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#save", Button).disabled = busy
        self.query_one("#save", Button).label = "Saving…" if busy else "Save"

    def _write(self, path: Path) -> None:
        self.run_worker(
            lambda: self.post_message(FileWritten(path, self.write(path))),
            thread=True,
            exclusive=True,
            group="save-file",
            exit_on_error=False,
            description=f"Cannot write {path.name}",
        )

    @on(FileWritten)
    def _written(self, event: FileWritten) -> None:
        self._set_busy(False)
        self.notify(event.summary, title=self.title_text, markup=False)
        self.dismiss(event.path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "save-file" and event.state is WorkerState.ERROR:
            self._set_busy(False)
            self.show_error(error_text(event.worker.error))


class ExportResultsModal(SaveFileModal):
    """Export a batch query job's results (`adit jobs export` in the app)."""

    def __init__(self, job_id: int, *, base: Path | None = None) -> None:
        super().__init__(
            f"Export the results of job {job_id}",
            default_export_name(job_id),
            "Every line of the query file is listed: the studies (or series) it found, or "
            "why it failed or found nothing (columns Status and Error). The file works as "
            "a batch transfer file as it is. A relative path is saved in the folder the "
            "app was started in.",
            base=base,
        )
        self.job_id = job_id

    def write(self, path: Path) -> str:
        with self.context.db.session() as session:
            summary = export_results(session, self.job_id, path)
        noun = "row" if summary.rows == 1 else "rows"
        text = f"Wrote {summary.rows} {noun} to {summary.path}."
        if summary.tasks_failed:
            text += f" {summary.tasks_failed} lines of the query failed (see the Error column)."
        if summary.tasks_unfinished:
            text += (
                f" {summary.tasks_unfinished} lines have not run yet: export again when the "
                "job has finished."
            )
        return text
