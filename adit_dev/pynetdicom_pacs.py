"""A small query/retrieve PACS in pure Python (pynetdicom), for `adit demo` without Orthanc.

It speaks what ADIT needs from a source and a destination, on loopback:

- C-ECHO;
- C-FIND, study root and patient root, at PATIENT, STUDY, SERIES and IMAGE level, with
  single values, UID lists, ``*``/``?`` wildcards (case-insensitive for names) and date
  ranges; ModalitiesInStudy and the Number of ... Related ... counts are computed;
- C-GET and C-MOVE (to AE titles registered with `add_modality`, like Orthanc's
  DicomModalities) of a study, series or instance;
- C-STORE, into memory or, given `storage_dir`, into files there.

Not a production PACS: it keeps an index of every instance's header in memory.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, build_context, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # names made at run time
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from adit_core.dicom.query import element_values

log = logging.getLogger("adit.devservers.pacs")

SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
IDENTIFIER_MISMATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
OUT_OF_RESOURCES = 0xA700
MAX_CONTEXTS = 128

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEY = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
# Attributes each level owns (a record at a level carries those of its level and above).
LEVEL_ATTRIBUTES = {
    "PATIENT": ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "IssuerOfPatientID"),
    "STUDY": (
        "StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber",
        "StudyID", "ReferringPhysicianName",
    ),
    "SERIES": (
        "SeriesInstanceUID", "Modality", "SeriesDescription", "SeriesNumber", "SeriesDate",
        "SeriesTime", "BodyPartExamined",
    ),
    "IMAGE": ("SOPInstanceUID", "SOPClassUID", "InstanceNumber"),
}  # fmt: skip
_UID_LIST_VRS = frozenset({"UI"})
_DATE_VRS = frozenset({"DA", "TM", "DT"})


@dataclass
class _Stored:
    header: Dataset  # without pixel data, for matching
    path: Path | None  # the file, when stored on disk
    data: bytes | None  # the encoded file, when stored in memory
    sop_class_uid: str
    transfer_syntax_uid: str


def _text(value: object) -> str:
    if value is None:
        return ""
    values = element_values(value)
    return "\\".join(values) if values is not None else str(value)


def _wildcard(pattern: str, value: str, *, fold: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    return re.fullmatch(regex, value, flags) is not None


def _range(pattern: str, value: str) -> bool:
    if "-" not in pattern:
        return value == pattern
    start, _, end = pattern.partition("-")
    if not value:
        return False
    return (not start or value >= start) and (not end or value <= end)


def matches(key: str, vr: str, pattern: object, record: Dataset) -> bool:
    """DICOM matching of one key against a record (PS3.4 C.2.2.2, the usual subset)."""
    wanted = _text(pattern).strip()
    if not wanted or wanted == "*":
        return True
    value = _text(record.get(key, "")).strip()
    if vr in _UID_LIST_VRS:
        return value in wanted.split("\\")
    if vr in _DATE_VRS:
        return _range(wanted, value)
    if key == "ModalitiesInStudy":
        present = {m for m in value.split("\\") if m}
        return any(_wildcard(w, m, fold=True) for w in wanted.split("\\") for m in present)
    if vr == "PN":
        groups = [value, *value.split("=")]
        return any(_wildcard(wanted, g, fold=True) for g in groups)
    if "*" in wanted or "?" in wanted:
        return _wildcard(wanted, value, fold=vr in ("LO", "SH", "CS") and key != "PatientID")
    if "\\" in wanted:
        return value in wanted.split("\\")
    return value == wanted


class PynetdicomPacs:
    """The server: start(), stop(), add data, query its contents."""

    def __init__(
        self,
        *,
        ae_title: str = "ADIT_DEMO",
        host: str = "127.0.0.1",
        port: int = 0,
        storage_dir: Path | None = None,
        modalities: dict[str, tuple[str, str, int]] | None = None,
    ) -> None:
        self.ae_title = ae_title
        self.host = host
        self.dicom_port = port
        self.storage_dir = Path(storage_dir) if storage_dir else None
        # name → (AE title, host, port): the C-MOVE destinations it knows.
        self.modalities: dict[str, tuple[str, str, int]] = dict(modalities or {})
        self._instances: dict[str, _Stored] = {}
        self._lock = threading.RLock()
        self._server: Any = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        if self.storage_dir is not None:
            self.storage_dir.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.storage_dir.glob("*.dcm")):
                self._index(dcmread(path, force=True), path=path)
        ae = AE(ae_title=self.ae_title)
        ae.maximum_pdu_size = 0
        ae.network_timeout = 60
        ae.dimse_timeout = 60
        ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES)
        for context in AllStoragePresentationContexts:
            assert context.abstract_syntax is not None
            # scp_role: accept the peer as storage SCP on our C-GET associations.
            ae.add_supported_context(
                context.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=False, scp_role=True
            )
        for model in (
            StudyRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelGet,
            StudyRootQueryRetrieveInformationModelMove,
            PatientRootQueryRetrieveInformationModelFind,
            PatientRootQueryRetrieveInformationModelGet,
            PatientRootQueryRetrieveInformationModelMove,
        ):
            ae.add_supported_context(model)
        handlers: list[evt.EventHandlerType] = [
            (evt.EVT_C_FIND, self._on_find),
            (evt.EVT_C_GET, self._on_get),
            (evt.EVT_C_MOVE, self._on_move),
            (evt.EVT_C_STORE, self._on_store),
        ]
        self._server = ae.start_server(
            (self.host, self.dicom_port), block=False, evt_handlers=handlers
        )
        self.dicom_port = self._server.server_address[1]
        log.info("PACS listening", extra={"ae_title": self.ae_title, "port": self.dicom_port})

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()

    def __enter__(self) -> PynetdicomPacs:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- administration (the same names as OrthancServer's) --------------------------------

    def add_modality(self, name: str, ae_title: str, host: str, port: int) -> None:
        """Register a C-MOVE destination."""
        with self._lock:
            self.modalities[name] = (ae_title, host, port)

    def upload(self, ds: Dataset | bytes | Path) -> None:
        if isinstance(ds, Path):
            ds = ds.read_bytes()
        if isinstance(ds, (bytes, bytearray)):
            ds = dcmread(BytesIO(ds), force=True)
        self._keep(ds)

    def upload_many(self, items: Iterable[Dataset | bytes | Path]) -> int:
        count = 0
        for item in items:
            self.upload(item)
            count += 1
        return count

    def reset(self) -> None:
        with self._lock:
            for stored in self._instances.values():
                if stored.path is not None:
                    stored.path.unlink(missing_ok=True)
            self._instances.clear()

    def instance_count(self) -> int:
        return len(self._instances)

    def study_uids(self) -> set[str]:
        return {str(s.header.StudyInstanceUID) for s in self._snapshot()}

    def instance_uids(self, study_uid: str | None = None) -> set[str]:
        return {
            uid
            for uid, s in self._snapshot_items()
            if study_uid is None or str(s.header.get("StudyInstanceUID", "")) == study_uid
        }

    # -- storage -------------------------------------------------------------------------

    def _snapshot(self) -> list[_Stored]:
        with self._lock:
            return list(self._instances.values())

    def _snapshot_items(self) -> list[tuple[str, _Stored]]:
        with self._lock:
            return list(self._instances.items())

    def _keep(self, ds: Dataset) -> None:
        meta = getattr(ds, "file_meta", None)
        if meta is None or "TransferSyntaxUID" not in meta:
            meta = FileMetaDataset()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta = meta
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        data = buffer.getvalue()
        path = None
        if self.storage_dir is not None:
            path = self.storage_dir / f"{ds.SOPInstanceUID}.dcm"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        self._index(ds, path=path, data=None if path else data)

    def _index(self, ds: Dataset, *, path: Path | None, data: bytes | None = None) -> None:
        header = Dataset()
        for elem in ds:
            if elem.tag.group == 0x7FE0 or elem.VR in ("OB", "OW", "OF", "OD", "UN"):
                continue
            header.add(elem)
        if "SpecificCharacterSet" in ds:
            header.SpecificCharacterSet = ds.SpecificCharacterSet
        stored = _Stored(
            header=header,
            path=path,
            data=data,
            sop_class_uid=str(ds.SOPClassUID),
            transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        )
        with self._lock:
            self._instances[str(ds.SOPInstanceUID)] = stored

    def _load(self, stored: _Stored) -> Dataset:
        raw = stored.path.read_bytes() if stored.path is not None else stored.data
        assert raw is not None
        return dcmread(BytesIO(raw), force=True)

    # -- matching ------------------------------------------------------------------------

    def records(self, level: str) -> list[Dataset]:
        """One data set per object at `level`, with the attributes of it and its parents
        plus the computed counts."""
        depth = LEVELS.index(level)
        owned = [a for lv in LEVELS[: depth + 1] for a in LEVEL_ATTRIBUTES[lv]]
        groups: dict[str, list[Dataset]] = {}
        for stored in self._snapshot():
            key = str(stored.header.get(UNIQUE_KEY[level], ""))
            groups.setdefault(key, []).append(stored.header)
        out = []
        for headers in groups.values():
            first = headers[0]
            record = Dataset()
            if "SpecificCharacterSet" in first:
                record.SpecificCharacterSet = first.SpecificCharacterSet
            for keyword in owned:
                if keyword in first:
                    record.add(first[keyword])
            studies = {str(h.get("StudyInstanceUID", "")) for h in headers}
            series = {str(h.get("SeriesInstanceUID", "")) for h in headers}
            if level == "PATIENT":
                record.NumberOfPatientRelatedStudies = len(studies)
                record.NumberOfPatientRelatedSeries = len(series)
                record.NumberOfPatientRelatedInstances = len(headers)
            elif level == "STUDY":
                record.NumberOfStudyRelatedSeries = len(series)
                record.NumberOfStudyRelatedInstances = len(headers)
                record.ModalitiesInStudy = sorted(
                    {str(h.get("Modality", "")) for h in headers if h.get("Modality")}
                )
            elif level == "SERIES":
                record.NumberOfSeriesRelatedInstances = len(headers)
            out.append(record)
        return out

    def search(self, identifier: Dataset) -> list[Dataset]:
        level = str(identifier.get("QueryRetrieveLevel", "")).upper()
        if level not in LEVELS:
            raise ValueError(f"bad QueryRetrieveLevel {level!r}")
        found = []
        keys = [
            e for e in identifier if e.keyword not in ("QueryRetrieveLevel", "SpecificCharacterSet")
        ]
        for record in self.records(level):
            if all(matches(e.keyword, e.VR, e.value, record) for e in keys if e.keyword):
                found.append(record)
        return found

    def _answer(self, record: Dataset, identifier: Dataset) -> Dataset:
        reply = Dataset()
        reply.SpecificCharacterSet = "ISO_IR 192"
        reply.QueryRetrieveLevel = identifier.QueryRetrieveLevel
        for elem in identifier:
            if elem.keyword in ("QueryRetrieveLevel", "SpecificCharacterSet") or not elem.keyword:
                continue
            if elem.keyword in record:
                reply.add(record[elem.keyword])
            else:
                setattr(reply, elem.keyword, None)
        return reply

    def _instances_for(self, identifier: Dataset) -> list[_Stored]:
        level = str(identifier.get("QueryRetrieveLevel", "")).upper()
        if level not in LEVELS:
            raise ValueError(f"bad QueryRetrieveLevel {level!r}")
        keys = [
            (e.keyword, e.value)
            for e in identifier
            if e.keyword in UNIQUE_KEY.values() and _text(e.value).strip()
        ]
        if not keys:
            raise ValueError("a retrieve needs the unique key of its level")
        chosen = []
        for stored in self._snapshot():
            if all(str(stored.header.get(k, "")) in _text(v).split("\\") for k, v in keys):
                chosen.append(stored)
        return chosen

    # -- handlers (in pynetdicom's threads) -------------------------------------------------

    def _on_find(self, event: evt.Event) -> Iterator[tuple[int, Dataset | None]]:
        try:
            identifier = event.identifier
            found = self.search(identifier)
        except Exception as exc:  # a bad identifier must not take the server down
            log.warning("C-FIND refused", extra={"error": str(exc)})
            yield IDENTIFIER_MISMATCH, None
            return
        for record in found:
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, self._answer(record, identifier)

    def _on_get(self, event: evt.Event) -> Iterator[Any]:
        try:
            chosen = self._instances_for(event.identifier)
        except Exception as exc:
            log.warning("C-GET refused", extra={"error": str(exc)})
            yield IDENTIFIER_MISMATCH, None
            return
        yield len(chosen)
        for stored in chosen:
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, self._load(stored)

    def _on_move(self, event: evt.Event) -> Iterator[Any]:
        destination = event.move_destination
        name = (
            destination.decode("ascii", "replace")
            if isinstance(destination, bytes)
            else str(destination)
        )
        with self._lock:
            known = {ae.strip(): (host, port) for ae, host, port in self.modalities.values()}
        if name.strip() not in known:
            log.warning("C-MOVE to an unknown AE", extra={"destination": name})
            yield None, None
            return
        try:
            chosen = self._instances_for(event.identifier)
        except Exception as exc:
            log.warning("C-MOVE refused", extra={"error": str(exc)})
            yield IDENTIFIER_MISMATCH, None
            return
        host, port = known[name.strip()]
        pairs = dict.fromkeys((s.sop_class_uid, s.transfer_syntax_uid) for s in chosen)
        contexts = []
        for sop_class, syntax in list(pairs)[:MAX_CONTEXTS]:
            syntaxes = list(dict.fromkeys([syntax, ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
            contexts.append(build_context(sop_class, syntaxes))
        yield host, port, {"contexts": contexts}
        yield len(chosen)
        for stored in chosen:
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, self._load(stored)

    def _on_store(self, event: evt.Event) -> int:
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            self._keep(ds)
        except Exception as exc:
            log.warning("C-STORE failed", extra={"error": str(exc)})
            return OUT_OF_RESOURCES
        return SUCCESS
