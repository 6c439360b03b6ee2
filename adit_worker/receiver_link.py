"""C-MOVE through our receiver: announce the move, send it, stream what arrives.

The worker opens a move request (`adit_core.move_protocol`), sends the C-MOVE naming the
receiver's AE title, and reads the arrivals the receiver commits (each after the file is
durably written) as their NOTIFY comes in. Files are consumed as they arrive, so
retrieval and sending overlap, and removed once handed on.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections.abc import Iterator

from sqlalchemy.orm import Session

from adit_core import move_protocol, settings
from adit_core.db.database import Database
from adit_core.dicom.dimse_retrieve import DicomIncompleteRetrieve, MoveResult
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import DicomServer, LocalNode
from adit_core.move_protocol import ArrivalWatch
from adit_core.spool import request_dir

log = logging.getLogger("adit.worker.move")

READ_LIMIT = 500  # arrivals read per query


class ReceiverLink:
    def __init__(self, db: Database, ae_title: str):
        self.db = db
        self.ae_title = ae_title

    @classmethod
    def from_settings(cls, db: Database, session: Session) -> ReceiverLink:
        return cls(db, settings.load(session).receiver_ae_title)

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
        from adit_core.dicom.dimse_move import move

        message_id = 1 + secrets.randbelow(65535)
        with self.db.session() as session:
            request_id = move_protocol.open_request(
                session, source_ae=server.ae_title, study_uid=study_uid, message_id=message_id
            )
        result: list[MoveResult] = []
        error: list[BaseException] = []
        moved = threading.Event()  # the C-MOVE has ended (set before its end is announced)
        # The move's own stop signal: set when the task is canceled, or when nobody reads
        # what arrives any more. Never the task's token itself: a reader that stops early
        # (a failed instance, a full disk) must not turn the task into a canceled one.
        stop = threading.Event()
        if cancel is not None:
            threading.Thread(
                target=_forward_cancel, args=(cancel, stop, moved), daemon=True
            ).start()

        def run_move() -> None:
            try:
                result.append(
                    move(
                        server,
                        study_uid,
                        self.ae_title,
                        series_uids=series_uids,
                        patient_id=patient_id,
                        local=local,
                        cancel=stop,
                        message_id=message_id,
                    )
                )
            except BaseException as exc:
                error.append(exc)
            finally:
                moved.set()
                with self.db.session() as session:
                    move_protocol.announce_end(session, request_id)

        # Listening before the C-MOVE is sent: no announcement can be missed.
        watch = ArrivalWatch(self.db.url)
        mover = threading.Thread(target=run_move, name=f"c-move {request_id}", daemon=True)
        mover.start()
        last_id = 0
        try:
            while True:
                finished = moved.is_set()
                with self.db.session() as session:
                    rows = move_protocol.new_arrivals(
                        session, request_id, after=last_id, limit=READ_LIMIT
                    )
                for arrival_id, file in rows:
                    last_id = arrival_id
                    yield DicomInstance.from_bytes(file.read_bytes())
                    file.unlink(missing_ok=True)
                if finished:  # nothing more will come: read until nothing is left
                    if not rows:
                        break
                elif len(rows) < READ_LIMIT:  # read all there was: wait for more
                    watch.wait()
                    watch.drain()  # what else was announced meanwhile, the next read gets
            if error:
                raise error[0]
            if result and result[0].failed:
                raise DicomIncompleteRetrieve(server.name, "C-MOVE", result[0])
        finally:
            watch.close()
            if mover.is_alive():
                stop.set()
            mover.join(timeout=60)
            with self.db.session() as session:
                move_protocol.close_request(session, request_id)
            shutil.rmtree(request_dir(request_id), ignore_errors=True)


def _forward_cancel(cancel: threading.Event, stop: threading.Event, moved: threading.Event) -> None:
    while not moved.is_set():
        if cancel.wait(0.2):
            stop.set()
            return
