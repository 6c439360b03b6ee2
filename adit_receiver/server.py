"""The C-STORE SCP that C-MOVE sub-operations are sent to.

It answers success only after the instance is durably on disk (temporary file, fsync,
rename) and recorded in the database, so nothing acknowledged can be lost. Instances
that no worker asked for are quarantined and recorded instead of being dropped.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import ConnectionPool
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from adit_core.dicom.dimse_contexts import ALL_STORAGE_SOP_CLASSES
from adit_core.folders import sanitize, write_atomic
from adit_core.spool import quarantine_dir, request_dir

log = logging.getLogger("adit.receiver")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700


@dataclass(frozen=True)
class Arrival:
    request_id: int | None
    path: Path


class Receiver:
    def __init__(self, database_url: str, *, ae_title: str, port: int, host: str = "0.0.0.0"):
        self.ae_title = ae_title
        self.host = host
        self.port = port
        self._pool = ConnectionPool(
            database_url, min_size=1, max_size=8, kwargs={"autocommit": True}, open=False
        )
        self._server = None
        self._stopped = threading.Event()

    def start(self) -> None:
        self._pool.open(wait=True, timeout=30)
        ae = AE(ae_title=self.ae_title)
        # Every storage class of the standard, retired ones too, in every transfer syntax:
        # what C-MOVE sends is taken as it is, never refused or transcoded for lack of one.
        for sop_class in ALL_STORAGE_SOP_CLASSES:
            ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        ae.maximum_pdu_size = 0  # unlimited: fewer, larger PDUs from the sender
        ae.network_timeout = 600
        ae.dimse_timeout = 600
        handlers = [(evt.EVT_CONN_OPEN, _set_nodelay), (evt.EVT_C_STORE, self._on_store)]
        self._server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        self.port = self._server.server_address[1]
        log.info("receiver listening", extra={"ae_title": self.ae_title, "port": self.port})

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # waits for running associations' handlers
            self._server = None
        self._pool.close()
        self._stopped.set()

    def _on_store(self, event: evt.Event) -> int:
        request = event.request
        sop_uid = str(request.AffectedSOPInstanceUID)
        calling_ae = str(event.assoc.requestor.ae_title).strip()
        try:
            ds = event.dataset
            study_uid = str(ds.get("StudyInstanceUID", ""))
            series_uid = str(ds.get("SeriesInstanceUID", ""))
            data = event.encoded_dataset()
            move_id = request.MoveOriginatorMessageID
            request_id = self._match(study_uid, calling_ae, move_id)
            if request_id is None:
                path = (
                    quarantine_dir()
                    / sanitize(calling_ae, "unknown")
                    / sanitize(study_uid, "nostudy")
                    / f"{sanitize(sop_uid, 'instance')}.dcm"
                )
            else:
                path = request_dir(request_id) / f"{sanitize(sop_uid, 'instance')}.dcm"
            write_atomic(path, data)
            with self._pool.connection() as conn:
                conn.execute(
                    "INSERT INTO arrivals (move_request_id, calling_ae, study_uid, series_uid, "
                    "sop_instance_uid, path, size, quarantined) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (request_id, calling_ae, study_uid, series_uid, sop_uid, str(path),
                     len(data), request_id is None),
                )  # fmt: skip
        except Exception:
            log.exception(
                "could not store a received instance; answered 0xA700 so the sender knows",
                extra={"sop_instance_uid": sop_uid, "calling_ae": calling_ae},
            )
            return OUT_OF_RESOURCES
        if request_id is None:
            log.warning(
                "quarantined an instance no move request asked for",
                extra={"sop_instance_uid": sop_uid, "calling_ae": calling_ae, "path": str(path)},
            )
        return SUCCESS

    def _match(self, study_uid: str, calling_ae: str, move_id: int | None) -> int | None:
        """The open move request this instance answers, by Message ID, else by study."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, source_ae, message_id FROM move_requests "
                "WHERE closed_at IS NULL AND study_uid = %s ORDER BY id",
                (study_uid,),
            ).fetchall()
        if not rows:
            return None
        if move_id:
            for rid, _ae, message_id in rows:
                if message_id == move_id:
                    return int(rid)
        same_source = [rid for rid, ae, _m in rows if ae == calling_ae]
        return int((same_source or [rows[0][0]])[0])


def _set_nodelay(event: evt.Event) -> None:
    sock = event.assoc.dul.socket
    if sock is not None and sock.socket is not None:
        sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
