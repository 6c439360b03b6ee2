"""C-MOVE through our receiver: announce the move, send it, stream what arrives.

The worker records a move request (source AE, study, the random Message ID of its C-MOVE),
sends the C-MOVE naming the receiver's AE title, and reads the arrival rows the receiver
commits (each after the file is durably written). Files are consumed as they arrive, so
retrieval and sending overlap, and removed once handed on.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from adit_core import settings
from adit_core.db.database import Database
from adit_core.dicom.dimse_retrieve import DicomIncompleteRetrieve, MoveResult
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import DicomServer, LocalNode
from adit_core.spool import request_dir

log = logging.getLogger("adit.worker.move")


class ReceiverLink:
    def __init__(self, db: Database, ae_title: str, *, poll_interval: float = 0.1):
        self.db = db
        self.ae_title = ae_title
        self.poll_interval = poll_interval

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
            request_id = session.execute(
                text(
                    "INSERT INTO move_requests (source_ae, study_uid, message_id) "
                    "VALUES (:ae, :study, :mid) RETURNING id"
                ),
                {"ae": server.ae_title, "study": study_uid, "mid": message_id},
            ).scalar_one()
        outcome: dict[str, object] = {}

        def run_move() -> None:
            try:
                outcome["result"] = move(
                    server,
                    study_uid,
                    self.ae_title,
                    series_uids=series_uids,
                    patient_id=patient_id,
                    local=local,
                    cancel=cancel,
                    message_id=message_id,
                )
            except BaseException as exc:
                outcome["error"] = exc

        mover = threading.Thread(target=run_move, name=f"c-move {request_id}", daemon=True)
        mover.start()
        last_id = 0
        try:
            while True:
                finished = not mover.is_alive()
                rows = self._arrivals(request_id, last_id)
                for arrival_id, path in rows:
                    last_id = arrival_id
                    file = Path(path)
                    yield DicomInstance.from_bytes(file.read_bytes())
                    file.unlink(missing_ok=True)
                if finished and not rows:
                    break
                if not rows:
                    time.sleep(self.poll_interval)
            if "error" in outcome:
                raise outcome["error"]  # type: ignore[misc]
            result = outcome.get("result")
            if isinstance(result, MoveResult) and result.failed:
                raise DicomIncompleteRetrieve(server.name, "C-MOVE", result)
        finally:
            if cancel is not None and mover.is_alive():
                cancel.set()
            mover.join(timeout=60)
            with self.db.session() as session:
                session.execute(
                    text("UPDATE move_requests SET closed_at = now() WHERE id = :id"),
                    {"id": request_id},
                )
            shutil.rmtree(request_dir(request_id), ignore_errors=True)

    def _arrivals(self, request_id: int, after: int) -> list[tuple[int, str]]:
        with self.db.session() as session:
            return [
                (int(r[0]), str(r[1]))
                for r in session.execute(
                    text(
                        "SELECT id, path FROM arrivals "
                        "WHERE move_request_id = :rid AND id > :after ORDER BY id LIMIT 500"
                    ),
                    {"rid": request_id, "after": after},
                )
            ]
