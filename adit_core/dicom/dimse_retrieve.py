"""What C-GET and C-MOVE share: the information model, identifiers, sub-operation counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom import Dataset
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # names made at run time
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from adit_core.dicom.dimse_association import status_error, status_text
from adit_core.dicom.errors import DicomCapabilityError, DicomOperationError
from adit_core.dicom.server import DicomServer, LocalNode

UNABLE_TO_PROCESS = 0xC000


@dataclass
class MoveResult:
    """Sub-operation counts as the server reported them in its final responses."""

    completed: int = 0
    failed: int = 0
    warning: int = 0
    failed_sop_uids: list[str] = field(default_factory=list)
    # Final status of the last request (one request per series for a series subset).
    status: int | None = None

    @property
    def total(self) -> int:
        return self.completed + self.failed + self.warning

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def add_final(self, status: Dataset, identifier: Dataset | None) -> None:
        self.status = int(status.Status)
        self.completed += int(status.get("NumberOfCompletedSuboperations") or 0)
        self.failed += int(status.get("NumberOfFailedSuboperations") or 0)
        self.warning += int(status.get("NumberOfWarningSuboperations") or 0)
        if identifier is not None and "FailedSOPInstanceUIDList" in identifier:
            value = identifier.FailedSOPInstanceUIDList
            uids = [value] if isinstance(value, str) else list(value or [])
            self.failed_sop_uids += [str(u) for u in uids if u]

    def add_pending(self, pending: Dataset | None) -> None:
        """Reconcile the final counts with the last pending response.

        Orthanc stops a C-GET or C-MOVE at the first instance it cannot send (e.g. no
        transfer syntax for it) and its final response then leaves out the sub-operations
        never tried, or has no counts at all. What the last pending response still expected
        and the final one does not account for is counted as failed.
        """
        if pending is None:
            return

        def count(keyword: str) -> int:
            return int(pending.get(keyword) or 0)

        self.completed = max(self.completed, count("NumberOfCompletedSuboperations"))
        self.warning = max(self.warning, count("NumberOfWarningSuboperations"))
        self.failed = max(self.failed, count("NumberOfFailedSuboperations"))
        expected = (
            count("NumberOfCompletedSuboperations")
            + count("NumberOfWarningSuboperations")
            + count("NumberOfFailedSuboperations")
            + count("NumberOfRemainingSuboperations")
        )
        if self.total < expected:
            self.failed += expected - self.total

    def merge(self, other: MoveResult) -> None:
        self.status = other.status
        self.completed += other.completed
        self.failed += other.failed
        self.warning += other.warning
        self.failed_sop_uids += other.failed_sop_uids

    def summary(self) -> str:
        text = f"{self.completed} completed, {self.failed} failed, {self.warning} warning"
        if self.failed_sop_uids:
            shown = ", ".join(self.failed_sop_uids[:5])
            more = len(self.failed_sop_uids) - 5
            text += f" (failed: {shown}{f' and {more} more' if more > 0 else ''})"
        return text


@dataclass
class GetResult(MoveResult):
    """C-GET counts: what the server reported, and what we actually received."""

    received: int = 0
    bytes_received: int = 0


class DicomIncompleteRetrieve(DicomOperationError):
    """Some sub-operations failed; everything that did arrive was already delivered."""

    def __init__(self, server: str, operation: str, result: MoveResult, note: str = ""):
        super().__init__(
            server,
            operation,
            f"only part of the data arrived: {result.summary()}" + (f"; {note}" if note else ""),
            status=result.status,
        )
        self.result = result


def all_failed(server: DicomServer, operation: str, result: MoveResult) -> DicomOperationError:
    # ADIT treats "nothing transferred" as worth another try (the archive may be busy).
    return DicomOperationError(
        server.name,
        operation,
        f"every sub-operation failed: {result.summary()}",
        status=result.status,
        transient=True,
    )


def retrieve_model(
    server: DicomServer, operation: str, patient_id: str | None, *, move: bool
) -> str:
    """Study root when the server has it, else patient root (which needs the PatientID)."""
    study_root = server.study_root_move if move else server.study_root_get
    patient_root = server.patient_root_move if move else server.patient_root_get
    if study_root:
        return str(
            StudyRootQueryRetrieveInformationModelMove
            if move
            else StudyRootQueryRetrieveInformationModelGet
        )
    if patient_root:
        if not patient_id:
            raise DicomCapabilityError(
                server.name,
                operation,
                "the server only supports the patient root model, which needs the PatientID",
            )
        return str(
            PatientRootQueryRetrieveInformationModelMove
            if move
            else PatientRootQueryRetrieveInformationModelGet
        )
    raise DicomCapabilityError(server.name, operation, f"the server is not set up for {operation}")


def identifiers(
    model: str, study_uid: str, series_uids: list[str] | None, patient_id: str | None
) -> list[Dataset]:
    """One identifier for the study, or one per series (SERIES level) for a subset."""
    patient_root = model in (
        PatientRootQueryRetrieveInformationModelGet,
        PatientRootQueryRetrieveInformationModelMove,
    )

    def base(level: str) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = level
        if patient_root:
            ds.PatientID = patient_id
        ds.StudyInstanceUID = study_uid
        return ds

    if not series_uids:
        return [base("STUDY")]
    out = []
    for uid in dict.fromkeys(series_uids):
        ds = base("SERIES")
        ds.SeriesInstanceUID = uid
        out.append(ds)
    return out


def request_failed(
    server: DicomServer,
    operation: str,
    code: int,
    table: dict[int, tuple[str, str]],
    comment: str,
    study_uid: str,
    local: LocalNode,
) -> DicomOperationError:
    """The error for a refused request; says so when the study is simply not there."""
    if code == UNABLE_TO_PROCESS and not comment:
        # Orthanc's answer to almost anything, an unknown study included: find out.
        from adit_core.dicom.dimse_find import study_exists

        if study_exists(server, study_uid, local) is False:
            return DicomOperationError(
                server.name,
                operation,
                f"the server answered {status_text(code, table)}: it has no study {study_uid}",
                status=code,
            )
    return status_error(server, operation, code, table, comment)
