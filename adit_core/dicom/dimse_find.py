"""C-FIND with ADIT's conventions: one request per modality and series number, results
merged and re-filtered client-side, and a cap that reports truncation instead of hiding it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import closing

from pydicom import Dataset
from pydicom.charset import convert_encodings
from pydicom.dataelem import RawDataElement
from pynetdicom import build_context
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # names made at run time
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)
from pynetdicom.status import QR_FIND_SERVICE_CLASS_STATUS, code_to_category

from adit_core.dicom.dimse_association import association, connection_lost, status_error
from adit_core.dicom.errors import DicomCanceled, DicomCapabilityError, DicomError
from adit_core.dicom.query import UID_KEY, FindResult, Level, Model, Query
from adit_core.dicom.server import DicomServer, LocalNode

logger = logging.getLogger(__name__)

OPERATION = "C-FIND"
# After C-CANCEL, how long to wait for the server to wind down before aborting instead.
_CANCEL_DRAIN_SECONDS = 3.0

_TEXT_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC"})

_MODEL_UIDS = {
    Model.STUDY_ROOT: str(StudyRootQueryRetrieveInformationModelFind),
    Model.PATIENT_ROOT: str(PatientRootQueryRetrieveInformationModelFind),
}


def find(
    server: DicomServer,
    query: Query,
    *,
    limit: int | None = None,
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
) -> FindResult:
    """Search `server`; at most `limit` (default: the server's cap) results are returned.

    When more matches exist, reading stops, the server is sent a C-CANCEL and the result
    says `truncated=True`. Setting `cancel` does the same at the next response and raises
    DicomCanceled.
    """
    local = local or LocalNode()
    cap = limit if limit is not None else server.max_search_results
    if query.level is Level.PATIENT and not server.patient_root_find:
        return _patients_from_studies(server, query, cap, local, cancel)
    model = _model(server, query)
    model_uid = _MODEL_UIDS[model]
    key = UID_KEY[query.level]
    found: dict[object, Dataset] = {}
    truncated = False
    with association(server, local, [build_context(model_uid)], operation=OPERATION) as assoc:
        for sub in (s for m in query.per_modality() for s in m.per_series_number()):
            identifier = _declare_charset(sub.identifier(model))
            matches = _responses(server, assoc, identifier, model_uid)
            with closing(matches):
                for ds in matches:
                    if cancel is not None and cancel.is_set():
                        raise DicomCanceled(server.name, OPERATION, "canceled")
                    if not query.matches(ds):
                        continue
                    ident = ds.get(key) or _fallback_key(ds)
                    if ident in found:
                        continue
                    if len(found) >= cap:
                        truncated = True
                        break
                    found[ident] = ds
            if truncated:
                break
    return FindResult(list(found.values()), truncated=truncated, limit=cap)


def study_exists(server: DicomServer, study_uid: str, local: LocalNode) -> bool | None:
    """Whether the server has the study; None when it cannot be asked."""
    if not server.supports_find:
        return None
    query = Query(level=Level.STUDY, study_instance_uid=study_uid)
    if not server.study_root_find:
        return None  # patient root would need the PatientID
    try:
        return len(find(server, query, limit=1, local=local)) > 0
    except DicomError:
        return None


def _model(server: DicomServer, query: Query) -> Model:
    if query.level is Level.PATIENT:
        return Model.PATIENT_ROOT
    if server.study_root_find:
        return Model.STUDY_ROOT
    if server.patient_root_find:
        if not query.patient_id or any(c in query.patient_id for c in "*?"):
            raise DicomCapabilityError(
                server.name,
                OPERATION,
                f"the server only supports patient-root C-FIND, which needs an exact "
                f"PatientID to search at {query.level.lower()} level",
            )
        return Model.PATIENT_ROOT
    raise DicomCapabilityError(server.name, OPERATION, "the server is not set up for C-FIND")


def _responses(
    server: DicomServer, assoc: Association, identifier: Dataset, model_uid: str
) -> Generator[Dataset, None, None]:
    """The matches of one C-FIND. Closing this generator early cancels the request."""
    finished = False
    responses = assoc.send_c_find(identifier, model_uid)
    last = time.monotonic()
    try:
        for status, ds in responses:
            if not status:
                finished = True
                raise connection_lost(
                    server, OPERATION, time.monotonic() - last, assoc.dimse_timeout
                )
            last = time.monotonic()
            code = int(status.Status)
            category = code_to_category(code)
            if category == "Pending":
                if ds is not None:
                    _fix_charset(ds)
                    yield ds
                continue
            finished = True
            if category == "Failure":
                comment = str(status.get("ErrorComment", ""))
                raise status_error(server, OPERATION, code, QR_FIND_SERVICE_CLASS_STATUS, comment)
            return
    finally:
        if not finished:
            _cancel(assoc, responses, model_uid)


def _cancel(
    assoc: Association, responses: Iterator[tuple[Dataset | None, Dataset | None]], model_uid: str
) -> None:
    """C-CANCEL, then read on until the server confirms; abort if it takes too long."""
    if not assoc.is_established:
        return
    assoc.send_c_cancel(1, query_model=model_uid)
    saved = assoc.dimse_timeout
    assoc.dimse_timeout = _CANCEL_DRAIN_SECONDS
    deadline = time.monotonic() + _CANCEL_DRAIN_SECONDS
    try:
        for status, _ in responses:
            if not status or code_to_category(int(status.Status)) != "Pending":
                return
            if time.monotonic() > deadline:
                break
        else:
            return
    finally:
        assoc.dimse_timeout = saved
    assoc.abort()


def _declare_charset(identifier: Dataset) -> Dataset:
    """Declare UTF-8 when a matching key is not ASCII.

    Query.identifier only looks at plain str values; a PersonName value slipped through, and
    the name then went out undeclared (Orthanc with a UTF-8 default matched nothing).
    """
    if "SpecificCharacterSet" not in identifier and any(
        elem.VR in _TEXT_VRS and not str(elem.value).isascii() for elem in identifier
    ):
        identifier.SpecificCharacterSet = "ISO_IR 192"
    return identifier


def _fix_charset(ds: Dataset) -> None:
    """Guess the character set when a server sends non-ASCII text without declaring one."""
    if "SpecificCharacterSet" in ds:
        return
    # get_item leaves elements undecoded (iterating the data set would decode them).
    tags = list(ds.keys())
    raw = [
        elem.value
        for elem in map(ds.get_item, tags)
        if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes)
    ]
    text = b"".join(raw)
    if text.isascii():
        return
    try:
        text.decode("utf-8")
        charset = "ISO_IR 192"
    except UnicodeDecodeError:
        charset = "ISO_IR 100"
    ds.SpecificCharacterSet = charset
    # Undecoded elements use the character set the data set was read with.
    implicit, little = ds.original_encoding
    ds.set_original_encoding(implicit, little, convert_encodings(charset))


def _fallback_key(ds: Dataset) -> tuple[object, ...]:
    return tuple((elem.tag, str(elem.value)) for elem in ds)


def _patients_from_studies(
    server: DicomServer, query: Query, cap: int, local: LocalNode, cancel: threading.Event | None
) -> FindResult:
    """Patient level on a study-root-only server: a study search, grouped by patient."""
    studies = find(server, query.at(Level.STUDY), limit=cap, local=local, cancel=cancel)
    patients: dict[str, Dataset] = {}
    for study in studies:
        pid = str(study.get("PatientID", ""))
        patient = patients.get(pid)
        if patient is None:
            patient = Dataset()
            patient.QueryRetrieveLevel = "PATIENT"
            for keyword in (
                "SpecificCharacterSet",
                "PatientID",
                "PatientName",
                "PatientBirthDate",
                "PatientSex",
            ):
                if keyword in study:
                    setattr(patient, keyword, study[keyword].value)
            patient.NumberOfPatientRelatedStudies = 0
            patients[pid] = patient
        patient.NumberOfPatientRelatedStudies += 1
    return FindResult(list(patients.values()), truncated=studies.truncated, limit=cap)
