"""The C-MOVE receipt protocol between a worker and the receiver (`adit receiver`).

1. The worker opens a move request (source AE title, study, the random Message ID of the
   C-MOVE it is about to send) and listens on `adit_arrivals`.
2. For each C-STORE the receiver finds the open request it answers (by Move Originator
   Message ID, else by study and calling AE title), writes the file durably where
   `arrival_path` says, records the arrival (a trigger sends NOTIFY `adit_arrivals`), and
   only then answers success. An instance nobody asked for is quarantined and recorded,
   never dropped.
3. The worker reads new arrivals as they are announced (`ArrivalWatch`), hands the files
   on and deletes them; when its C-MOVE has ended it announces that too, reads what is
   left, and closes the request.

Receiver and workers must share the spool folder (`adit_core.spool`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from adit_core.db.models import Arrival, MoveRequest
from adit_core.folders import sanitize
from adit_core.spool import quarantine_dir, request_dir

log = logging.getLogger("adit.move")

CHANNEL = "adit_arrivals"


def open_request(session: Session, *, source_ae: str, study_uid: str, message_id: int) -> int:
    """Announce a C-MOVE before it is sent; returns the request's id."""
    return int(
        session.scalars(
            insert(MoveRequest)
            .values(source_ae=source_ae, study_uid=study_uid, message_id=message_id)
            .returning(MoveRequest.id)
        ).one()
    )


def match_request(
    session: Session, *, study_uid: str, calling_ae: str, move_originator_id: int | None
) -> int | None:
    """The open request an incoming instance answers: the one whose Message ID the
    instance names, else the oldest of its study from the same AE title, else the oldest
    of its study. None: nobody asked for it."""
    rows = session.execute(
        select(MoveRequest.id, MoveRequest.source_ae, MoveRequest.message_id)
        .where(MoveRequest.closed_at.is_(None), MoveRequest.study_uid == study_uid)
        .order_by(MoveRequest.id)
    ).all()
    if not rows:
        return None
    if move_originator_id:
        for request_id, _ae, message_id in rows:
            if message_id == move_originator_id:
                return int(request_id)
    same_source = [request_id for request_id, ae, _m in rows if ae == calling_ae]
    return int((same_source or [rows[0][0]])[0])


def arrival_path(
    request_id: int | None, *, calling_ae: str, study_uid: str, sop_instance_uid: str
) -> Path:
    """Where the receiver writes an instance: its request's folder, or quarantine."""
    name = f"{sanitize(sop_instance_uid, 'instance')}.dcm"
    if request_id is None:
        return (
            quarantine_dir() / sanitize(calling_ae, "unknown") / sanitize(study_uid, "nostudy")
            / name
        )  # fmt: skip
    return request_dir(request_id) / name


@dataclass(frozen=True)
class Received:
    """What the receiver wrote for one incoming instance."""

    request_id: int | None  # None: quarantined
    calling_ae: str
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    path: Path
    size: int


def record_arrival(session: Session, received: Received) -> None:
    """Record a durably written instance (and so NOTIFY its request's worker)."""
    session.execute(
        insert(Arrival).values(
            move_request_id=received.request_id,
            calling_ae=received.calling_ae,
            study_uid=received.study_uid,
            series_uid=received.series_uid,
            sop_instance_uid=received.sop_instance_uid,
            path=str(received.path),
            size=received.size,
            quarantined=received.request_id is None,
        )
    )


def new_arrivals(
    session: Session, request_id: int, *, after: int, limit: int = 500
) -> list[tuple[int, Path]]:
    """(arrival id, file) of the request's arrivals after arrival id `after`, in order."""
    rows = session.execute(
        select(Arrival.id, Arrival.path)
        .where(Arrival.move_request_id == request_id, Arrival.id > after)
        .order_by(Arrival.id)
        .limit(limit)
    ).all()
    return [(int(arrival_id), Path(path)) for arrival_id, path in rows]


def announce_end(session: Session, request_id: int) -> None:
    """Wake the request's reader: its C-MOVE has ended, nothing more will arrive."""
    session.execute(select(func.pg_notify(CHANNEL, str(request_id))))


def close_request(session: Session, request_id: int) -> None:
    """No more instances are filed under the request (late ones are quarantined)."""
    session.execute(
        update(MoveRequest).where(MoveRequest.id == request_id).values(closed_at=func.now())
    )


class ArrivalWatch:
    """Waits for `adit_arrivals` notifications on a connection of its own.

    `wait` returns when an arrival (or the end of a move) is announced, or after
    `fallback` seconds at most, so a lost notification costs a little time, never an
    instance. Without a listening connection (it could not be opened, or it broke) it
    polls every `poll_interval` seconds instead.
    """

    def __init__(self, url: str, *, fallback: float = 1.0, poll_interval: float = 0.1) -> None:
        self.fallback = fallback
        self.poll_interval = poll_interval
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            log.warning("cannot listen for arrivals; polling instead", extra={"error": str(exc)})
            self.close()

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def drain(self) -> None:
        """Forget the announcements received so far (their arrivals are about to be read)."""
        self._announced(timeout=0.0, stop_after=None)

    def wait(self) -> bool:
        """Until something is announced (True) or the fallback time has passed (False)."""
        if self._conn is None:
            time.sleep(self.poll_interval)
            return False
        return self._announced(timeout=self.fallback, stop_after=1)

    def _announced(self, *, timeout: float, stop_after: int | None) -> bool:
        if self._conn is None:
            return False
        got = False
        try:
            for _notify in self._conn.notifies(timeout=timeout, stop_after=stop_after):
                got = True
        except psycopg.Error as exc:
            log.warning("lost the arrivals listener; polling instead", extra={"error": str(exc)})
            self.close()
        return got

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ArrivalWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
