"""The C-STORE SCP that C-MOVE sub-operations are sent to.

It answers success only after the instance is durably on disk (temporary file, fsync,
rename) and recorded in the database, so nothing acknowledged can be lost. Instances
that no worker asked for are quarantined and recorded instead of being dropped.
"""

from __future__ import annotations

import logging
import socket
import threading

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from adit_core import move_protocol
from adit_core.db.database import Database
from adit_core.dicom.dimse_contexts import ALL_STORAGE_SOP_CLASSES
from adit_core.folders import write_atomic
from adit_core.move_protocol import Received

log = logging.getLogger("adit.receiver")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700


class Receiver:
    def __init__(self, database_url: str, *, ae_title: str, port: int, host: str = "0.0.0.0"):
        self.ae_title = ae_title
        self.host = host
        self.port = port
        self._db = Database(database_url)
        self._server: ThreadedAssociationServer | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        ae = AE(ae_title=self.ae_title)
        # Every storage class of the standard, retired ones too, in every transfer syntax:
        # what C-MOVE sends is taken as it is, never refused or transcoded for lack of one.
        for sop_class in ALL_STORAGE_SOP_CLASSES:
            ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        ae.maximum_pdu_size = 0  # unlimited: fewer, larger PDUs from the sender
        ae.network_timeout = 600
        ae.dimse_timeout = 600
        handlers: list[evt.EventHandlerType] = [
            (evt.EVT_CONN_OPEN, _set_nodelay),
            (evt.EVT_C_STORE, self._on_store),
        ]
        server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        assert server is not None  # block=False returns the running server
        self._server = server
        self.port = server.server_address[1]
        log.info("receiver listening", extra={"ae_title": self.ae_title, "port": self.port})

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # waits for running associations' handlers
            self._server = None
        self._db.dispose()
        self._stopped.set()

    def _on_store(self, event: evt.Event) -> int:
        sop_uid = str(event.request.AffectedSOPInstanceUID)  # type: ignore[union-attr]
        calling_ae = str(event.assoc.requestor.ae_title).strip()
        try:
            ds = event.dataset
            study_uid = str(ds.get("StudyInstanceUID", ""))
            data = event.encoded_dataset()
            move_id = event.request.MoveOriginatorMessageID  # type: ignore[union-attr]
            with self._db.session() as session:
                request_id = move_protocol.match_request(
                    session, study_uid=study_uid, calling_ae=calling_ae, move_originator_id=move_id
                )
            received = Received(
                request_id=request_id,
                calling_ae=calling_ae,
                study_uid=study_uid,
                series_uid=str(ds.get("SeriesInstanceUID", "")),
                sop_instance_uid=sop_uid,
                path=move_protocol.arrival_path(
                    request_id, calling_ae=calling_ae, study_uid=study_uid, sop_instance_uid=sop_uid
                ),
                size=len(data),
            )
            write_atomic(received.path, data)
            with self._db.session() as session:
                move_protocol.record_arrival(session, received)
        except Exception:
            log.exception(
                "could not store a received instance; answered 0xA700 so the sender knows",
                extra={"sop_instance_uid": sop_uid, "calling_ae": calling_ae},
            )
            return OUT_OF_RESOURCES
        if request_id is None:
            log.warning(
                "quarantined an instance no move request asked for",
                extra={
                    "sop_instance_uid": sop_uid,
                    "calling_ae": calling_ae,
                    "path": str(received.path),
                },
            )
        return SUCCESS


def _set_nodelay(event: evt.Event) -> None:
    sock = event.assoc.dul.socket
    if sock is not None and sock.socket is not None:
        sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
