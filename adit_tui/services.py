"""What the app's screens ask of adit_core, as plain functions for thread workers.

No Textual here: every function is blocking, takes the Database, and returns plain records
(dataclasses) that the screens render. Errors are adit_core's own (DicomError, JobError,
RegistryError), whose messages name the server and the cause.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO

from pydicom import Dataset, dcmread
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence as DicomSequence

from adit_core import registry, settings
from adit_core.dates import from_dicom_date, parse_date
from adit_core.db.database import Database
from adit_core.dicom import operations
from adit_core.dicom.errors import DicomCapabilityError, DicomOperationError
from adit_core.dicom.query import DateRange, FindResult, Level, Query, human_person_name
from adit_core.dicom.server import DicomServer, LocalNode
from adit_core.jobs.create import (
    TransferItem,
    TransferOptions,
    check_text,
    check_uid,
    create_transfer_job,
)
from adit_core.jobs.errors import JobError

__all__ = [
    "CriteriaError",
    "InstanceRecord",
    "Listing",
    "NodeInfo",
    "PatientRecord",
    "SearchCriteria",
    "SearchOutcome",
    "Selection",
    "SeriesRecord",
    "StudyRecord",
    "TagRow",
    "TransferItem",
    "TransferOptions",
    "check_accession",
    "check_date",
    "check_modalities",
    "check_name",
    "check_option",
    "check_patient_id",
    "create_transfer",
    "display_name",
    "instance_tags",
    "list_destinations",
    "list_instances",
    "list_nodes",
    "list_series",
    "list_sources",
    "search_studies",
    "tag_rows",
]

_MODALITY = re.compile(r"^[A-Z0-9_]{1,16}$")


# -- nodes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    """A server or folder as the app lists it (never with host or port: screens are shared)."""

    name: str
    kind: str  # "server" or "folder"
    can_find: bool = False
    can_retrieve: bool = False
    can_store: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (folder)" if self.kind == "folder" else self.name


def _node_info(server: DicomServer) -> NodeInfo:
    return NodeInfo(
        name=server.name,
        kind="server",
        can_find=server.supports_find or bool(server.dicomweb_root_url and server.dicomweb_qido),
        can_retrieve=server.supports_get
        or server.supports_move
        or bool(server.dicomweb_root_url and server.dicomweb_wado),
        can_store=server.store or bool(server.dicomweb_root_url and server.dicomweb_stow),
    )


def list_nodes(db: Database) -> list[NodeInfo]:
    """Every registered server and folder, servers first, each group by name."""
    with db.session() as session:
        servers = [_node_info(registry.to_dicom_server(r)) for r in registry.list_servers(session)]
        folders = [
            NodeInfo(name=f.name, kind="folder", can_store=True)
            for f in registry.list_folders(session)
        ]
    return servers + folders


def list_sources(db: Database, *, need_retrieve: bool = False) -> list[NodeInfo]:
    """Servers that can be searched (and, with `need_retrieve`, retrieved from)."""
    return [
        n
        for n in list_nodes(db)
        if n.kind == "server" and n.can_find and (n.can_retrieve or not need_retrieve)
    ]


def list_destinations(db: Database, *, exclude: str | None = None) -> list[NodeInfo]:
    """Servers that accept data, and folders; without `exclude` (the source)."""
    return [n for n in list_nodes(db) if n.can_store and n.name != exclude]


def _server(db: Database, name: str) -> tuple[DicomServer, LocalNode]:
    with db.session() as session:
        return registry.get_server(session, name), settings.load(session).local_node


# -- search criteria ---------------------------------------------------------------------


class CriteriaError(ValueError):
    """A search field the user must correct; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_patient_id(value: str) -> str | None:
    """None when fine, else a message for the user."""
    try:
        check_text(value, "the PatientID")
    except JobError as exc:
        return str(exc)
    return None


def check_name(value: str) -> str | None:
    try:
        check_text(value.replace("^", ","), "the name")
    except JobError as exc:
        return str(exc)
    if value.count(",") > 1:
        return "write the name as: Last, First"
    return None


def check_date(value: str) -> str | None:
    if not value.strip():
        return None
    try:
        parse_date(value)
    except ValueError as exc:
        return str(exc)
    return None


def check_modalities(value: str) -> str | None:
    for item in _split_modalities(value):
        if not _MODALITY.match(item):
            return f"{item!r} is not a modality (letters and digits, e.g. CT or CT, MR)"
    return None


def check_accession(value: str) -> str | None:
    try:
        check_text(value, "the accession number", 16)
    except JobError as exc:
        return str(exc)
    return None


def _split_modalities(value: str) -> list[str]:
    return [m.strip().upper() for m in re.split(r"[,\s\\]+", value) if m.strip()]


def _date(value: str) -> date | None:
    return parse_date(value) if value.strip() else None


@dataclass(frozen=True)
class SearchCriteria:
    """The search form as typed; `to_query` checks it and builds the study-level query."""

    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    accession_number: str = ""
    study_date_from: str = ""
    study_date_to: str = ""
    modalities: str = ""

    CHECKS = {
        "patient_id": check_patient_id,
        "patient_name": check_name,
        "birth_date": check_date,
        "accession_number": check_accession,
        "study_date_from": check_date,
        "study_date_to": check_date,
        "modalities": check_modalities,
    }

    def problems(self) -> dict[str, str]:
        """Field name → message, for every field that needs correcting."""
        found = {}
        for name, check in self.CHECKS.items():
            message = check(getattr(self, name))
            if message:
                found[name] = message
        if "study_date_from" not in found and "study_date_to" not in found:
            start, end = _date(self.study_date_from), _date(self.study_date_to)
            if start and end and start > end:
                found["study_date_to"] = "the end of the study date range is before its start"
        return found

    def to_query(self) -> Query:
        problems = self.problems()
        if problems:
            name, message = next(iter(problems.items()))
            raise CriteriaError(name, message)
        born = _date(self.birth_date)
        start, end = _date(self.study_date_from), _date(self.study_date_to)
        return Query(
            level=Level.STUDY,
            patient_id=self.patient_id.strip(),
            patient_name=self.patient_name.strip(),
            patient_birth_date=DateRange.on(born) if born else None,
            accession_number=self.accession_number.strip(),
            study_date=DateRange(start, end) if (start or end) else None,
            modalities=tuple(_split_modalities(self.modalities)),
            fuzzy_names=True,
        )

    @property
    def empty(self) -> bool:
        return not any(str(getattr(self, name)).strip() for name in self.CHECKS)


# -- records -----------------------------------------------------------------------------


def display_name(value: object) -> str:
    """``Yamada^Tarou=山田^太郎=やまだ^たろう`` → ``Yamada, Tarou (山田 太郎)``."""
    groups = str(value or "").split("=")
    name = human_person_name(groups[0])
    ideographic = " ".join(p for p in groups[1].split("^") if p) if len(groups) > 1 else ""
    if ideographic:
        name = f"{name} ({ideographic})" if name else ideographic
    return name


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword, None)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _modalities(ds: Dataset) -> tuple[str, ...]:
    raw = ds.get("ModalitiesInStudy", "")
    if isinstance(raw, str):
        items = re.split(r"[\\,]", raw)
    else:
        items = [str(v) for v in (raw or [])]
    return tuple(sorted({i.strip() for i in items if i and i.strip()}))


@dataclass(frozen=True)
class StudyRecord:
    patient_id: str
    patient_name: str  # "Last, First"
    birth_date: date | None
    sex: str
    study_uid: str
    study_date: date | None
    study_time: str
    description: str
    accession_number: str
    modalities: tuple[str, ...]
    series_count: int | None
    instance_count: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> StudyRecord:
        return cls(
            patient_id=_text(ds, "PatientID"),
            patient_name=display_name(ds.get("PatientName", "")),
            birth_date=from_dicom_date(_text(ds, "PatientBirthDate")),
            sex=_text(ds, "PatientSex"),
            study_uid=_text(ds, "StudyInstanceUID"),
            study_date=from_dicom_date(_text(ds, "StudyDate")),
            study_time=_text(ds, "StudyTime"),
            description=_text(ds, "StudyDescription"),
            accession_number=_text(ds, "AccessionNumber"),
            modalities=_modalities(ds),
            series_count=_int(ds, "NumberOfStudyRelatedSeries"),
            instance_count=_int(ds, "NumberOfStudyRelatedInstances"),
        )

    @property
    def time_text(self) -> str:
        digits = self.study_time.split(".")[0]
        return f"{digits[:2]}:{digits[2:4]}" if len(digits) >= 4 else ""


@dataclass(frozen=True)
class PatientRecord:
    patient_id: str
    patient_name: str
    birth_date: date | None
    sex: str
    studies: tuple[StudyRecord, ...]


@dataclass(frozen=True)
class SeriesRecord:
    study_uid: str
    series_uid: str
    modality: str
    description: str
    number: int | None
    instance_count: int | None

    @classmethod
    def from_dataset(cls, ds: Dataset, study_uid: str) -> SeriesRecord:
        return cls(
            study_uid=_text(ds, "StudyInstanceUID") or study_uid,
            series_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"),
            description=_text(ds, "SeriesDescription"),
            number=_int(ds, "SeriesNumber"),
            instance_count=_int(ds, "NumberOfSeriesRelatedInstances"),
        )


@dataclass(frozen=True)
class InstanceRecord:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    number: int | None
    patient_id: str = ""

    @property
    def sop_class_name(self) -> str:
        from pydicom.uid import UID

        name = UID(self.sop_class_uid).name if self.sop_class_uid else ""
        return name if name and name != self.sop_class_uid else self.sop_class_uid


@dataclass
class SearchOutcome:
    server: str
    patients: list[PatientRecord]
    study_count: int
    truncated: bool
    limit: int | None

    @property
    def summary(self) -> str:
        patients = len(self.patients)
        studies = self.study_count
        text = f"{studies} {'study' if studies == 1 else 'studies'} of {patients} "
        text += "patient" if patients == 1 else "patients"
        if self.truncated:
            text = f"showing {studies} of more studies (the limit); narrow the search"
        return text


@dataclass
class Listing:
    """Children of one node; `truncated` when the server's cap cut some off."""

    items: list[SeriesRecord] | list[InstanceRecord]
    truncated: bool = False
    limit: int | None = None


# -- queries -----------------------------------------------------------------------------


def search_studies(db: Database, server_name: str, criteria: SearchCriteria) -> SearchOutcome:
    """Study-level search, grouped by patient (patients by name, studies newest first)."""
    query = criteria.to_query()
    server, local = _server(db, server_name)
    result = operations.find(server, query, local=local)
    return group_studies(server_name, result)


def group_studies(server_name: str, result: FindResult) -> SearchOutcome:
    by_patient: dict[str, list[StudyRecord]] = {}
    for ds in result:
        study = StudyRecord.from_dataset(ds)
        by_patient.setdefault(study.patient_id, []).append(study)
    patients = []
    for studies in by_patient.values():
        studies.sort(key=lambda s: (s.study_date or date.min, s.study_time), reverse=True)
        first = studies[0]
        patients.append(
            PatientRecord(
                patient_id=first.patient_id,
                patient_name=first.patient_name,
                birth_date=first.birth_date,
                sex=first.sex,
                studies=tuple(studies),
            )
        )
    patients.sort(key=lambda p: (p.patient_name.casefold(), p.patient_id))
    return SearchOutcome(
        server=server_name,
        patients=patients,
        study_count=len(result),
        truncated=result.truncated,
        limit=result.limit,
    )


def list_series(db: Database, server_name: str, study: StudyRecord) -> Listing:
    server, local = _server(db, server_name)
    query = Query(
        level=Level.SERIES,
        study_instance_uid=study.study_uid,
        patient_id=_patient_key(server, study.patient_id),
    )
    result = operations.find(server, query, local=local)
    items = [SeriesRecord.from_dataset(ds, study.study_uid) for ds in result]
    items.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
    return Listing(items, result.truncated, result.limit)


def list_instances(
    db: Database, server_name: str, series: SeriesRecord, patient_id: str = ""
) -> Listing:
    server, local = _server(db, server_name)
    query = Query(
        level=Level.IMAGE,
        study_instance_uid=series.study_uid,
        series_instance_uid=series.series_uid,
        patient_id=_patient_key(server, patient_id),
    )
    result = operations.find(server, query, local=local)
    items = [
        InstanceRecord(
            study_uid=series.study_uid,
            series_uid=series.series_uid,
            sop_uid=_text(ds, "SOPInstanceUID"),
            sop_class_uid=_text(ds, "SOPClassUID"),
            number=_int(ds, "InstanceNumber"),
            patient_id=patient_id,
        )
        for ds in result
    ]
    items.sort(key=lambda i: (i.number is None, i.number or 0, i.sop_uid))
    return Listing(items, result.truncated, result.limit)


def _patient_key(server: DicomServer, patient_id: str) -> str:
    """The PatientID as a matching key only where it is needed (patient-root-only servers)."""
    if server.study_root_find or not server.patient_root_find:
        return ""
    return patient_id


# -- one instance's tags -----------------------------------------------------------------


@dataclass(frozen=True)
class TagRow:
    tag: str  # "(0010,0010)"
    keyword: str
    vr: str
    value: str
    depth: int = 0


_MAX_VALUE = 160


def instance_tags(
    db: Database,
    server_name: str,
    instance: InstanceRecord,
    *,
    cancel: threading.Event | None = None,
) -> list[TagRow]:
    """The instance's attributes: WADO-RS metadata when the server has it (no pixel data
    travels), else a C-GET of that one instance."""
    server, local = _server(db, server_name)
    if server.dicomweb_root_url and server.dicomweb_wado:
        ds = _wado_metadata(server, instance)
    elif server.supports_get:
        ds = _get_one(server, local, instance, cancel)
    else:
        raise DicomCapabilityError(
            server.name,
            "show tags",
            "loading one instance needs WADO-RS or C-GET, and the server has neither",
        )
    return tag_rows(ds)


def tag_rows(ds: Dataset) -> list[TagRow]:
    rows: list[TagRow] = []
    meta = getattr(ds, "file_meta", None)
    if meta:
        _walk(meta, 0, rows)
    _walk(ds, 0, rows)
    return rows


def _walk(ds: Iterable[DataElement], depth: int, rows: list[TagRow]) -> None:
    for elem in ds:
        tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
        keyword = elem.keyword or ("Private tag" if elem.tag.is_private else "")
        if elem.VR == "SQ":
            items = elem.value if isinstance(elem.value, DicomSequence) else []
            count = len(items)
            rows.append(
                TagRow(tag, keyword, "SQ", f"{count} item{'s' if count != 1 else ''}", depth)
            )
            for number, item in enumerate(items, 1):
                rows.append(TagRow("", "", "", f"item {number}", depth + 1))
                _walk(item, depth + 2, rows)
            continue
        rows.append(TagRow(tag, keyword, str(elem.VR), _value_text(elem), depth))


def _value_text(elem: DataElement) -> str:
    value = elem.value
    if value is None or value == "":
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if elem.tag == 0x7FE00010:
        return "<pixel data>"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _wado_metadata(server: DicomServer, instance: InstanceRecord) -> Dataset:
    from adit_core.dicom.dicomweb_http import (
        CONNECT_TIMEOUT,
        DICOM_JSON,
        http_error,
        service_url,
        session_scope,
        translate_errors,
    )

    base = service_url(server, server.wado_prefix, "WADO-RS")
    url = (
        f"{base}/studies/{instance.study_uid}/series/{instance.series_uid}"
        f"/instances/{instance.sop_uid}/metadata"
    )
    with session_scope(server, None) as http, translate_errors(server, "WADO-RS"):
        response = http.get(url, headers={"Accept": DICOM_JSON}, timeout=(CONNECT_TIMEOUT, 60))
        if not response.ok:
            raise http_error(server, "WADO-RS", response, "instance metadata")
        items = response.json()
    if not items:
        raise DicomOperationError(
            server.name, "WADO-RS", f"no metadata for instance {instance.sop_uid}"
        )
    return Dataset.from_json(items[0], bulk_data_uri_handler=lambda *_: b"")


def _get_one(
    server: DicomServer,
    local: LocalNode,
    instance: InstanceRecord,
    cancel: threading.Event | None,
) -> Dataset:
    """C-GET at IMAGE level for one SOP instance; returns it decoded."""
    from pynetdicom import evt
    from pynetdicom.status import QR_GET_SERVICE_CLASS_STATUS, code_to_category

    from adit_core.dicom.dimse_association import association, status_error
    from adit_core.dicom.dimse_contexts import retrieve_contexts
    from adit_core.dicom.dimse_retrieve import retrieve_model

    model = retrieve_model(server, "C-GET", instance.patient_id, move=False)
    contexts, roles = retrieve_contexts(model)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    if "PatientRoot" in _model_name(model):
        identifier.PatientID = instance.patient_id
    identifier.StudyInstanceUID = instance.study_uid
    identifier.SeriesInstanceUID = instance.series_uid
    identifier.SOPInstanceUID = instance.sop_uid
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        data = event.encoded_dataset()
        received.append(dcmread(BytesIO(data), force=True))
        return 0x0000

    with association(
        server,
        local,
        contexts,
        operation="C-GET",
        ext_neg=list(roles),
        handlers=[(evt.EVT_C_STORE, on_store)],
    ) as assoc:
        for status, _ in assoc.send_c_get(identifier, model):
            if cancel is not None and cancel.is_set():
                assoc.abort()
                break
            if not status:
                break
            code = int(status.Status)
            category = code_to_category(code)
            if category == "Pending":
                continue
            if category == "Failure" and not received:
                raise status_error(
                    server,
                    "C-GET",
                    code,
                    QR_GET_SERVICE_CLASS_STATUS,
                    str(status.get("ErrorComment", "")),
                )
            break
    if not received:
        raise DicomOperationError(
            server.name, "C-GET", f"the server sent nothing for instance {instance.sop_uid}"
        )
    return received[0]


def _model_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name.replace(" ", "").replace("-", "")


# -- transfers ---------------------------------------------------------------------------


def check_option(value: str, what: str) -> str | None:
    """None when a transfer option is fine, else why not (the rules jobs are created by)."""
    try:
        check_text(value, what)
    except JobError as exc:
        return str(exc)
    return None


@dataclass
class Selection:
    """Studies picked for a transfer: a whole study, or some of its series."""

    study: StudyRecord
    series: dict[str, SeriesRecord] = field(default_factory=dict)  # empty: the whole study

    @property
    def whole(self) -> bool:
        return not self.series

    def item(self) -> TransferItem:
        check_uid(self.study.study_uid, "StudyInstanceUID")
        return TransferItem(
            study_uid=self.study.study_uid,
            patient_id=self.study.patient_id,
            series_uids=tuple(self.series),
        )


def create_transfer(
    db: Database,
    *,
    source: str,
    destination: str,
    selections: Sequence[Selection],
    options: TransferOptions,
) -> int:
    """Create the selective transfer job (rows and queue entries); returns its id."""
    items = [s.item() for s in selections]
    with db.session() as session:
        job = create_transfer_job(
            session, source=source, destination=destination, items=items, options=options
        )
        return job.id
