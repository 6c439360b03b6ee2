"""The DICOM operations every feature uses, choosing the protocol per server.

- find: DIMSE C-FIND when the server has it, else QIDO-RS (as ADIT does).
- retrieve: the fastest path the server supports: WADO-RS, then C-GET, then C-MOVE
  (C-MOVE needs a storage SCP of ours as destination; see `MoveDestination`).
- store: C-STORE, else STOW-RS.
- instance_header: one instance's attributes, WADO-RS metadata, else a C-GET of it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from adit_core.dicom.errors import DicomCapabilityError

if TYPE_CHECKING:
    from adit_core.dicom.dicomweb_stow import StowResult
    from adit_core.dicom.dimse_store import StoreResult
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.query import FindResult, Query
from adit_core.dicom.server import DicomServer, LocalNode

if TYPE_CHECKING:
    from pydicom import Dataset

    from adit_core.dicom.dicomweb_stow import StowResult
    from adit_core.dicom.dimse_store import StoreResult


class RetrievePath(StrEnum):
    WADO_RS = "WADO-RS"
    C_GET = "C-GET"
    C_MOVE = "C-MOVE"


class MoveDestination(Protocol):
    """A storage SCP of ours that C-MOVE sub-operations can be sent to."""

    ae_title: str

    def receive(
        self,
        server: DicomServer,
        study_uid: str,
        *,
        series_uids: list[str] | None = None,
        patient_id: str | None = None,
        local: LocalNode | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[DicomInstance]:
        """Issue the C-MOVE and yield what arrives for it."""
        ...


def echo(server: DicomServer, local: LocalNode | None = None) -> tuple[str, float]:
    """Check the server answers; returns (method, seconds)."""
    local = local or LocalNode()
    if server.has_dimse:
        from adit_core.dicom import dimse

        return "C-ECHO", dimse.echo(server, local=local)
    if server.dicomweb_root_url and server.dicomweb_qido:
        from adit_core.dicom import dicomweb

        return "QIDO-RS", dicomweb.qido_ping(server)
    raise DicomCapabilityError(
        server.name, "echo", "the server has neither DIMSE nor QIDO-RS configured"
    )


def find(
    server: DicomServer,
    query: Query,
    *,
    limit: int | None = None,
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
) -> FindResult:
    """Search the server. `cancel` stops a C-FIND at its next response (DicomCanceled);
    a QIDO-RS search is one request and runs to its end."""
    if server.supports_find:
        from adit_core.dicom import dimse

        return dimse.find(server, query, limit=limit, local=local or LocalNode(), cancel=cancel)
    if server.dicomweb_root_url and server.dicomweb_qido:
        from adit_core.dicom import dicomweb

        return dicomweb.qido(server, query, limit=limit)
    raise DicomCapabilityError(
        server.name, "find", "the server supports neither C-FIND nor QIDO-RS"
    )


def retrieve_paths(server: DicomServer, *, can_move: bool = False) -> list[RetrievePath]:
    """The retrieval paths this server supports, fastest first."""
    paths = []
    if server.dicomweb_root_url and server.dicomweb_wado:
        paths.append(RetrievePath.WADO_RS)
    if server.supports_get:
        paths.append(RetrievePath.C_GET)
    if server.supports_move and can_move:
        paths.append(RetrievePath.C_MOVE)
    return paths


def retrieve(
    server: DicomServer,
    study_uid: str,
    *,
    series_uids: list[str] | None = None,
    patient_id: str | None = None,
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
    move_destination: MoveDestination | None = None,
    path: RetrievePath | None = None,
    sop_classes: Mapping[str, Collection[str]] | None = None,
    instance_uids: Mapping[str, Collection[str]] | None = None,
) -> Iterator[DicomInstance]:
    """Stream a study (or some of its series) from the server, one instance at a time.

    `sop_classes` (series UID → SOP classes) lets C-GET propose a presentation context
    per transfer syntax for exactly those classes, so nothing is transcoded.
    `instance_uids` (series UID → SOP Instance UIDs) makes WADO-RS ask instance by
    instance (for a study stored under several PatientIDs).
    """
    paths = retrieve_paths(server, can_move=move_destination is not None)
    if path is None:
        if not paths:
            raise DicomCapabilityError(
                server.name,
                "retrieve",
                "the server supports none of WADO-RS, C-GET"
                + (", C-MOVE" if move_destination else " (C-MOVE needs a receiver)"),
            )
        path = paths[0]
    elif path not in paths:
        raise DicomCapabilityError(server.name, "retrieve", f"{path} is not available")
    if path is RetrievePath.WADO_RS:
        from adit_core.dicom import dicomweb

        return dicomweb.wado_iter(
            server, study_uid, series_uids=series_uids, cancel=cancel, instance_uids=instance_uids
        )
    if path is RetrievePath.C_GET:
        from adit_core.dicom import dimse

        return dimse.get(
            server,
            study_uid,
            series_uids=series_uids,
            patient_id=patient_id,
            local=local or LocalNode(),
            cancel=cancel,
            sop_classes=sop_classes,
        )
    assert move_destination is not None
    return move_destination.receive(
        server,
        study_uid,
        series_uids=series_uids,
        patient_id=patient_id,
        local=local or LocalNode(),
        cancel=cancel,
    )


def instance_header(
    server: DicomServer,
    study_uid: str,
    series_uid: str,
    sop_instance_uid: str,
    *,
    patient_id: str = "",
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
) -> Dataset:
    """The attributes of one instance: WADO-RS metadata when the server has it (no pixel
    data travels), else a C-GET of that one instance."""
    if server.dicomweb_root_url and server.dicomweb_wado:
        from adit_core.dicom.dicomweb_wado import instance_metadata

        return instance_metadata(server, study_uid, series_uid, sop_instance_uid)
    if server.supports_get:
        from adit_core.dicom.dimse_get_instance import get_instance

        return get_instance(
            server,
            local or LocalNode(),
            study_uid,
            series_uid,
            sop_instance_uid,
            patient_id=patient_id,
            cancel=cancel,
        )
    raise DicomCapabilityError(
        server.name,
        "show tags",
        "loading one instance needs WADO-RS or C-GET, and the server has neither",
    )


def store(
    server: DicomServer,
    instances: Iterable[DicomInstance],
    *,
    local: LocalNode | None = None,
    associations: int = 1,
    cancel: threading.Event | None = None,
) -> StowResult | StoreResult:
    """Send instances to the server: STOW-RS when it has it (less CPU for us, and faster
    into Orthanc), else C-STORE. `associations` is the number of parallel connections."""
    if server.dicomweb_root_url and server.dicomweb_stow:
        from adit_core.dicom import dicomweb

        return dicomweb.stow(server, instances, connections=associations, batch_bytes=16 << 20)
    if server.store:
        from adit_core.dicom import dimse

        return dimse.store(
            server, instances, local=local or LocalNode(), associations=associations, cancel=cancel
        )
    raise DicomCapabilityError(
        server.name, "store", "the server supports neither C-STORE nor STOW-RS"
    )
