"""Forms to add or change a DICOM server or a destination folder.

Every field is checked with the registry's own validators, and the reason appears next to
the field. The DICOMweb authorization header is a secret: it is typed into a password
field, never read back from the database, and never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Static
from textual.worker import Worker, WorkerState

from adit_core import registry
from adit_core.dicom.server import DICOMWEB_CAPABILITIES, Capability
from adit_core.registry import RegistryError
from adit_tui.commands import ScreenCommands
from adit_tui.errors import error_text
from adit_tui.screens.base import AditModal
from adit_tui.server_services import FolderInfo, ServerForm, ServerInfo, save_folder, save_server
from adit_tui.widgets.form_fields import Check, FormField


def _check(fn: Callable[[str], object]) -> Check:
    """A field check from a registry validator: the RegistryError message, or None."""

    def check(value: str) -> str | None:
        try:
            fn(value)
        except (RegistryError, ValueError) as exc:
            return str(exc)
        return None

    return check


def _int_check(
    what: str, validator: Callable[[int], object] | None = None, *, minimum: int = 1
) -> Check:
    def check(value: str) -> str | None:
        try:
            number = int(value.strip())
        except ValueError:
            return f"{what} must be a whole number, not {value.strip()!r}"
        if validator is not None:
            try:
                validator(number)
            except RegistryError as exc:
                return str(exc)
        elif number < minimum:
            return f"{what} must be at least {minimum}"
        return None

    return check


def _optional(check: Check) -> Check:
    def optional(value: str) -> str | None:
        return check(value) if value.strip() else None

    return optional


def _not_empty(what: str) -> Check:
    def check(value: str) -> str | None:
        return None if value.strip() else f"the {what} must not be empty"

    return check


class Saved(Message, bubble=False):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()


class _FormScreen(AditModal[str | None]):
    """Common frame: a scrolling column of fields, a form-level error, Save and Cancel."""

    COMMANDS = {ScreenCommands}

    DEFAULT_CSS = """
    _FormScreen {
        align: center middle;
    }
    _FormScreen > #dialog {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    _FormScreen #form-title {
        dock: top;
        text-style: bold;
        width: 100%;
        padding: 0 1;
        margin-bottom: 1;
    }
    _FormScreen #fields {
        height: auto;
    }
    _FormScreen FormField {
        margin-bottom: 1;
    }
    _FormScreen .checks {
        height: 1;
        padding-left: 16;
        margin-bottom: 1;
    }
    _FormScreen .checks Checkbox {
        margin-right: 2;
    }
    _FormScreen #models-error {
        color: $text-error;
        padding-left: 16;
        display: none;
    }
    _FormScreen #models-error.-shown {
        display: block;
    }
    _FormScreen #form-error {
        dock: bottom;
        color: $text-error;
        padding: 0 1;
        display: none;
    }
    _FormScreen #form-error.-shown {
        display: block;
    }
    _FormScreen #buttons {
        dock: bottom;
        height: 1;
        margin-top: 1;
        align-horizontal: right;
    }
    _FormScreen #buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="servers_form.save",
                tooltip="Check every field and save"),
        Binding("escape", "cancel", "Cancel", id="servers_form.cancel",
                tooltip="Close without saving"),
    ]  # fmt: skip

    title_text = ""

    def __init__(self) -> None:
        super().__init__()
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="form-title", markup=False)
            with VerticalScroll(id="fields"):
                yield from self.compose_fields()
            yield Static("", id="form-error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def compose_fields(self) -> ComposeResult:
        raise NotImplementedError
        yield  # pragma: no cover

    @property
    def cursor_blink(self) -> bool:
        return self.context.config.cursor_blink

    def field(self, name: str) -> FormField:
        return self.query_one(f"#{name}", FormField)

    def on_mount(self) -> None:
        self.query(FormField).first().input.focus()

    def show_form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(message)
        box.set_class(bool(message), "-shown")

    def validate_all(self) -> bool:
        """Check every field; focus the first bad one. True when the form can be saved."""
        bad: list[Widget] = [f for f in self.query(FormField) if not f.validate()]
        bad += self.cross_checks()
        if bad:
            first = bad[0]
            (first.input if isinstance(first, FormField) else first).focus()
            return False
        return True

    def cross_checks(self) -> list[Widget]:
        return []

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        if self.saving:
            return
        self.show_form_error("")
        if not self.validate_all():
            return
        self.saving = True
        self.query_one("#save", Button).disabled = True
        self.save()

    def save(self) -> None:
        raise NotImplementedError

    def on_saved(self, message: Saved) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        self.dismiss(message.name)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A refusal is shown beside the name when it is about the name, else below."""
        if event.worker.group != "servers-save" or event.state is not WorkerState.ERROR:
            return
        self.saving = False
        self.query_one("#save", Button).disabled = False
        error = error_text(event.worker.error)
        if "already exists" in error or "name" in error.split(":")[0]:
            self.field("name").show_error(error)
            self.field("name").input.focus()
        else:
            self.show_form_error(error)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ServerFormScreen(_FormScreen):
    """Add a server (`server` None) or change one; dismisses with the saved name."""

    def __init__(self, server: ServerInfo | None = None) -> None:
        super().__init__()
        self.server = server
        self.title_text = f"Edit server {server.name}" if server else "Add a DICOM server"

    def compose_fields(self) -> ComposeResult:
        s = self.server
        blink = self.cursor_blink
        yield FormField(
            "Name",
            id="name",
            value=s.name if s else "",
            placeholder="e.g. pacs",
            check=_check(registry.validate_name),
            cursor_blink=blink,
        )
        yield FormField(
            "AE title",
            id="ae_title",
            value=s.ae_title if s else "",
            placeholder="the server's AE title",
            check=_check(registry.validate_ae_title),
            cursor_blink=blink,
        )
        yield FormField(
            "Host",
            id="host",
            value=s.host if s else "",
            placeholder="host name or IP address",
            check=_check(registry.validate_host),
            cursor_blink=blink,
        )
        yield FormField(
            "Port",
            id="port",
            value=str(s.port) if s else "104",
            check=_int_check("the port", registry.validate_port),
            cursor_blink=blink,
        )
        yield FormField(
            "DICOMweb URL",
            id="dicomweb_url",
            value=(s.dicomweb_url or "") if s else "",
            placeholder="optional, e.g. https://pacs/dicom-web",
            check=_optional(_check(registry.validate_url)),
            cursor_blink=blink,
        )
        yield FormField(
            "Capabilities",
            id="capabilities",
            value=s.capability_text if s else "",
            placeholder="find,get,move,store (+qido,wado,stow with a URL)",
            check=_optional(_check(registry.parse_capabilities)),
            cursor_blink=blink,
        )
        with Horizontal(classes="checks", id="models"):
            yield Checkbox("Study root", s.study_root if s else True, id="study_root", compact=True)
            yield Checkbox(
                "Patient root", s.patient_root if s else False, id="patient_root", compact=True
            )
        yield Static("", id="models-error", markup=False)
        yield FormField(
            "QIDO prefix",
            id="qido_prefix",
            value=s.qido_prefix if s else "",
            placeholder="optional path after the URL",
            cursor_blink=blink,
        )
        yield FormField(
            "WADO prefix",
            id="wado_prefix",
            value=s.wado_prefix if s else "",
            placeholder="optional path after the URL",
            cursor_blink=blink,
        )
        yield FormField(
            "STOW prefix",
            id="stow_prefix",
            value=s.stow_prefix if s else "",
            placeholder="optional path after the URL",
            cursor_blink=blink,
        )
        stored = bool(s and s.authorization_set)
        yield FormField(
            "Authorization",
            id="authorization",
            password=True,
            placeholder=(
                "set · type to replace, empty keeps it"
                if stored
                else "optional DICOMweb Authorization header"
            ),
            hint="A secret: never shown, kept out of logs.",
            cursor_blink=blink,
        )
        if stored:
            with Horizontal(classes="checks"):
                yield Checkbox(
                    "Remove the stored authorization header", id="clear_auth", compact=True
                )
        yield FormField("Max results", id="max_search_results",
                        value=str(s.max_search_results) if s else "200",
                        check=_int_check("the result cap"), cursor_blink=blink)  # fmt: skip

    def _capabilities(self) -> frozenset[Capability]:
        text = self.field("capabilities").value.strip()
        url = self.field("dicomweb_url").value.strip() or None
        if not text:
            return registry.default_capabilities(url)
        return frozenset(registry.parse_capabilities(text))

    def cross_checks(self) -> list[Widget]:
        bad: list[Widget] = []
        caps_field = self.field("capabilities")
        if caps_field.error is None:
            web = sorted(c.value for c in self._capabilities() & DICOMWEB_CAPABILITIES)
            if web and not self.field("dicomweb_url").value.strip():
                caps_field.show_error(f"{','.join(web)} need a DICOMweb URL")
                bad.append(caps_field)
        models = self.query_one("#models-error", Static)
        if not (
            self.query_one("#study_root", Checkbox).value
            or self.query_one("#patient_root", Checkbox).value
        ):
            models.update("choose at least one query model (study root or patient root)")
            models.add_class("-shown")
            bad.append(self.query_one("#study_root", Checkbox))
        else:
            models.remove_class("-shown")
        return bad

    def form(self) -> ServerForm:
        auth = self.field("authorization").value
        clear = self.query("#clear_auth")
        authorization: str | None = None  # keep what is stored
        if clear and clear.first(Checkbox).value:
            authorization = ""
        elif auth:
            authorization = auth
        elif self.server is None:
            authorization = ""
        return ServerForm(
            name=self.field("name").value.strip(),
            ae_title=self.field("ae_title").value.strip(),
            host=self.field("host").value.strip(),
            port=int(self.field("port").value.strip()),
            capabilities=self._capabilities(),
            patient_root=self.query_one("#patient_root", Checkbox).value,
            study_root=self.query_one("#study_root", Checkbox).value,
            dicomweb_url=self.field("dicomweb_url").value.strip() or None,
            qido_prefix=self.field("qido_prefix").value.strip(),
            wado_prefix=self.field("wado_prefix").value.strip(),
            stow_prefix=self.field("stow_prefix").value.strip(),
            max_search_results=int(self.field("max_search_results").value.strip()),
            authorization=authorization,
        )

    def save(self) -> None:
        self._save(self.server.name if self.server else None, self.form())

    @work(thread=True, group="servers-save", exit_on_error=False,
          description="The server was not saved")  # fmt: skip
    def _save(self, original: str | None, form: ServerForm) -> None:
        self.post_message(Saved(save_server(self.context.db, original, form)))


def _gigabytes(what: str) -> Check:
    def check(value: str) -> str | None:
        try:
            registry.parse_gigabytes(value.strip() or None, what)
        except RegistryError as exc:
            return str(exc)
        return None

    return check


class FolderFormScreen(_FormScreen):
    """Add a folder (`folder` None) or change one; dismisses with the saved name."""

    def __init__(self, folder: FolderInfo | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.title_text = f"Edit folder {folder.name}" if folder else "Add a destination folder"

    def compose_fields(self) -> ComposeResult:
        f = self.folder
        blink = self.cursor_blink
        yield FormField(
            "Name",
            id="name",
            value=f.name if f else "",
            placeholder="e.g. research",
            check=_check(registry.validate_name),
            cursor_blink=blink,
        )
        yield FormField(
            "Path",
            id="path",
            value=f.path if f else "",
            placeholder="folder on the worker hosts",
            check=_check(registry.check_folder_path),
            cursor_blink=blink,
        )
        yield FormField(
            "Quota (GB)",
            id="quota_gb",
            value=_gb(f.quota_gb) if f else "",
            placeholder="optional",
            check=_gigabytes("the quota"),
            cursor_blink=blink,
        )
        yield FormField("Warn at (GB)", id="warn_size_gb",
                        value=_gb(f.warn_size_gb) if f else "", placeholder="optional",
                        check=_gigabytes("the warning size"), cursor_blink=blink)  # fmt: skip

    def _number(self, name: str) -> Decimal | None:
        return registry.parse_gigabytes(self.field(name).value.strip() or None, name)

    def cross_checks(self) -> list[Widget]:
        warn = self.field("warn_size_gb")
        if warn.error is None and self.field("quota_gb").error is None:
            quota, size = self._number("quota_gb"), self._number("warn_size_gb")
            if quota is not None and size is not None and size > quota:
                warn.show_error("the warning size must not exceed the quota")
                return [warn]
        return []

    def save(self) -> None:
        self._save(
            self.folder.name if self.folder else None,
            self.field("name").value.strip(),
            self.field("path").value.strip(),
            self._number("quota_gb"),
            self._number("warn_size_gb"),
        )

    @work(thread=True, group="servers-save", exit_on_error=False,
          description="The folder was not saved")  # fmt: skip
    def _save(
        self,
        original: str | None,
        name: str,
        path: str,
        quota: Decimal | None,
        warn: Decimal | None,
    ) -> None:
        saved = save_folder(
            self.context.db, original, name=name, path=path, quota_gb=quota, warn_size_gb=warn
        )
        self.post_message(Saved(saved))


def _gb(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"
