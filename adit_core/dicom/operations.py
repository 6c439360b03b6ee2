"""The DICOM operations every feature uses, choosing the protocol per server.

- find: DIMSE C-FIND when the server has it, else QIDO-RS (as ADIT does).
- retrieve: the fastest path the server supports: WADO-RS, then C-GET, then C-MOVE
  (C-MOVE needs a storage SCP of ours as destination; see `MoveDestination`).
- store: C-STORE, else STOW-RS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from adit_core.dicom.errors import DicomCapabilityError
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.query import FindResult, Query
from adit_core.dicom.server import DicomServer, LocalNode

if TYPE_CHECKING:
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
) -> Iterator[DicomInstance]:
    """Stream a study (or some of its series) from the server, one instance at a time."""
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

        return dicomweb.wado_iter(server, study_uid, series_uids=series_uids, cancel=cancel)
    if path is RetrievePath.C_GET:
        from adit_core.dicom import dimse

        return dimse.get(
            server,
            study_uid,
            series_uids=series_uids,
            patient_id=patient_id,
            local=local or LocalNode(),
            cancel=cancel,
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


def store(
    server: DicomServer,
    instances: Iterable[DicomInstance],
    *,
    local: LocalNode | None = None,
    associations: int = 1,
    cancel: threading.Event | None = None,
) -> StoreResult | StowResult:
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
