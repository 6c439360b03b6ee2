"""What the Explorer and Transfer screens ask of adit_core, as plain functions for thread
workers: server lists, searches, browsing, one instance's tags, creating a transfer.

No Textual here: every function is blocking, takes the Database, and returns plain records
(dataclasses) that the screens render. Errors are adit_core's own (`AditError`: their
messages name the server, the field or the job and the cause).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence as DicomSequence

from adit_core import fields, node_roles, registry, settings
from adit_core.dates import from_dicom_date, parse_date
from adit_core.db.database import Database
from adit_core.dicom import operations
from adit_core.dicom.query import DateRange, FindResult, Level, Query, human_person_name
from adit_core.dicom.server import DicomServer, LocalNode
from adit_core.errors import AditError
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.node_roles import NodeInfo, Role

__all__ = [
    "CRITERIA_CHECKS",
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
    "create_transfer",
    "display_name",
    "instance_tags",
    "list_destinations",
    "list_instances",
    "list_series",
    "list_sources",
    "search_studies",
    "tag_rows",
]


# -- nodes (which may be offered where: adit_core.node_roles) ---------------------------


def list_sources(db: Database, needs: tuple[Role, ...]) -> list[NodeInfo]:
    """Servers that offer every role in `needs` (e.g. `node_roles.TRANSFER_SOURCE`)."""
    with db.session() as session:
        return node_roles.sources(node_roles.list_nodes(session), needs)


def list_destinations(db: Database, *, exclude: str | None = None) -> list[NodeInfo]:
    """Servers that accept data, and folders; without `exclude` (the source)."""
    with db.session() as session:
        return node_roles.destinations(node_roles.list_nodes(session), exclude=exclude)


def _server(db: Database, name: str) -> tuple[DicomServer, LocalNode]:
    with db.session() as session:
        return registry.get_server(session, name), settings.load(session).local_node


# -- search criteria ---------------------------------------------------------------------


class CriteriaError(AditError):
    """A search field the user must correct; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _date_problem(value: str) -> str | None:
    if not value.strip():
        return None
    try:
        parse_date(value)
    except ValueError as exc:
        return str(exc)
    return None


def _searched(rule: fields.Field) -> Callable[[str], str | None]:
    """The field's rule for a search pattern (wildcards allowed where the field allows)."""
    return lambda value: rule.problem(value, search=True)


# form field → why its value is wrong (None when fine): the rules of adit_core.fields
CRITERIA_CHECKS: dict[str, Callable[[str], str | None]] = {
    "patient_id": _searched(fields.PATIENT_ID),
    "patient_name": _searched(fields.PATIENT_NAME),
    "birth_date": _date_problem,
    "accession_number": _searched(fields.ACCESSION_NUMBER),
    "study_date_from": _date_problem,
    "study_date_to": _date_problem,
    "modalities": fields.modality_list_problem,
}


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

    def values(self) -> dict[str, str]:
        return {
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "birth_date": self.birth_date,
            "accession_number": self.accession_number,
            "study_date_from": self.study_date_from,
            "study_date_to": self.study_date_to,
            "modalities": self.modalities,
        }

    def problems(self) -> dict[str, str]:
        """Field name → message, for every field that needs correcting."""
        found = {}
        for name, value in self.values().items():
            message = CRITERIA_CHECKS[name](value)
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
            modalities=fields.modality_list(self.modalities),
            fuzzy_names=True,
        )

    @property
    def empty(self) -> bool:
        return not any(value.strip() for value in self.values().values())


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
    """The instance's attributes, as rows (`operations.instance_header` fetches them)."""
    server, local = _server(db, server_name)
    ds = operations.instance_header(
        server,
        instance.study_uid,
        instance.series_uid,
        instance.sop_uid,
        patient_id=instance.patient_id,
        local=local,
        cancel=cancel,
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


# -- transfers ---------------------------------------------------------------------------


@dataclass
class Selection:
    """Studies picked for a transfer: a whole study, or some of its series."""

    study: StudyRecord
    series: dict[str, SeriesRecord] = field(default_factory=dict)  # empty: the whole study

    @property
    def whole(self) -> bool:
        return not self.series

    def item(self) -> TransferItem:
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
