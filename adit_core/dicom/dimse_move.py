"""C-MOVE: ask a server to send a study (or some series) to a third AE."""

from __future__ import annotations

import threading
import time

from pydicom import Dataset
from pynetdicom import build_context
from pynetdicom.association import Association
from pynetdicom.status import QR_MOVE_SERVICE_CLASS_STATUS, code_to_category

from adit_core.dicom.dimse_association import (
    association,
    connection_lost,
    status_error,
    status_text,
)
from adit_core.dicom.dimse_retrieve import (
    UNABLE_TO_PROCESS,
    DicomIncompleteRetrieve,
    MoveResult,
    all_failed,
    identifiers,
    retrieve_model,
)
from adit_core.dicom.errors import DicomCanceled, DicomError, DicomOperationError
from adit_core.dicom.server import DicomServer, LocalNode

OPERATION = "C-MOVE"
MOVE_DESTINATION_UNKNOWN = 0xA801


def move(
    server: DicomServer,
    study_uid: str,
    destination_ae: str,
    *,
    series_uids: list[str] | None = None,
    patient_id: str | None = None,
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
    cancel_grace: float = 10.0,
    message_id: int = 1,
) -> MoveResult:
    """Move a study (or one request per series) to `destination_ae`; returns the counts.

    Failed sub-operations are reported in the result (with their UIDs when the server
    lists them), not raised, unless every one failed. When one series request of several
    is refused outright, the others still run and DicomIncompleteRetrieve (holding the
    counts) is raised at the end, as that series has no count to report.

    On `cancel` a C-CANCEL is sent; if the server has not stopped within `cancel_grace`
    seconds the association is aborted. Either way DicomCanceled is raised.
    """
    local = local or LocalNode()
    model = retrieve_model(server, OPERATION, patient_id, move=True)
    result = MoveResult()
    refused: list[str] = []  # requests refused after earlier ones worked
    done = threading.Event()
    with association(server, local, [build_context(model)], operation=OPERATION) as assoc:
        watcher = None
        if cancel is not None:
            watcher = threading.Thread(
                target=_abort_when_canceled,
                args=(assoc, cancel, done, cancel_grace),
                name=f"c-move cancel {server.name}",
                daemon=True,
            )
            watcher.start()
        try:
            for identifier in identifiers(model, study_uid, series_uids, patient_id):
                if cancel is not None and cancel.is_set():
                    raise DicomCanceled(
                        server.name, OPERATION, f"canceled after {result.summary()}"
                    )
                part, comment = _one_request(
                    server, assoc, model, identifier, destination_ae, result, cancel, message_id
                )
                result.merge(part)
                if part.total == 0 and code_to_category(part.status or 0) == "Failure":
                    if result.completed or result.warning:
                        # Earlier requests reached the destination: this one failed at its
                        # start (Orthanc: its first instance could not be sent). Go on.
                        code = part.status or 0
                        refused.append(
                            f"the server answered "
                            f"{status_text(code, QR_MOVE_SERVICE_CLASS_STATUS)} to the request "
                            f"for series {identifier.get('SeriesInstanceUID', '?')}"
                        )
                        continue
                    if part.status == UNABLE_TO_PROCESS and not comment:
                        raise _nothing_moved(server, study_uid, destination_ae, local)
                    raise status_error(
                        server, OPERATION, part.status or 0, QR_MOVE_SERVICE_CLASS_STATUS, comment
                    )
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
    if result.failed and not (result.completed or result.warning):
        raise all_failed(server, OPERATION, result)
    if refused:
        raise DicomIncompleteRetrieve(server.name, OPERATION, result, "; ".join(refused))
    return result


def _one_request(
    server: DicomServer,
    assoc: Association,
    model: str,
    identifier: Dataset,
    destination_ae: str,
    so_far: MoveResult,
    cancel: threading.Event | None,
    message_id: int,
) -> tuple[MoveResult, str]:
    part = MoveResult()
    canceled = False
    pending: Dataset | None = None
    last = time.monotonic()
    for status, response in assoc.send_c_move(identifier, destination_ae, model, msg_id=message_id):
        if not status:
            if canceled or (cancel is not None and cancel.is_set()):
                raise DicomCanceled(server.name, OPERATION, f"aborted after {so_far.summary()}")
            raise connection_lost(server, OPERATION, time.monotonic() - last, assoc.dimse_timeout)
        last = time.monotonic()
        if cancel is not None and cancel.is_set() and not canceled:
            canceled = True
            assoc.send_c_cancel(message_id, query_model=model)
        code = int(status.Status)
        category = code_to_category(code)
        if category == "Pending":
            pending = status
            continue
        part.add_final(status, response)
        part.add_pending(pending)
        if category == "Cancel" or canceled:
            so_far.merge(part)
            raise DicomCanceled(server.name, OPERATION, f"canceled after {so_far.summary()}")
        if code == MOVE_DESTINATION_UNKNOWN:
            raise _unknown_destination(server, destination_ae, code)
        return part, str(status.get("ErrorComment", ""))
    return part, ""


def _abort_when_canceled(
    assoc: Association, cancel: threading.Event, done: threading.Event, grace: float
) -> None:
    # The C-CANCEL itself is sent between responses by the requesting thread; this only
    # steps in when the server ignores it or sends nothing for a long time.
    while not done.is_set():
        if cancel.wait(0.2):
            if not done.wait(grace) and assoc.is_established:
                assoc.abort()
                assoc.dimse.msg_queue.put((None, None))
            return


def _unknown_destination(
    server: DicomServer, destination_ae: str, code: int, note: str = ""
) -> DicomError:
    return DicomOperationError(
        server.name,
        OPERATION,
        f"the server answered {status_text(code, QR_MOVE_SERVICE_CLASS_STATUS)}: the "
        f"destination AE title {destination_ae!r} is unknown to {server.name}. An "
        f"administrator of {server.name} must register it there (AE title, host, port)."
        + (f" {note}" if note else ""),
        status=code,
    )


def _nothing_moved(
    server: DicomServer, study_uid: str, destination_ae: str, local: LocalNode
) -> DicomError:
    """Orthanc answers 0xC000 for an unknown destination and for an unknown study alike."""
    from adit_core.dicom.dimse_find import study_exists

    exists = study_exists(server, study_uid, local)
    if exists is False:
        return DicomOperationError(
            server.name,
            OPERATION,
            f"the server answered {status_text(UNABLE_TO_PROCESS, QR_MOVE_SERVICE_CLASS_STATUS)}"
            f": it has no study {study_uid}",
            status=UNABLE_TO_PROCESS,
        )
    if exists is None:
        note = "(Or it has no such study; that could not be checked.)"
        return _unknown_destination(server, destination_ae, UNABLE_TO_PROCESS, note)
    # The study is there: Orthanc answers the same when it cannot reach the destination and
    # when it cannot send an instance (e.g. in no transfer syntax the destination takes).
    return DicomOperationError(
        server.name,
        OPERATION,
        f"the server answered {status_text(UNABLE_TO_PROCESS, QR_MOVE_SERVICE_CLASS_STATUS)} "
        f"and moved nothing: either it cannot send to {destination_ae!r} (not registered "
        f"there, or not reachable), or it could not send the first instance of the request "
        f"(e.g. it cannot convert it to a transfer syntax {destination_ae!r} accepts). "
        f"{server.name}'s log says which.",
        status=UNABLE_TO_PROCESS,
    )
