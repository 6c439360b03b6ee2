"""The Servers mode: registered DICOM servers and destination folders; add, edit, remove
(with confirmation) and C-ECHO."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import DescendantFocus, ScreenResume
from textual.message import Message
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from adit_core.dicom.server import Capability
from adit_core.redact import mask_url
from adit_tui.commands import ScreenCommands
from adit_tui.screens.base import AditScreen
from adit_tui.screens.confirm import ConfirmScreen
from adit_tui.screens.servers_form import FolderFormScreen, ServerFormScreen
from adit_tui.server_services import (
    FolderInfo,
    ServerInfo,
    echo_server,
    load_registry,
    remove_node,
)
from adit_tui.widgets.nav_table import Column, NavTable


class RegistryLoaded(Message, bubble=False):
    def __init__(self, servers: list[ServerInfo], folders: list[FolderInfo]) -> None:
        self.servers = servers
        self.folders = folders
        super().__init__()


class NodeRemoved(Message, bubble=False):
    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        super().__init__()


def _gb(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f} GB"


def server_cells(server: ServerInfo) -> dict[str, Text]:
    return {
        "name": Text(server.name, overflow="ellipsis", no_wrap=True),
        "ae_title": Text(server.ae_title),
        "host": Text(server.host, overflow="ellipsis", no_wrap=True),
        "port": Text(str(server.port), justify="right"),
        "web": Text("yes" if server.dicomweb_url else "-"),
        "caps": Text(server.capability_text, overflow="ellipsis", no_wrap=True),
    }


def folder_cells(folder: FolderInfo) -> dict[str, Text]:
    return {
        "name": Text(folder.name, overflow="ellipsis", no_wrap=True),
        "quota": Text(_gb(folder.quota_gb), justify="right"),
        "warn": Text(_gb(folder.warn_size_gb), justify="right"),
        "path": Text(folder.path, overflow="ellipsis", no_wrap=True),
    }


SERVER_COLUMNS = [
    Column("name", "Name", 14),
    Column("ae_title", "AE title", 16),
    Column("host", "Host", 18, drop=2),
    Column("port", "Port", 5, drop=1),
    Column("web", "Web", 3, drop=3),
    Column("caps", "Capabilities", None, width_min=14),
]
FOLDER_COLUMNS = [
    Column("name", "Name", 14),
    Column("quota", "Quota", 10, drop=1),
    Column("warn", "Warn at", 10, drop=2),
    Column("path", "Path", None, width_min=20),
]


class ServersScreen(AditScreen[None]):
    """Servers and folders, side by side with what the highlighted one is configured for."""

    COMMANDS = {ScreenCommands}
    COMMAND_SCOPE = "servers"

    DEFAULT_CSS = """
    ServersScreen .section {
        height: 1;
        background: $panel;
        padding: 0 1;
        text-style: bold;
    }
    ServersScreen #servers {
        height: 1fr;
    }
    ServersScreen #folders {
        height: 1fr;
        max-height: 40%;
    }
    ServersScreen #node-details {
        height: 4;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        border-top: solid $panel;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("a", "add_server", "Add server", id="servers.add_server",
                tooltip="Register a DICOM server"),
        Binding("f", "add_folder", "Add folder", id="servers.add_folder",
                tooltip="Register a destination folder"),
        Binding("e", "edit", "Edit", id="servers.edit",
                tooltip="Change the highlighted server or folder"),
        Binding("d,delete", "remove", "Remove", id="servers.remove",
                tooltip="Remove the highlighted server or folder (asks first)"),
        Binding("c", "echo", "C-ECHO", id="servers.echo",
                tooltip="Check that the highlighted server answers "
                        "(C-ECHO, or QIDO-RS for DICOMweb-only servers)"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="servers.reload",
                tooltip="Read the registry again"),
    ]  # fmt: skip

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.servers: dict[str, ServerInfo] = {}
        self.folders: dict[str, FolderInfo] = {}
        self.active = "servers"  # the table the keys act on
        self.echoing: set[str] = set()
        self.loaded_once = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="section"):
            yield Label("DICOM servers", id="servers-title")
        yield NavTable(id="servers")
        with Horizontal(classes="section"):
            yield Label("Destination folders", id="folders-title")
        yield NavTable(id="folders")
        yield Static("", id="node-details", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        servers = self.query_one("#servers", NavTable)
        servers.set_columns(SERVER_COLUMNS)
        self.query_one("#folders", NavTable).set_columns(FOLDER_COLUMNS)
        servers.loading = True
        servers.focus()
        self.reload()

    # -- data -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="servers-load", exit_on_error=False,
          description="Could not read the registry")  # fmt: skip
    def reload(self) -> None:
        servers, folders = load_registry(self.context.db)
        if not get_current_worker().is_cancelled:
            self.post_message(RegistryLoaded(servers, folders))

    def on_registry_loaded(self, message: RegistryLoaded) -> None:
        self.loaded_once = True
        self.servers = {s.name: s for s in message.servers}
        self.folders = {f.name: f for f in message.folders}
        servers = self.query_one("#servers", NavTable)
        servers.loading = False
        servers.sync_rows([(s.name, server_cells(s)) for s in message.servers])
        folders = self.query_one("#folders", NavTable)
        folders.sync_rows([(f.name, folder_cells(f)) for f in message.folders])
        n, m = len(message.servers), len(message.folders)
        self.query_one("#servers-title", Label).update(
            f"DICOM servers ({n})" if n else "DICOM servers: none yet, press a to add one"
        )
        self.query_one("#folders-title", Label).update(
            f"Destination folders ({m})"
            if m
            else "Destination folders: none yet, press f to add one"
        )
        self._show_details()
        self.refresh_bindings_if_changed()

    @on(ScreenResume)
    def _resumed(self) -> None:
        if self.loaded_once:
            self.reload()  # someone may have changed the registry (CLI, another session)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.group == "servers-load":
            self.query_one("#servers", NavTable).loading = False
        elif event.state is WorkerState.ERROR and worker.group == "servers-remove":
            self.reload()
        elif worker.group == "servers-echo" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self.echoing.discard(worker.name)

    # -- selection ------------------------------------------------------------------------

    @on(DescendantFocus)
    def _focus_moved(self, event: DescendantFocus) -> None:
        if event.widget.id in ("servers", "folders"):
            self.active = event.widget.id
            self._show_details()
            self.refresh_bindings_if_changed()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details()
        self.refresh_bindings_if_changed()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def selected_server(self) -> ServerInfo | None:
        key = self.query_one("#servers", NavTable).cursor_key
        return self.servers.get(key) if key is not None else None

    def selected_folder(self) -> FolderInfo | None:
        key = self.query_one("#folders", NavTable).cursor_key
        return self.folders.get(key) if key is not None else None

    def selected(self) -> ServerInfo | FolderInfo | None:
        return self.selected_server() if self.active == "servers" else self.selected_folder()

    def _show_details(self) -> None:
        details = self.query_one("#node-details", Static)
        node = self.selected()
        if isinstance(node, ServerInfo):
            query = {Capability.FIND, Capability.GET, Capability.MOVE} & node.capabilities
            web = ""
            if node.dicomweb_url:
                prefixes = [
                    f"{name} {prefix}"
                    for name, prefix in (
                        ("qido", node.qido_prefix),
                        ("wado", node.wado_prefix),
                        ("stow", node.stow_prefix),
                    )
                    if prefix
                ]
                web = f" · DICOMweb {mask_url(node.dicomweb_url)}"
                if prefixes:
                    web += f" ({', '.join(prefixes)})"
            lines = [
                f"{node.name}: {node.ae_title} at {node.host}:{node.port}"
                + (f" · {node.model} root" if query else ""),
                f"{node.capability_text}{web}",
                (
                    "authorization header set"
                    if node.authorization_set
                    else "no authorization header"
                )
                + f" · at most {node.max_search_results} search results",
            ]
            details.update("\n".join(lines))
        elif isinstance(node, FolderInfo):
            details.update(
                f"{node.name}: {node.path}\nquota {_gb(node.quota_gb)} · "
                f"warn at {_gb(node.warn_size_gb)}\nfiles already there stay when it is removed"
            )
        else:
            details.update("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "remove"):
            return self.selected() is not None
        if action == "echo":
            return self.active == "servers" and self.selected_server() is not None
        return True

    # -- actions --------------------------------------------------------------------------

    def _after_save(self, kind: str, verb: str) -> Callable[[str | None], None]:
        def done(name: str | None) -> None:
            if name is None:
                return
            self.notify(f"{verb} {kind} {name}.", title="Servers", markup=False)
            self.reload()

        return done

    def action_add_server(self) -> None:
        self.app.push_screen(ServerFormScreen(), self._after_save("server", "Added"))

    def action_add_folder(self) -> None:
        self.app.push_screen(FolderFormScreen(), self._after_save("folder", "Added"))

    def action_edit(self) -> None:
        node = self.selected()
        if isinstance(node, ServerInfo):
            self.app.push_screen(ServerFormScreen(node), self._after_save("server", "Saved"))
        elif isinstance(node, FolderInfo):
            self.app.push_screen(FolderFormScreen(node), self._after_save("folder", "Saved"))

    def action_remove(self) -> None:
        node = self.selected()
        if node is None:
            return
        kind = "server" if isinstance(node, ServerInfo) else "folder"
        name = node.name
        if kind == "server":
            consequence = (
                "ADIT forgets how to reach it; nothing changes on the server itself. "
                "A server that existing jobs used cannot be removed."
            )
        else:
            consequence = "ADIT stops offering it as a destination; files already in it stay."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._remove(name, kind)

        self.app.push_screen(
            ConfirmScreen(
                f"Remove {kind} {name}?",
                consequence,
                confirm_label="Remove",
                cancel_label="Keep",
                destructive=True,
            ),
            answered,
        )

    def _remove(self, name: str, kind: str) -> None:
        def remove() -> None:
            remove_node(self.context.db, name, kind)
            self.post_message(NodeRemoved(kind, name))

        self.run_worker(remove, thread=True, group="servers-remove", exit_on_error=False,
                        description="Servers")  # fmt: skip

    def on_node_removed(self, message: NodeRemoved) -> None:
        self.notify(f"Removed {message.kind} {message.name}.", title="Servers", markup=False)
        self.reload()

    def action_echo(self) -> None:
        server = self.selected_server()
        if server is None or server.name in self.echoing:
            return
        self.echoing.add(server.name)
        self.notify(f"Checking {server.name}…", title="Echo", timeout=2, markup=False)
        self._echo(server.name)

    def _echo(self, name: str) -> None:
        def echo() -> None:
            result = echo_server(self.context.db, name)
            self.app.notify(
                f"{result.method} to {name} answered in {result.seconds * 1000:.0f} ms.",
                title=f"Echo {name}: OK",
                markup=False,
            )

        self.run_worker(echo, thread=True, group="servers-echo", exit_on_error=False, name=name,
                        description=f"Echo {name}: no answer")  # fmt: skip

    def action_reload(self) -> None:
        self.reload()
