"""The registry of DICOM servers and folders: validation and storage.

Every function validates completely before writing, so a bad call writes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adit_core import fields, limits
from adit_core.db.models import DicomFolderRow, DicomNode, DicomServerRow
from adit_core.dicom.server import Capability, DicomServer
from adit_core.errors import AditError
from adit_core.hosts import normalized_host
from adit_core.redact import mask_url

DEFAULT_CAPABILITIES = (Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE)
DICOMWEB_DEFAULTS = (Capability.QIDO, Capability.WADO, Capability.STOW)
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class RegistryError(AditError):
    """A request the registry refuses; the message says why and what to do."""


def parse_capabilities(text: str) -> set[Capability]:
    wanted: set[Capability] = set()
    valid = ", ".join(c.value for c in Capability)
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        try:
            wanted.add(Capability(item))
        except ValueError:
            raise RegistryError(f"unknown capability {raw.strip()!r}; valid: {valid}") from None
    if not wanted:
        raise RegistryError(f"no capabilities given; valid: {valid}")
    return wanted


def validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RegistryError("the name must not be empty")
    if len(name) > 64:
        raise RegistryError(f"the name {name[:20]!r}... is longer than 64 characters")
    if _NAME_FORBIDDEN.search(name):
        raise RegistryError("the name must not contain control characters")
    return name


def validate_ae_title(ae_title: str) -> str:
    problem = fields.AE_TITLE.problem(ae_title)
    if problem is not None:
        raise RegistryError(problem)
    return ae_title.strip()


def validate_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise RegistryError(f"invalid port {port}: must be between 1 and 65535")
    return port


def validate_host(host: str) -> str:
    """An RFC 1123 host name or an IP address (see adit_core.hosts)."""
    try:
        return normalized_host(host)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


MAX_URL = 2048


def validate_url(url: str) -> str:
    url = url.strip()
    shown = mask_url(url if len(url) <= 80 else url[:80] + "…")
    try:
        parsed = urlparse(url)
        hostname = parsed.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise RegistryError(f"invalid DICOMweb URL {shown!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RegistryError(f"invalid DICOMweb URL {shown!r}: must start with http:// or https://")
    if len(url) > MAX_URL:
        raise RegistryError(f"the DICOMweb URL is longer than {MAX_URL} characters")
    try:
        normalized_host(hostname or "")
        parsed.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        raise RegistryError(f"invalid DICOMweb URL {shown!r}: {exc}") from None
    return url.rstrip("/")


def absolute_folder_path(path: str) -> str:
    text = path.strip()
    if not text:
        raise RegistryError("the folder path must not be empty")
    if _NAME_FORBIDDEN.search(text):
        raise RegistryError("the folder path must not contain control characters")
    return str(Path(text).expanduser().absolute())


def check_folder_path(path: str, *, create: bool = False) -> str:
    """The absolute path of an existing directory this process may write into (with
    `create`, missing directories are made first). A typo must not register a folder that
    the worker would later create somewhere unexpected: workers never create a folder's
    root (see adit_worker.transfer)."""
    folder = Path(absolute_folder_path(path))
    if create and not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise RegistryError(f"cannot create {folder}: {exc.strerror}") from None
    if not folder.exists():
        raise RegistryError(
            f"{folder} does not exist: create it first (`adit folder add --create` can), "
            "and mount it there on every worker host"
        )
    if not folder.is_dir():
        raise RegistryError(f"{folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RegistryError(f"{folder} is not writable (permissions or a read-only mount)")
    return str(folder)


@dataclass
class ServerSpec:
    """A server as the user describes it (CLI, TUI form)."""

    name: str
    ae_title: str
    host: str
    port: int
    capabilities: frozenset[Capability] = frozenset(DEFAULT_CAPABILITIES)
    patient_root: bool = False
    study_root: bool = True
    dicomweb_root_url: str | None = None
    qido_prefix: str = ""
    wado_prefix: str = ""
    stow_prefix: str = ""
    authorization_header: str | None = None
    max_search_results: int = 200

    def validated(self) -> ServerSpec:
        self.name = validate_name(self.name)
        self.ae_title = validate_ae_title(self.ae_title)
        self.host = validate_host(self.host)
        self.port = validate_port(self.port)
        if self.dicomweb_root_url:
            self.dicomweb_root_url = validate_url(self.dicomweb_root_url)
        web = {Capability.QIDO, Capability.WADO, Capability.STOW} & self.capabilities
        if web and not self.dicomweb_root_url:
            names = ",".join(sorted(c.value for c in web))
            raise RegistryError(f"capabilities {names} need --dicomweb-url")
        if not (self.patient_root or self.study_root):
            raise RegistryError("choose at least one query model (patient root or study root)")
        try:
            limits.search_results(self.max_search_results)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        if not self.capabilities:
            raise RegistryError("a server needs at least one capability")
        return self

    def apply_to(self, row: DicomServerRow) -> None:
        caps = self.capabilities
        row.name = self.name
        row.ae_title = self.ae_title
        row.host = self.host
        row.port = self.port
        models = (("patient_root", self.patient_root), ("study_root", self.study_root))
        for model, enabled in models:
            setattr(row, f"{model}_find", enabled and Capability.FIND in caps)
            setattr(row, f"{model}_get", enabled and Capability.GET in caps)
            setattr(row, f"{model}_move", enabled and Capability.MOVE in caps)
        row.store = Capability.STORE in caps
        row.dicomweb_root_url = self.dicomweb_root_url
        row.dicomweb_qido = Capability.QIDO in caps
        row.dicomweb_wado = Capability.WADO in caps
        row.dicomweb_stow = Capability.STOW in caps
        row.qido_prefix = self.qido_prefix
        row.wado_prefix = self.wado_prefix
        row.stow_prefix = self.stow_prefix
        row.authorization_header = self.authorization_header
        row.max_search_results = self.max_search_results

    @classmethod
    def from_row(cls, row: DicomServerRow) -> ServerSpec:
        server = to_dicom_server(row)
        patient_root = row.patient_root_find or row.patient_root_get or row.patient_root_move
        study_root = row.study_root_find or row.study_root_get or row.study_root_move
        return cls(
            name=row.name,
            ae_title=row.ae_title,
            host=row.host,
            port=row.port,
            capabilities=frozenset(server.capabilities()),
            patient_root=patient_root,
            # A DICOMweb-only server has no model flags; study root is the default model.
            study_root=study_root or not patient_root,
            dicomweb_root_url=row.dicomweb_root_url,
            qido_prefix=row.qido_prefix,
            wado_prefix=row.wado_prefix,
            stow_prefix=row.stow_prefix,
            authorization_header=row.authorization_header,
            max_search_results=row.max_search_results,
        )


def default_capabilities(dicomweb_url: str | None) -> frozenset[Capability]:
    caps = set(DEFAULT_CAPABILITIES)
    if dicomweb_url:
        caps |= set(DICOMWEB_DEFAULTS)
    return frozenset(caps)


def to_dicom_server(row: DicomServerRow) -> DicomServer:
    names = {f.name for f in dataclasses.fields(DicomServer)}
    return DicomServer(**{name: getattr(row, name) for name in names})


def _ensure_name_free(session: Session, name: str, *, except_id: int | None = None) -> None:
    existing = session.scalar(select(DicomNode).where(DicomNode.name == name))
    if existing is not None and existing.id != except_id:
        raise RegistryError(f"a {existing.kind} named {name!r} already exists")


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent writer took the name first
        raise RegistryError(f"could not save {name!r}: {exc.orig}") from None


def add_server(session: Session, spec: ServerSpec) -> DicomServerRow:
    spec.validated()
    _ensure_name_free(session, spec.name)
    row = DicomServerRow()
    spec.apply_to(row)
    session.add(row)
    _flush(session, spec.name)
    return row


def update_server(session: Session, name: str, spec: ServerSpec) -> DicomServerRow:
    row = get_server_row(session, name)
    spec.validated()
    _ensure_name_free(session, spec.name, except_id=row.id)
    spec.apply_to(row)
    _flush(session, spec.name)
    return row


def list_servers(session: Session) -> list[DicomServerRow]:
    return list(session.scalars(select(DicomServerRow).order_by(DicomServerRow.name)))


def get_server_row(session: Session, name: str) -> DicomServerRow:
    row = session.scalar(select(DicomServerRow).where(DicomServerRow.name == name))
    if row is None:
        known = ", ".join(r.name for r in list_servers(session)) or "none registered"
        raise RegistryError(f"no DICOM server named {name!r} (known: {known})")
    return row


def get_server(session: Session, name: str) -> DicomServer:
    return to_dicom_server(get_server_row(session, name))


def remove_node(session: Session, name: str, kind: str) -> None:
    """Remove a server or folder; one that jobs used stays (their tasks point at it)."""
    node = session.scalar(select(DicomNode).where(DicomNode.name == name, DicomNode.kind == kind))
    if node is None:
        raise RegistryError(f"no {kind} named {name!r}")
    session.delete(node)
    try:
        session.flush()
    except IntegrityError:  # tasks reference it (ON DELETE RESTRICT)
        raise RegistryError(
            f"the {kind} {name!r} is used by existing jobs and cannot be removed"
        ) from None


def parse_gigabytes(value: str | float | Decimal | None, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return limits.gigabytes(value, what)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


def _check_sizes(quota_gb: Decimal | None, warn_size_gb: Decimal | None) -> None:
    parse_gigabytes(quota_gb, "the quota")
    parse_gigabytes(warn_size_gb, "the warning size")
    if quota_gb is not None and warn_size_gb is not None and warn_size_gb > quota_gb:
        raise RegistryError("the warning size must not exceed the quota")


def _validate_folder(
    name: str, path: str, quota_gb: Decimal | None, warn_size_gb: Decimal | None
) -> str:
    """The folder's name, checked, once its path and sizes are checked too."""
    name = validate_name(name)
    if not path.strip():
        raise RegistryError("the folder path must not be empty")
    _check_sizes(quota_gb, warn_size_gb)
    return name


def add_folder(
    session: Session,
    name: str,
    path: str,
    *,
    quota_gb: Decimal | None = None,
    warn_size_gb: Decimal | None = None,
) -> DicomFolderRow:
    name = _validate_folder(name, path, quota_gb, warn_size_gb)
    _ensure_name_free(session, name)
    row = DicomFolderRow(name=name, path=path, quota_gb=quota_gb, warn_size_gb=warn_size_gb)
    session.add(row)
    _flush(session, name)
    return row


def get_folder_row(session: Session, name: str) -> DicomFolderRow:
    row = session.scalar(select(DicomFolderRow).where(DicomFolderRow.name == name))
    if row is None:
        known = ", ".join(r.name for r in list_folders(session)) or "none registered"
        raise RegistryError(f"no folder named {name!r} (known: {known})")
    return row


def update_folder(
    session: Session,
    name: str,
    *,
    new_name: str,
    path: str,
    quota_gb: Decimal | None = None,
    warn_size_gb: Decimal | None = None,
) -> DicomFolderRow:
    """Change a registered folder (same checks as `add_folder`)."""
    row = get_folder_row(session, name)
    new_name = _validate_folder(new_name, path, quota_gb, warn_size_gb)
    _ensure_name_free(session, new_name, except_id=row.id)
    row.name = new_name
    row.path = path
    row.quota_gb = quota_gb
    row.warn_size_gb = warn_size_gb
    _flush(session, new_name)
    return row


def list_folders(session: Session) -> list[DicomFolderRow]:
    return list(session.scalars(select(DicomFolderRow).order_by(DicomFolderRow.name)))
