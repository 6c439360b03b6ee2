"""Batch mode: pick a batch file, choose servers and options, read the report, start the job.

    ┌ File ─────────────────────────────┐┌ Job ────────────────────────────┐
    │ Path  cohort.xlsx                 ││ Kind    ● Query  ○ Transfer     │
    │ ▼ ./                              ││ Source  pacs                    │
    │ ├── ▶ archive                     ││ To      research (transfer)     │
    │ └── cohort.xlsx                   ││ [ ] Urgent                      │
    └───────────────────────────────────┘│ [ Check ^r ]    [ Start ^s ]    │
    ✓ cohort.xlsx is a valid batch query file: 120 lines …
    ┌ Problems ──────────────────────────────────────────────────────────────┐
    │ Line  Column          Problem                                          │

Choosing a file (Enter in the tree, or a path typed and Enter) checks it at once with
`adit_core.batch.validate_file` in a thread worker; so does switching the kind. Every
problem is listed with its line and column; warnings and notes (lines an exported query
has without a study) in a table of their own. Start is enabled only for a valid file; it
checks the file once more and creates the job in one transaction, then opens it in the
Jobs mode (`context.navigator.show_job`). The template key writes an example file to fill in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    Checkbox,
    DirectoryTree,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core import fields, node_roles
from adit_core.batch import (
    BatchKind,
    Problem,
    QueryBatch,
    TransferBatch,
    ValidationReport,
    create_batch_query_job,
    create_batch_transfer_job,
    group_by_study,
    validate_file,
    write_template,
)
from adit_core.batch.rows import BatchFile
from adit_core.batch.table import CSV_SUFFIXES, XLSX_SUFFIXES
from adit_core.db.database import Database
from adit_core.fields import Field
from adit_core.node_roles import NodeInfo
from adit_tui.commands import ScreenCommands
from adit_tui.errors import error_text
from adit_tui.screens.base import AditScreen
from adit_tui.screens.batch_export import SaveFileModal, resolve_path
from adit_tui.widgets.chrome import app_header
from adit_tui.widgets.form_fields import FormInput, RuleValidator, validation_message
from adit_tui.widgets.report_table import ReportTable, report_row

PICKER_SUFFIXES = frozenset({".xlsx", ".csv"})
READABLE_SUFFIXES = XLSX_SUFFIXES | CSV_SUFFIXES

# option field id → its rule
TRIAL_FIELDS: dict[str, Field] = {
    "trial_protocol_id": fields.TRIAL_PROTOCOL_ID,
    "trial_protocol_name": fields.TRIAL_PROTOCOL_NAME,
}


def display_path(path: Path, base: Path) -> str:
    """How the screen shows a path: relative to the start folder, else with ~ for home."""
    try:
        relative = path.relative_to(base)
    except ValueError:
        pass
    else:
        return "./" if relative == Path() else relative.as_posix()
    try:
        in_home = path.relative_to(Path.home())
    except (ValueError, RuntimeError):
        return str(path)
    return "~" if in_home == Path() else "~/" + in_home.as_posix()


def check_batch_path(value: str, base: Path) -> str | None:
    """None when `value` names a folder or a readable batch file, else why not."""
    if not value.strip():
        return "Type the path of a .xlsx or .csv file (or a folder to show)."
    path = resolve_path(value, base)
    try:
        if path.is_dir():
            return None
        if not path.exists():
            return f"No such file or folder: {value.strip()}"
    except OSError as exc:
        return error_text(exc)
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        old = " (old Excel format)" if suffix == ".xls" else ""
        return f"Not a batch file{old}: save it as .xlsx or .csv."
    return None


class BatchPathValidator(Validator):
    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    def validate(self, value: str) -> ValidationResult:
        message = check_batch_path(value, self.base)
        return self.failure(message) if message else self.success()


def _is_folder(path: Path) -> bool:
    """A folder we may look into (one we may not even stat counts as a file)."""
    try:
        return path.is_dir()
    except OSError:
        return False


class BatchFileTree(DirectoryTree):
    """Folders and .xlsx/.csv files only; Backspace shows the parent folder."""

    # Plain characters: emoji widths differ between terminals (and over SSH).
    ICON_NODE = "▶ "
    ICON_NODE_EXPANDED = "▼ "
    ICON_FILE = "  "

    BINDINGS = [
        Binding("backspace", "parent_folder", "Up a folder", id="batch.parent_folder",
                tooltip="Show the folder above this one in the file tree"),
    ]  # fmt: skip

    def __init__(self, path: Path, *, base: Path, id: str | None = None) -> None:
        self.base = base
        super().__init__(path, id=id)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith((".", "~$")):  # hidden files, Excel's lock files
                continue
            if _is_folder(path) or path.suffix.lower() in PICKER_SUFFIXES:
                yield path

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        rendered = super().render_label(node, base_style, style)
        if node is not self.root or not self.is_mounted:
            return rendered
        # The root shows the folder as the rest of the screen does (relative to the start).
        label = rendered[: len(rendered) - len(node.label)]
        folder_style = self.get_component_rich_style("directory-tree--folder", partial=True)
        label.append(display_path(self.folder, self.base), style=folder_style + style)
        return label

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def action_parent_folder(self) -> None:
        parent = self.folder.parent
        if parent != self.folder:
            self.path = parent


@dataclass(frozen=True)
class ServerChoices:
    """Registered nodes by role, as the Transfer and Explorer screens get them."""

    query_sources: list[NodeInfo]
    transfer_sources: list[NodeInfo]
    destinations: list[NodeInfo]


def list_choices(db: Database) -> ServerChoices:
    with db.session() as session:
        nodes = node_roles.list_nodes(session)
    return ServerChoices(
        query_sources=node_roles.sources(nodes, node_roles.QUERY_SOURCE),
        transfer_sources=node_roles.sources(nodes, node_roles.TRANSFER_SOURCE),
        destinations=node_roles.destinations(nodes),
    )


@dataclass(frozen=True)
class JobRequest:
    path: Path
    kind: BatchKind
    source: str
    destination: str
    trial_protocol_id: str
    trial_protocol_name: str
    urgent: bool


class Checked(Message):
    """A file was read and checked: `result` is the batch, or the report of its problems."""

    def __init__(
        self,
        path: Path,
        kind: BatchKind,
        result: BatchFile | ValidationReport,
        *,
        at_start: bool = False,
    ) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.result = result
        self.at_start = at_start  # checked again by Start, which then created nothing


class JobStarted(Message):
    def __init__(self, job_id: int, batch: BatchFile, request: JobRequest) -> None:
        super().__init__()
        self.job_id = job_id
        self.batch = batch
        self.request = request


def batch_summary(batch: BatchFile) -> str:
    """What a valid file will queue."""
    lines = len(batch.rows)
    line_noun = "line" if lines == 1 else "lines"
    if isinstance(batch, QueryBatch):
        return f"{lines} {line_noun}, one search each"
    groups = group_by_study(batch.rows)
    pseudonymized = sum(1 for g in groups if g.pseudonym)
    study_noun = "study" if len(groups) == 1 else "studies"
    text = (
        f"{lines} {line_noun} → {len(groups)} {study_noun} "
        f"({pseudonymized} pseudonymized, {len(groups) - pseudonymized} unchanged)"
    )
    if batch.skipped:
        skipped = len(batch.skipped)
        text += f"; {skipped} {'line' if skipped == 1 else 'lines'} without a study skipped"
    return text


class TemplateModal(SaveFileModal):
    """Where to write an example batch file (`adit batch template` in the app)."""

    def __init__(self, kind: BatchKind, default: str, *, base: Path) -> None:
        super().__init__(
            f"Write a {kind.label} template",
            default,
            f"An example {kind.label} file with every column and a few rows; ID columns "
            "are text cells, and the .xlsx has a Help sheet. Replace the example rows with "
            "yours, then pick the file here.",
            base=base,
        )
        self.kind = kind

    def write(self, path: Path) -> str:
        write_template(self.kind, path)
        return f"Wrote {path}: replace the example rows with yours."


class BatchScreen(AditScreen[None]):
    """The Batch mode's screen. `directory` is where the file tree starts (default: cwd)."""

    SUB_TITLE = "Batch"
    COMMAND_SCOPE = "batch"
    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    BatchScreen #top { height: 40%; min-height: 12; }
    BatchScreen .panel {
        border: round $primary 50%;
        border-title-color: $text-accent;
        padding: 0 1;
    }
    BatchScreen .panel:focus-within { border: round $primary; }
    BatchScreen #file-panel { width: 1fr; }
    BatchScreen #job-panel { width: 46; }
    BatchScreen .row { height: 1; }
    BatchScreen .row Label { width: 11; color: $text-muted; }
    BatchScreen .row Input, BatchScreen .row Select { width: 1fr; }
    BatchScreen Input.-invalid { color: $text-error; }
    BatchScreen #kind { layout: horizontal; width: auto; }
    BatchScreen #kind RadioButton { width: auto; margin-right: 2; }
    BatchScreen .field-error { color: $text-error; height: auto; padding-left: 11; }
    BatchScreen #path-error { padding-left: 0; }
    BatchScreen .field-error.-ok { display: none; }
    BatchScreen.-query .transfer-only { display: none; }
    BatchScreen #files { height: 1fr; background: $surface; }
    BatchScreen #buttons { height: 1; margin-top: 1; }
    BatchScreen #buttons Button { width: 1fr; margin-right: 1; }
    BatchScreen #buttons #start { margin-right: 0; }
    BatchScreen #summary { height: auto; max-height: 3; padding: 0 1; }
    BatchScreen #summary.-valid { color: $text-success; }
    BatchScreen #summary.-invalid { color: $text-error; }
    BatchScreen #report { height: 1fr; }
    BatchScreen #report DataTable {
        height: 1fr;
        border: round $panel;
        border-title-align: left;
    }
    BatchScreen #report DataTable:focus { border: round $primary; }
    BatchScreen #report DataTable.-empty { display: none; }
    """

    BINDINGS = [
        Binding("ctrl+l", "focus_path", "Path", id="batch.path",
                tooltip="Type the path of a batch file (or a folder to show in the tree)"),
        Binding("ctrl+b", "toggle_kind", "Query/Transfer", id="batch.kind",
                tooltip="Switch between batch query and batch transfer (checks the file again)"),
        Binding("ctrl+r", "check", "Check", id="batch.check",
                tooltip="Read the file again and list every problem in it"),
        Binding("ctrl+s", "start", "Start", id="batch.start",
                tooltip="Create the job from the checked file and open it in the Jobs mode"),
        Binding("ctrl+n", "template", "Template…", id="batch.template",
                tooltip="Write an example batch file of the chosen kind to fill in"),
        Binding("escape", "cancel", "Cancel", id="batch.cancel",
                tooltip="Stop checking the file"),
        Binding("ctrl+g", "focus_servers", "Servers", id="batch.servers", show=False,
                tooltip="Go to the source, destination and options"),
        Binding("ctrl+o", "focus_report", "Report", id="batch.report", show=False,
                tooltip="Go to the list of problems"),
    ]  # fmt: skip

    valid: reactive[bool] = reactive(False, bindings=True)
    # "" (idle), "checking" (the file is being read) or "starting" (the job is created)
    activity: reactive[str] = reactive("", bindings=True)

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__()
        self.base = (directory or Path.cwd()).resolve()
        self.kind = BatchKind.QUERY
        self.chosen: Path | None = None  # the file being (or last) checked
        self.valid_batch: BatchFile | None = None  # the valid result for (chosen, kind)
        self.report: ValidationReport | None = None
        self.choices = ServerChoices([], [], [])
        self.add_class("-query")

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield app_header(self.app, "batch")
        with Horizontal(id="top"):
            with Vertical(id="file-panel", classes="panel"):
                with Horizontal(classes="row"):
                    yield Label("Path")
                    yield FormInput(
                        id="path",
                        placeholder="cohort.xlsx, ~/lists/found.csv or a folder",
                        validators=[BatchPathValidator(self.base)],
                    )
                yield Static("", id="path-error", classes="field-error -ok")
                yield BatchFileTree(self.base, base=self.base, id="files")
            with Vertical(id="job-panel", classes="panel"):
                with Horizontal(classes="row"):
                    yield Label("Kind")
                    with RadioSet(id="kind", compact=True):
                        yield RadioButton("Query", value=True, id="kind-query")
                        yield RadioButton("Transfer", id="kind-transfer")
                with Horizontal(classes="row"):
                    yield Label("Source")
                    yield Select[str]([], id="source", compact=True, prompt="choose a server")
                yield Static("", id="source-error", classes="field-error -ok")
                with Horizontal(classes="row transfer-only"):
                    yield Label("To")
                    yield Select[str](
                        [], id="destination", compact=True, prompt="choose a destination"
                    )
                yield Static("", id="destination-error", classes="field-error -ok transfer-only")
                labels = {"trial_protocol_id": "Trial ID", "trial_protocol_name": "Trial name"}
                for name, rule in TRIAL_FIELDS.items():
                    with Horizontal(classes="row transfer-only"):
                        yield Label(labels[name])
                        yield FormInput(
                            id=name,
                            classes="trial",
                            validators=[RuleValidator(rule.problem)],
                        )
                    yield Static("", id=f"{name}-error", classes="field-error -ok transfer-only")
                yield Checkbox("Urgent (runs first)", id="urgent", compact=True)
                with Horizontal(id="buttons"):
                    yield Button("Check ^r", id="check", compact=True)
                    yield Button(
                        "Start ^s", id="start", variant="primary", compact=True, disabled=True
                    )
        yield Static("", id="summary")
        with Vertical(id="report"):
            yield ReportTable("Problem", id="problems")
            yield ReportTable("Warning or note", id="warnings", classes="-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#file-panel").border_title = "File"
        self.query_one("#job-panel").border_title = "Job"
        self._show_tables()
        self._set_summary(
            "Choose a batch file (.xlsx or .csv): Enter on it in the tree, or type its path. "
            "No file yet? ctrl+n writes a template.",
            "",
        )
        self.query_one("#files", BatchFileTree).focus()
        self._load_servers()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self._load_servers()

    @property
    def files(self) -> BatchFileTree:
        return self.query_one("#files", BatchFileTree)

    @property
    def path_input(self) -> Input:
        return self.query_one("#path", Input)

    # -- servers -------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="batch-servers", exit_on_error=False,
          description="Cannot list the servers")  # fmt: skip
    def _load_servers(self) -> ServerChoices:
        return list_choices(self.context.db)

    def _fill_servers(self) -> None:
        sources = [
            node.name
            for node in (
                self.choices.query_sources
                if self.kind is BatchKind.QUERY
                else self.choices.transfer_sources
            )
        ]
        source = self.query_one("#source", Select)
        current = self._value(source)
        with self.prevent(Select.Changed):
            source.set_options([(name, name) for name in sources])
            if current in sources:
                source.value = current
            elif len(sources) == 1:
                source.value = sources[0]
        if not sources:
            what = "searched" if self.kind is BatchKind.QUERY else "searched and retrieved from"
            self.show_field_error(
                "source", f"No server can be {what}: add one in the Servers mode."
            )
        else:
            self.show_field_error("source", "")
        self._fill_destinations()

    def _fill_destinations(self) -> None:
        source = self._value(self.query_one("#source", Select))
        options = [(n.label, n.name) for n in self.choices.destinations if n.name != source]
        destination = self.query_one("#destination", Select)
        current = self._value(destination)
        with self.prevent(Select.Changed):
            destination.set_options(options)
            if current in [name for _label, name in options]:
                destination.value = current
        self.show_field_error(
            "destination",
            "" if options else "No destination: add a server or folder in the Servers mode.",
        )

    @on(Select.Changed, "#source")
    def _source_changed(self, event: Select.Changed) -> None:
        if event.value != Select.NULL:
            self.show_field_error("source", "")
        self._fill_destinations()

    @on(Select.Changed, "#destination")
    def _destination_changed(self, event: Select.Changed) -> None:
        if event.value != Select.NULL:
            self.show_field_error("destination", "")

    @staticmethod
    def _value(select: Select[str]) -> str | None:
        return None if select.value == Select.NULL else str(select.value)

    def show_field_error(self, name: str, text: str) -> None:
        line = self.query_one(f"#{name}-error", Static)
        line.update(Text(text))
        line.set_class(not text, "-ok")

    # -- choosing a file -----------------------------------------------------------------

    @on(DirectoryTree.FileSelected, "#files")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        with self.prevent(Input.Changed):
            self.path_input.value = display_path(event.path, self.base)
        self.show_field_error("path", "")
        self.choose(event.path)

    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        message = validation_message(event.validation_result) if event.value else ""
        self.show_field_error("path", message)
        if self.chosen is not None and resolve_path(event.value, self.base) != self.chosen:
            self._stale()

    @on(Input.Changed, ".trial")
    def _trial_changed(self, event: Input.Changed) -> None:
        self.show_field_error(event.input.id or "", validation_message(event.validation_result))

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        problem = check_batch_path(event.value, self.base)
        if problem:
            self.show_field_error("path", problem)
            return
        path = resolve_path(event.value, self.base)
        if path.is_dir():
            self.files.path = path
            self.files.focus()
            return
        self.choose(path)

    def choose(self, path: Path) -> None:
        """Check `path` as a file of the chosen kind."""
        self.chosen = path
        self.action_check()

    def _stale(self) -> None:
        """The path field no longer names the checked file: nothing can be started."""
        self._stop_checking()
        self.valid_batch = None
        self.valid = False
        self.chosen = None
        self.report = None
        self._show_tables()
        self._set_summary("Press Enter in the path field to check that file.", "")

    # -- kind ----------------------------------------------------------------------------

    @on(RadioSet.Changed, "#kind")
    def _kind_changed(self, event: RadioSet.Changed) -> None:
        kind = BatchKind.TRANSFER if event.pressed.id == "kind-transfer" else BatchKind.QUERY
        if kind is self.kind:
            return
        self.kind = kind
        self.set_class(kind is BatchKind.QUERY, "-query")
        self._fill_servers()
        if self.chosen is not None:
            self.action_check()

    def action_toggle_kind(self) -> None:
        target = "#kind-transfer" if self.kind is BatchKind.QUERY else "#kind-query"
        self.query_one(target, RadioButton).value = True

    # -- checking ------------------------------------------------------------------------

    def action_check(self) -> None:
        if self.activity == "starting":
            return  # the job is being created from the file as checked
        if self.chosen is None:
            problem = check_batch_path(self.path_input.value, self.base)
            if problem:
                self.show_field_error("path", problem)
                self.notify(
                    "Choose a file first: Enter on it in the tree, or type its path.",
                    title="Nothing to check",
                    severity="warning",
                    markup=False,
                )
                return
            path = resolve_path(self.path_input.value, self.base)
            if path.is_dir():
                self.files.path = path
                self.files.focus()
                return
            self.chosen = path
        self.valid_batch = None
        self.valid = False
        self.activity = "checking"
        self.query_one("#report").loading = True
        self._set_summary(f"Checking {self.chosen.name} as a {self.kind.label} file…", "")
        self._check(self.chosen, self.kind)

    @work(thread=True, exclusive=True, group="batch-check", exit_on_error=False,
          description="Cannot check the file")  # fmt: skip
    def _check(self, path: Path, kind: BatchKind) -> None:
        result = validate_file(path, kind)
        if not get_current_worker().is_cancelled:
            self.post_message(Checked(path, kind, result))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        if event.at_start:
            self.activity = ""
        if event.path != self.chosen or event.kind is not self.kind:
            return  # an answer for a file or kind no longer chosen
        self._stop_checking()
        self.show_result(event.result)

    def show_result(self, result: BatchFile | ValidationReport) -> None:
        name = result.path.name
        if isinstance(result, ValidationReport):
            self.report, self.valid_batch = result, None
            self.valid = False
            count = len(result.problems)
            noun = "problem" if count == 1 else "problems"
            self._set_summary(
                f"✗ {name} is not a valid {result.kind.label} file: {count:,} {noun}, each "
                "listed below with its line and column. Nothing can be started; fix the "
                "file, then check it again (ctrl+r).",
                "-invalid",
            )
            self._show_tables(result.problems, result.warnings)
            return
        self.report, self.valid_batch = None, result
        self.valid = True
        notes = result.skipped if isinstance(result, TransferBatch) else []
        extra = ""
        if result.warnings:
            count = len(result.warnings)
            extra = f" {count} {'warning' if count == 1 else 'warnings'} below."
        self._set_summary(
            f"✓ {name} is a valid {result.kind.label} file: {batch_summary(result)}. "
            f"Start (ctrl+s) creates the job.{extra}",
            "-valid",
        )
        self._show_tables([], result.warnings, notes)

    def _set_summary(self, text: str, state: str) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(Text(text))
        summary.set_class(state == "-valid", "-valid")
        summary.set_class(state == "-invalid", "-invalid")

    def _show_tables(
        self,
        problems: list[Problem] | None = None,
        warnings: list[Problem] | None = None,
        notes: list[Problem] | None = None,
    ) -> None:
        """Every problem in one table; warnings and notes in the other."""
        problems, warnings, notes = problems or [], warnings or [], notes or []
        table = self.query_one("#problems", ReportTable)
        table.border_title = f"Problems ({len(problems):,})"
        table.show([report_row(p) for p in problems])
        others = self.query_one("#warnings", ReportTable)
        parts = []
        if warnings:
            parts.append(f"{len(warnings):,} {'warning' if len(warnings) == 1 else 'warnings'}")
        if notes:
            parts.append(f"{len(notes):,} {'note' if len(notes) == 1 else 'notes'}")
        others.border_title = "Warnings and notes (" + ", ".join(parts) + ")"
        others.set_class(not parts, "-empty")
        # A valid file with warnings: the empty problem list would only take their room.
        table.set_class(not problems and bool(parts), "-empty")
        other_rows = [report_row(w, "warning: ", "bold") for w in warnings]
        other_rows += [report_row(n, "note: ", "italic") for n in notes]
        others.show(other_rows)

    def watch_valid(self) -> None:
        self._update_buttons()

    def watch_activity(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self.is_mounted:
            self.query_one("#start", Button).disabled = not self.valid or bool(self.activity)
            self.query_one("#check", Button).disabled = self.activity == "starting"

    def _stop_checking(self) -> None:
        if self.activity == "checking":
            self.workers.cancel_group(self, "batch-check")
            self.activity = ""
        self.query_one("#report").loading = False

    def action_cancel(self) -> None:
        if self.activity != "checking":
            return
        self._stop_checking()
        self.valid_batch = None
        self.valid = False
        self._set_summary("Check cancelled. ctrl+r checks the file again.", "")

    # -- starting ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return True if self.valid and not self.activity else None
        if action == "check":
            return None if self.activity == "starting" else True
        if action == "cancel":
            return self.activity == "checking"
        return True

    @on(Button.Pressed, "#check")
    def _check_pressed(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        request = self.job_request()
        if request is None:
            return
        self.activity = "starting"
        self._set_summary(f"Creating the {self.kind.label} job from {request.path.name}…", "")
        self._start(request)

    def job_request(self) -> JobRequest | None:
        """The job as the screen describes it, or None after saying what is missing."""
        if self.activity:
            return None
        if not self.valid or self.valid_batch is None or self.chosen is None:
            self.notify(
                "Choose a file and let it be checked first; only a valid file can be started.",
                title="Nothing to start",
                severity="warning",
                markup=False,
            )
            return None
        source = self._value(self.query_one("#source", Select))
        if source is None:
            self.show_field_error("source", "Choose the server to read from.")
            self.query_one("#source").focus()
            return None
        destination = ""
        trial = {name: "" for name in TRIAL_FIELDS}
        if self.kind is BatchKind.TRANSFER:
            destination = self._value(self.query_one("#destination", Select)) or ""
            if not destination:
                self.show_field_error("destination", "Choose where the studies go.")
                self.query_one("#destination").focus()
                return None
            for name, rule in TRIAL_FIELDS.items():
                field = self.query_one(f"#{name}", Input)
                problem = rule.problem(field.value)
                if problem is not None:
                    self.show_field_error(name, problem)
                    field.focus()
                    return None
                trial[name] = field.value.strip()
        return JobRequest(
            path=self.chosen,
            kind=self.kind,
            source=source,
            destination=destination,
            urgent=self.query_one("#urgent", Checkbox).value,
            **trial,
        )

    @work(thread=True, exclusive=True, group="batch-start", exit_on_error=False,
          description="The job was not created")  # fmt: skip
    def _start(self, request: JobRequest) -> None:
        # Checked again: the file may have changed since the report was shown.
        result = validate_file(request.path, request.kind)
        if isinstance(result, ValidationReport):
            self.post_message(Checked(request.path, request.kind, result, at_start=True))
            self.app.notify(
                f"{request.path.name} changed since it was checked and now has problems; "
                "nothing was queued.",
                title="The job was not created",
                severity="error",
                markup=False,
            )
            return
        with self.context.db.session() as session:
            if isinstance(result, QueryBatch):
                job = create_batch_query_job(
                    session, result, source=request.source, urgent=request.urgent
                )
            else:
                job = create_batch_transfer_job(
                    session,
                    result,
                    source=request.source,
                    destination=request.destination,
                    trial_protocol_id=request.trial_protocol_id,
                    trial_protocol_name=request.trial_protocol_name,
                    urgent=request.urgent,
                )
            job_id = int(job.id)
        self.post_message(JobStarted(job_id, result, request))

    @on(JobStarted)
    def _job_started(self, event: JobStarted) -> None:
        self.activity = ""
        self.valid_batch = None
        self.valid = False
        request = event.request
        where = request.source
        if request.kind is BatchKind.TRANSFER:
            where = f"{request.source} → {request.destination}"
        self._set_summary(
            f"Job {event.job_id} created from {request.path.name} ({where}). "
            "ctrl+r checks the file again to queue it once more.",
            "",
        )
        self.notify(
            f"Job {event.job_id}: {batch_summary(event.batch)}, {where}. Workers will pick it up.",
            title=f"{request.kind.label.capitalize()} job created",
            markup=False,
        )
        self.context.navigator.show_job(event.job_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "batch-servers" and event.state is WorkerState.SUCCESS:
            self.choices = worker.result or ServerChoices([], [], [])
            self._fill_servers()
        if event.state is not WorkerState.ERROR:
            return
        cause = error_text(worker.error)
        if worker.group == "batch-check":
            self._stop_checking()
            self._set_summary(f"✗ Cannot check the file: {cause}", "-invalid")
        elif worker.group == "batch-start":
            self.activity = ""
            self._set_summary(f"✗ The job was not created: {cause}", "-invalid")

    # -- template and focus --------------------------------------------------------------

    def action_template(self) -> None:
        name = f"batch_{self.kind.value}_template.xlsx"
        default = display_path(self.files.folder / name, self.base)
        self.app.push_screen(TemplateModal(self.kind, default, base=self.base), self._template_done)

    def _template_done(self, path: Path | None) -> None:
        if path is not None:
            self.files.reload()

    def action_focus_path(self) -> None:
        self.path_input.focus()

    def action_focus_servers(self) -> None:
        self.query_one("#source", Select).focus()

    def action_focus_report(self) -> None:
        warnings = self.query_one("#warnings", ReportTable)
        problems = self.query_one("#problems", ReportTable)
        target = warnings if problems.row_count == 0 and warnings.row_count else problems
        target.focus()
