"""C-GET of one instance at IMAGE level, decoded: for showing its attributes, not moving it."""

from __future__ import annotations

import threading
from io import BytesIO

from pydicom import Dataset, dcmread
from pynetdicom import evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelGet,
)
from pynetdicom.status import QR_GET_SERVICE_CLASS_STATUS, code_to_category

from adit_core.dicom.dimse_association import association, status_error
from adit_core.dicom.dimse_contexts import retrieve_contexts
from adit_core.dicom.dimse_retrieve import retrieve_model
from adit_core.dicom.errors import DicomCanceled, DicomOperationError
from adit_core.dicom.server import DicomServer, LocalNode


def get_instance(
    server: DicomServer,
    local: LocalNode,
    study_uid: str,
    series_uid: str,
    sop_instance_uid: str,
    *,
    patient_id: str = "",
    cancel: threading.Event | None = None,
) -> Dataset:
    """The instance as the server sends it (pixel data included). Setting `cancel` aborts
    the association and raises DicomCanceled."""
    model = retrieve_model(server, "C-GET", patient_id, move=False)
    contexts, roles = retrieve_contexts(model)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    if model == PatientRootQueryRetrieveInformationModelGet:
        identifier.PatientID = patient_id
    identifier.StudyInstanceUID = study_uid
    identifier.SeriesInstanceUID = series_uid
    identifier.SOPInstanceUID = sop_instance_uid
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        received.append(dcmread(BytesIO(event.encoded_dataset()), force=True))
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
                comment = str(status.get("ErrorComment", ""))
                raise status_error(server, "C-GET", code, QR_GET_SERVICE_CLASS_STATUS, comment)
            break
    if cancel is not None and cancel.is_set():
        raise DicomCanceled(server.name, "C-GET", "canceled")
    if not received:
        raise DicomOperationError(
            server.name, "C-GET", f"the server sent nothing for instance {sop_instance_uid}"
        )
    return received[0]
