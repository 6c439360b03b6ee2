"""Backend of the Servers screen and its forms: the registry as the screens show it (never
with secrets), saving, removing and echoing, as blocking calls for thread workers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from adit_core import registry, settings
from adit_core.db.database import Database
from adit_core.db.models import DicomServerRow
from adit_core.dicom.operations import echo
from adit_core.dicom.server import Capability
from adit_core.redact import mask_url
from adit_core.registry import ServerSpec


@dataclass(frozen=True)
class ServerInfo:
    """A registered server without its secret (only whether one is set)."""

    name: str
    ae_title: str
    host: str
    port: int
    capabilities: frozenset[Capability]
    patient_root: bool
    study_root: bool
    dicomweb_url: str | None
    qido_prefix: str
    wado_prefix: str
    stow_prefix: str
    authorization_set: bool
    max_search_results: int

    @property
    def model(self) -> str:
        return "+".join(
            m for m, on in (("patient", self.patient_root), ("study", self.study_root)) if on
        )

    @property
    def capability_text(self) -> str:
        return ",".join(c.value for c in Capability if c in self.capabilities)


@dataclass(frozen=True)
class FolderInfo:
    name: str
    path: str
    quota_gb: Decimal | None
    warn_size_gb: Decimal | None


def _server_info(row: DicomServerRow) -> ServerInfo:
    spec = ServerSpec.from_row(row)
    return ServerInfo(
        name=spec.name,
        ae_title=spec.ae_title,
        host=spec.host,
        port=spec.port,
        capabilities=spec.capabilities,
        patient_root=spec.patient_root,
        # A server without C-FIND/C-GET/C-MOVE stores no model; study root is the default.
        study_root=spec.study_root or not spec.patient_root,
        dicomweb_url=mask_url(spec.dicomweb_root_url) or None,  # the app never shows secrets
        qido_prefix=spec.qido_prefix,
        wado_prefix=spec.wado_prefix,
        stow_prefix=spec.stow_prefix,
        authorization_set=bool(spec.authorization_header),
        max_search_results=spec.max_search_results,
    )


def load_registry(db: Database) -> tuple[list[ServerInfo], list[FolderInfo]]:
    with db.session() as session:
        servers = [_server_info(r) for r in registry.list_servers(session)]
        folders = [
            FolderInfo(r.name, r.path, r.quota_gb, r.warn_size_gb)
            for r in registry.list_folders(session)
        ]
    return servers, folders


KEEP_SECRET = None  # ServerForm.authorization: keep what is stored


@dataclass
class ServerForm:
    """What the server form submits. `authorization`: None keeps the stored header,
    "" removes it, anything else replaces it."""

    name: str
    ae_title: str
    host: str
    port: int
    capabilities: frozenset[Capability]
    patient_root: bool
    study_root: bool
    dicomweb_url: str | None
    qido_prefix: str = ""
    wado_prefix: str = ""
    stow_prefix: str = ""
    max_search_results: int = 200
    authorization: str | None = KEEP_SECRET

    def spec(self, stored_header: str | None) -> ServerSpec:
        header = stored_header if self.authorization is None else (self.authorization or None)
        return ServerSpec(
            name=self.name,
            ae_title=self.ae_title,
            host=self.host,
            port=self.port,
            capabilities=self.capabilities,
            patient_root=self.patient_root,
            study_root=self.study_root,
            dicomweb_root_url=self.dicomweb_url or None,
            qido_prefix=self.qido_prefix,
            wado_prefix=self.wado_prefix,
            stow_prefix=self.stow_prefix,
            authorization_header=header,
            max_search_results=self.max_search_results,
        )


def save_server(db: Database, original: str | None, form: ServerForm) -> str:
    """Add (original None) or change a server; returns its name. Raises RegistryError."""
    with db.session() as session:
        if original is None:
            row = registry.add_server(session, form.spec(None))
        else:
            stored_row = registry.get_server_row(session, original)
            spec = form.spec(stored_row.authorization_header)
            if spec.dicomweb_root_url and spec.dicomweb_root_url == mask_url(
                stored_row.dicomweb_root_url
            ):  # the form showed the URL masked and it was left as it was
                spec.dicomweb_root_url = stored_row.dicomweb_root_url
            row = registry.update_server(session, original, spec)
        return row.name


def absolute_folder_path(path: str) -> str:
    return str(Path(path.strip()).expanduser().absolute()) if path.strip() else ""


def save_folder(
    db: Database,
    original: str | None,
    *,
    name: str,
    path: str,
    quota_gb: Decimal | None,
    warn_size_gb: Decimal | None,
) -> str:
    """Add (original None) or change a folder; returns its name. Raises RegistryError."""
    path = absolute_folder_path(path)
    with db.session() as session:
        if original is None:
            row = registry.add_folder(
                session, name, path, quota_gb=quota_gb, warn_size_gb=warn_size_gb
            )
        else:
            row = registry.update_folder(
                session,
                original,
                new_name=name,
                path=path,
                quota_gb=quota_gb,
                warn_size_gb=warn_size_gb,
            )
        return row.name


def remove_node(db: Database, name: str, kind: str) -> None:
    """Remove a server or folder. Raises RegistryError (also when jobs still use it)."""
    with db.session() as session:
        registry.remove_node(session, name, kind)


@dataclass(frozen=True)
class EchoResult:
    server: str
    method: str
    seconds: float


def echo_server(db: Database, name: str) -> EchoResult:
    """C-ECHO (or a QIDO-RS request for DICOMweb-only servers). Raises DicomError."""
    with db.session() as session:
        server = registry.get_server(session, name)
        local = settings.load(session).local_node
    method, seconds = echo(server, local)
    return EchoResult(name, method, seconds)
