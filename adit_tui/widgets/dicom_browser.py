"""Search a server and browse patient → study → series → instance, loading lazily.

`DicomBrowser` holds the search form, the result tree and a status line, and runs every
query of its own in thread workers (one exclusive group for the search, one per tree node
for its children), so the screen never freezes and a query can always be cancelled.
The Explorer uses it as it is; the Transfer mode uses it with `selectable=True`, where
space marks studies (or series of a study) for transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core import node_roles
from adit_tui import services
from adit_tui.context import context_of
from adit_tui.errors import ReportsWorkerErrors
from adit_tui.services import (
    InstanceRecord,
    Listing,
    PatientRecord,
    SearchCriteria,
    SearchOutcome,
    Selection,
    SeriesRecord,
    StudyRecord,
)
from adit_tui.widgets.search_form import SearchForm


@dataclass(frozen=True)
class Note:
    """A line in the tree that is not a DICOM object: "loading…", "showing N of more"."""

    text: str
    loading: bool = False


def _date(value: date | None) -> str:
    return value.isoformat() if value else "no date"


def _count(value: int | None, what: str) -> str:
    if value is None:
        return ""
    return f"{value} {what}{'' if value == 1 else 's'}"


def patient_label(patient: PatientRecord, mark: str = "") -> Text:
    text = Text()
    if mark:
        text.append(mark + " ", style="bold")
    text.append(patient.patient_name or "(no name)", style="bold")
    text.append(f"  {patient.patient_id}", style="cyan")
    if patient.birth_date:
        text.append(f"  *{patient.birth_date.isoformat()}", style="dim")
    if patient.sex:
        text.append(f" {patient.sex}", style="dim")
    text.append(f"  {_count(len(patient.studies), 'study').replace('studys', 'studies')}")
    return text


def study_label(study: StudyRecord, mark: str = "") -> Text:
    text = Text()
    if mark:
        text.append(mark + " ", style="bold")
    text.append(_date(study.study_date))
    if study.time_text:
        text.append(f" {study.time_text}", style="dim")
    if study.modalities:
        text.append(f"  {','.join(study.modalities)}", style="bold magenta")
    text.append(f"  {study.description or '(no description)'}")
    counts = ", ".join(
        c for c in (_count(study.series_count, "series").replace("seriess", "series"),) if c
    )
    if counts:
        text.append(f"  {counts}", style="dim")
    return text


def series_label(series: SeriesRecord, mark: str = "") -> Text:
    text = Text()
    if mark:
        text.append(mark + " ", style="bold")
    number = "?" if series.number is None else str(series.number)
    text.append(f"#{number} ")
    text.append(series.modality or "--", style="bold magenta")
    text.append(f"  {series.description or '(no description)'}")
    if series.instance_count is not None:
        text.append(f"  {_count(series.instance_count, 'instance')}", style="dim")
    return text


def instance_label(instance: InstanceRecord) -> Text:
    text = Text()
    number = "?" if instance.number is None else str(instance.number)
    text.append(f"#{number}  ")
    text.append(instance.sop_class_name, style="dim")
    return text


def note_label(note: Note) -> Text:
    return Text(note.text, style="italic dim" if note.loading else "italic yellow")


def describe(data: object) -> Text:
    """Everything worth knowing about a tree node, for the detail line."""
    text = Text()

    def field(name: str, value: object) -> None:
        if value in (None, ""):
            return
        if text:
            text.append("  ")
        text.append(f"{name} ", style="dim")
        text.append(str(value))

    if isinstance(data, PatientRecord):
        field("Patient", data.patient_name)
        field("ID", data.patient_id)
        field("born", data.birth_date.isoformat() if data.birth_date else "")
        field("sex", data.sex)
        field("studies found", len(data.studies))
    elif isinstance(data, StudyRecord):
        field("Study", data.description or "(no description)")
        field("date", _date(data.study_date))
        field("accession", data.accession_number)
        field("modalities", ",".join(data.modalities))
        field("series", data.series_count)
        field("instances", data.instance_count)
        field("UID", data.study_uid)
    elif isinstance(data, SeriesRecord):
        field("Series", data.number)
        field("modality", data.modality)
        field("description", data.description)
        field("instances", data.instance_count)
        field("UID", data.series_uid)
    elif isinstance(data, InstanceRecord):
        field("Instance", data.number)
        field("class", data.sop_class_name)
        field("UID", data.sop_uid)
        text.append("  (enter: tags)", style="dim")
    elif isinstance(data, Note):
        text.append(data.text, style="italic")
    return text


class DicomTree(Tree[object]):
    """The result tree. Children of studies and series load when first expanded."""

    DEFAULT_CSS = """
    DicomTree {
        height: 1fr;
        border: round $primary 50%;
        padding: 0 1;
        scrollbar-size-horizontal: 0;
    }
    DicomTree:focus { border: round $primary; }
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down", tooltip="Next line"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up", tooltip="Previous line"),
        Binding("g,home", "scroll_home", "First", show=False, id="tree.first",
                tooltip="Go to the first line"),
        Binding("G,end", "scroll_end", "Last", show=False, id="tree.last",
                tooltip="Go to the last line"),
        Binding("l,right", "expand", "Open", show=False, id="tree.expand",
                tooltip="Open the node and load its children"),
        Binding("h,left", "collapse", "Close", show=False, id="tree.collapse",
                tooltip="Close the node, or go to its parent"),
        Binding("y", "copy_uid", "Copy UID", id="tree.copy_uid", show=False,
                tooltip="Copy the UID (or PatientID) of this line to the clipboard"),
    ]  # fmt: skip

    class LoadRequested(Message):
        def __init__(self, tree: DicomTree, node: TreeNode[object]) -> None:
            super().__init__()
            self.tree = tree
            self.node = node

    class InstanceChosen(Message):
        def __init__(self, instance: InstanceRecord) -> None:
            super().__init__()
            self.instance = instance

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("results", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.loaded: set[int] = set()  # node ids whose children are loaded

    # -- building ------------------------------------------------------------------------

    def show_outcome(self, outcome: SearchOutcome) -> None:
        self.clear()
        self.loaded.clear()
        for patient in outcome.patients:
            node = self.root.add(self.label_for(patient), data=patient, expand=False)
            for study in patient.studies:
                node.add(self.label_for(study), data=study, allow_expand=True)
            self.loaded.add(node.id)
        if outcome.truncated:
            self.root.add_leaf(
                note_label(Note(self._more_text(outcome.study_count, "studies"))),
                data=Note(self._more_text(outcome.study_count, "studies")),
            )
        if len(outcome.patients) == 1:
            self.root.children[0].expand()
        self.move_cursor(self.root.children[0] if self.root.children else None)

    @staticmethod
    def _more_text(count: int, what: str) -> str:
        return f"showing {count} of more {what}: the server's limit; narrow the search"

    def show_message(self, text: str) -> None:
        self.clear()
        self.loaded.clear()
        self.root.add_leaf(note_label(Note(text)), data=Note(text))

    def label_for(self, data: object) -> Text:
        if isinstance(data, PatientRecord):
            return patient_label(data)
        if isinstance(data, StudyRecord):
            return study_label(data)
        if isinstance(data, SeriesRecord):
            return series_label(data)
        if isinstance(data, InstanceRecord):
            return instance_label(data)
        if isinstance(data, Note):
            return note_label(data)
        return Text(str(data))

    def start_loading(self, node: TreeNode[object]) -> None:
        node.remove_children()
        note = Note("loading…", loading=True)
        node.add_leaf(note_label(note), data=note)

    def fill(self, node: TreeNode[object], listing: Listing) -> None:
        node.remove_children()
        self.loaded.add(node.id)
        for item in listing.items:
            if isinstance(item, SeriesRecord):
                node.add(self.label_for(item), data=item, allow_expand=True)
            else:
                node.add_leaf(self.label_for(item), data=item)
        if listing.truncated:
            what = "series" if isinstance(node.data, StudyRecord) else "instances"
            note = Note(self._more_text(len(listing.items), what))
            node.add_leaf(note_label(note), data=note)
        if not listing.items:
            note = Note("nothing found at this level")
            node.add_leaf(note_label(note), data=note)

    def reset_node(self, node: TreeNode[object], text: str | None = None) -> None:
        """A load that did not finish: close the node so that opening it tries again."""
        node.remove_children()
        self.loaded.discard(node.id)
        if text:
            note = Note(text)
            node.add_leaf(note_label(note), data=note)
        else:
            node.collapse()

    # -- events --------------------------------------------------------------------------

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[object]) -> None:
        node = event.node
        if node.id in self.loaded or not isinstance(node.data, (StudyRecord, SeriesRecord)):
            return
        if node.children and isinstance(node.children[0].data, Note):
            if node.children[0].data.loading:
                return  # already on its way
        self.start_loading(node)
        self.post_message(self.LoadRequested(self, node))

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[object]) -> None:
        node = event.node
        if isinstance(node.data, InstanceRecord):
            event.stop()
            self.post_message(self.InstanceChosen(node.data))
        elif node.allow_expand:
            node.toggle()

    # -- actions -------------------------------------------------------------------------

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_copy_uid(self) -> None:
        data = self.cursor_node.data if self.cursor_node else None
        value = ""
        if isinstance(data, PatientRecord):
            value = data.patient_id
        elif isinstance(data, StudyRecord):
            value = data.study_uid
        elif isinstance(data, SeriesRecord):
            value = data.series_uid
        elif isinstance(data, InstanceRecord):
            value = data.sop_uid
        if value:
            self.app.copy_to_clipboard(value)
            self.notify(f"copied {value}", timeout=2)


class SelectableDicomTree(DicomTree):
    """The tree with marks: space toggles a patient's studies, a study, or one series."""

    BINDINGS = [
        Binding("space", "toggle_node", "Select", id="transfer.toggle",
                tooltip="Mark or unmark the study (or series) for transfer"),
        Binding("a", "toggle_all", "All", id="transfer.toggle_all", show=False,
                tooltip="Mark every study found, or unmark all"),
    ]  # fmt: skip

    class SelectionChanged(Message):
        def __init__(self, tree: SelectableDicomTree) -> None:
            super().__init__()
            self.tree = tree

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selection: dict[str, Selection] = {}

    def label_for(self, data: object) -> Text:
        if isinstance(data, PatientRecord):
            studies = [self.selection.get(s.study_uid) for s in data.studies]
            if all(studies):
                mark = "[x]" if all(s and s.whole for s in studies) else "[~]"
            else:
                mark = "[~]" if any(studies) else "[ ]"
            return patient_label(data, mark)
        if isinstance(data, StudyRecord):
            chosen = self.selection.get(data.study_uid)
            mark = "[ ]" if chosen is None else ("[x]" if chosen.whole else "[~]")
            return study_label(data, mark)
        if isinstance(data, SeriesRecord):
            chosen = self.selection.get(data.study_uid)
            marked = chosen is not None and (chosen.whole or data.series_uid in chosen.series)
            return series_label(data, "[x]" if marked else "[ ]")
        return super().label_for(data)

    def show_outcome(self, outcome: SearchOutcome) -> None:
        self.selection.clear()
        super().show_outcome(outcome)
        self.post_message(self.SelectionChanged(self))

    def mark(self, selections: list[Selection]) -> None:
        """Mark these (studies found by the current search; others are ignored)."""
        shown = {n.data.study_uid for n in self._study_nodes() if isinstance(n.data, StudyRecord)}
        for selection in selections:
            if selection.study.study_uid in shown:
                self.selection[selection.study.study_uid] = selection
        self._relabel()
        self.post_message(self.SelectionChanged(self))

    def clear_selection(self) -> None:
        self.selection.clear()
        self._relabel()
        self.post_message(self.SelectionChanged(self))

    def _relabel(self) -> None:
        def walk(node: TreeNode[object]) -> None:
            for child in node.children:
                if isinstance(child.data, (PatientRecord, StudyRecord, SeriesRecord)):
                    child.set_label(self.label_for(child.data))
                walk(child)

        walk(self.root)

    def _study_series(self, study_uid: str) -> list[SeriesRecord]:
        for node in self._study_nodes():
            if isinstance(node.data, StudyRecord) and node.data.study_uid == study_uid:
                return [c.data for c in node.children if isinstance(c.data, SeriesRecord)]
        return []

    def _study_nodes(self) -> list[TreeNode[object]]:
        return [s for p in self.root.children for s in p.children]

    def action_toggle_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        data = node.data
        if isinstance(data, PatientRecord):
            if all(s.study_uid in self.selection for s in data.studies):
                for study in data.studies:
                    self.selection.pop(study.study_uid, None)
            else:
                for study in data.studies:
                    self.selection[study.study_uid] = Selection(study)
        elif isinstance(data, StudyRecord):
            if data.study_uid in self.selection:
                del self.selection[data.study_uid]
            else:
                self.selection[data.study_uid] = Selection(data)
        elif isinstance(data, SeriesRecord):
            parent = node.parent.data if node.parent is not None else None
            if not isinstance(parent, StudyRecord):
                return
            chosen = self.selection.get(parent.study_uid)
            if chosen is None:
                self.selection[parent.study_uid] = Selection(parent, {data.series_uid: data})
            elif chosen.whole:
                # The whole study was marked: keep every series but this one.
                rest = {s.series_uid: s for s in self._study_series(parent.study_uid)}
                rest.pop(data.series_uid, None)
                if rest:
                    chosen.series = rest
                else:
                    del self.selection[parent.study_uid]
            elif data.series_uid in chosen.series:
                del chosen.series[data.series_uid]
                if not chosen.series:
                    del self.selection[parent.study_uid]
            else:
                chosen.series[data.series_uid] = data
                if len(chosen.series) == len(self._study_series(parent.study_uid)):
                    chosen.series = {}  # every series: the whole study
        else:
            return
        self._relabel()
        self.post_message(self.SelectionChanged(self))

    def action_toggle_all(self) -> None:
        studies = [n.data for n in self._study_nodes() if isinstance(n.data, StudyRecord)]
        if studies and all(s.study_uid in self.selection for s in studies):
            self.selection.clear()
        else:
            for study in studies:
                self.selection.setdefault(study.study_uid, Selection(study))
        self._relabel()
        self.post_message(self.SelectionChanged(self))


class DicomBrowser(ReportsWorkerErrors, Vertical):
    """Search form, result tree and status line, with the workers that feed them."""

    DEFAULT_CSS = """
    DicomBrowser { height: 1fr; }
    DicomBrowser #browser-body { height: 1fr; }
    DicomBrowser #status { height: 1; padding: 0 1; color: $text-muted; }
    DicomBrowser #status.-error { color: $text-error; }
    """

    busy: reactive[bool] = reactive(False, bindings=True)

    class SearchDone(Message):
        def __init__(self, browser: DicomBrowser, outcome: SearchOutcome) -> None:
            super().__init__()
            self.browser = browser
            self.outcome = outcome

    def __init__(
        self,
        *,
        selectable: bool = False,
        need_retrieve: bool = False,
        side: Widget | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.selectable = selectable
        self.need_retrieve = need_retrieve
        self.side = side
        self.server: str | None = None  # the server the current results come from
        self._loads: dict[str, TreeNode[object]] = {}
        self._search_worker: Worker[SearchOutcome] | None = None

    def compose(self) -> ComposeResult:
        label = "Source" if self.selectable else "Server"
        yield SearchForm(title="Search", server_label=label, id="search-form")
        tree = SelectableDicomTree(id="results") if self.selectable else DicomTree(id="results")
        tree.border_title = "Results"
        with Horizontal(id="browser-body"):
            yield tree
            if self.side is not None:
                yield self.side
        yield Static("Choose a server, type what you know, press Enter.", id="status")

    def on_mount(self) -> None:
        self.query_one(DicomTree).show_message("No search yet.")
        self.reload_servers()

    @property
    def form(self) -> SearchForm:
        return self.query_one(SearchForm)

    @property
    def results(self) -> DicomTree:
        return self.query_one(DicomTree)

    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(error, "-error")

    # -- servers -------------------------------------------------------------------------

    def reload_servers(self) -> None:
        self.run_worker(
            self._load_servers,
            thread=True,
            exclusive=True,
            group="servers",
            exit_on_error=False,
            description="Cannot list servers",
        )

    def _load_servers(self) -> list[services.NodeInfo]:
        needs = node_roles.TRANSFER_SOURCE if self.need_retrieve else node_roles.QUERY_SOURCE
        return services.list_sources(context_of(self).db, needs)

    # -- search --------------------------------------------------------------------------

    @on(SearchForm.Submitted)
    def _submitted(self, event: SearchForm.Submitted) -> None:
        event.stop()
        self.search(event.server, event.criteria)

    def search(self, server: str, criteria: SearchCriteria) -> Worker[SearchOutcome]:
        self.cancel_loads()
        self.results.loading = True
        self.busy = True
        self.set_status(f"Searching {server}… (Esc cancels)")
        self._search_worker = self.run_worker(
            lambda: self._search(server, criteria),
            thread=True,
            exclusive=True,
            group="search",
            exit_on_error=False,
            description=f"Server {server}",
            name=server,
        )
        return self._search_worker

    def _search(self, server: str, criteria: SearchCriteria) -> SearchOutcome:
        return services.search_studies(context_of(self).db, server, criteria)

    # -- children ------------------------------------------------------------------------

    @on(DicomTree.LoadRequested)
    def _load_requested(self, event: DicomTree.LoadRequested) -> None:
        event.stop()
        node = event.node
        server = self.server
        if server is None:
            return
        data = node.data
        group = f"load-{node.id}"
        self._loads[group] = node
        self.busy = True
        db = context_of(self).db
        work: Callable[[], Listing]
        if isinstance(data, StudyRecord):
            study = data
            work = lambda: services.list_series(db, server, study)  # noqa: E731
        elif isinstance(data, SeriesRecord):
            series = data
            patient = node.parent.data if node.parent is not None else None
            patient_id = patient.patient_id if isinstance(patient, StudyRecord) else ""
            work = lambda: services.list_instances(db, server, series, patient_id)  # noqa: E731
        else:
            return
        self.run_worker(
            self._checked(work),
            thread=True,
            exclusive=True,
            group=group,
            exit_on_error=False,
            description=f"Server {server}",
            name=server,
        )

    @staticmethod
    def _checked(work: Callable[[], Listing]) -> Callable[[], Listing | None]:
        def run() -> Listing | None:
            result = work()
            if get_current_worker().is_cancelled:
                return None
            return result

        return run

    # -- cancel --------------------------------------------------------------------------

    def cancel_loads(self) -> None:
        for group, node in list(self._loads.items()):
            self.workers.cancel_group(self, group)
            self.results.reset_node(node)
        self._loads.clear()

    def cancel(self) -> bool:
        """Cancel every running query of this browser; returns whether there was one."""
        running = [
            w
            for w in self.workers
            if w.group != "servers" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        for worker in running:
            worker.cancel()
        return bool(running)

    # -- results -------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        state = event.state
        if state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        group = worker.group
        if group == "servers":
            if state is WorkerState.SUCCESS:
                self.form.set_servers(worker.result or [])
            return
        server = worker.name or "the server"
        if group == "search":
            if worker is not self._search_worker:
                return  # superseded by a newer search
            self.results.loading = False
            if state is WorkerState.SUCCESS and worker.result is not None:
                outcome: SearchOutcome = worker.result
                self.server = outcome.server
                self.results.show_outcome(outcome)
                self.results.border_title = f"Results from {outcome.server}"
                if not outcome.patients:
                    self.results.show_message("Nothing found.")
                self.set_status(outcome.summary)
                self.post_message(self.SearchDone(self, outcome))
            elif state is WorkerState.CANCELLED:
                self.set_status("Search cancelled.")
            elif state is WorkerState.ERROR:
                self.set_status(f"Search on {server} failed (see the notification).", error=True)
        elif group.startswith("load-"):
            node = self._loads.pop(group, None)
            if node is not None:
                if state is WorkerState.SUCCESS and worker.result is not None:
                    self.results.fill(node, worker.result)
                elif state is WorkerState.ERROR:
                    self.results.reset_node(node, "failed to load; close and open to try again")
                else:
                    self.results.reset_node(node)
                    self.set_status("Loading cancelled.")
        self.busy = any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.workers
            if w.group != "servers" and w is not worker
        )
