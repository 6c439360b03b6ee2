"""The C-MOVE receipt protocol (adit_core.move_protocol) against a real PostgreSQL: what the
receiver and the worker each rely on, without DICOM."""

from __future__ import annotations

from pathlib import Path

import pytest

from adit_core import move_protocol
from adit_core.db.database import Database
from adit_core.move_protocol import ArrivalWatch, Received

STUDY = "1.2.826.0.1.3680043.8.498.7"


@pytest.fixture(autouse=True)
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADIT_SPOOL_DIR", str(tmp_path / "spool"))
    return tmp_path / "spool"


def open_request(db: Database, source_ae: str, message_id: int, study: str = STUDY) -> int:
    with db.session() as session:
        return move_protocol.open_request(
            session, source_ae=source_ae, study_uid=study, message_id=message_id
        )


def match(db: Database, calling_ae: str, move_id: int | None, study: str = STUDY) -> int | None:
    with db.session() as session:
        return move_protocol.match_request(
            session, study_uid=study, calling_ae=calling_ae, move_originator_id=move_id
        )


def arrive(db: Database, request_id: int | None, sop: str, calling_ae: str = "PACS") -> Path:
    path = move_protocol.arrival_path(
        request_id, calling_ae=calling_ae, study_uid=STUDY, sop_instance_uid=sop
    )
    with db.session() as session:
        move_protocol.record_arrival(
            session,
            Received(request_id, calling_ae, STUDY, "1.2.3", sop, path, size=10),
        )
    return path


def test_an_instance_finds_the_request_it_answers(database: Database) -> None:
    first = open_request(database, "PACS", 7)
    second = open_request(database, "OTHER", 9)
    # The Move Originator Message ID decides when it names an open request of the study.
    assert match(database, "OTHER", 7) == first
    assert match(database, "PACS", 9) == second
    # Without one (or an unknown one): the oldest request of the study from the same AE.
    assert match(database, "OTHER", None) == second
    assert match(database, "OTHER", 12345) == second
    # From an AE no request names: the oldest request of the study.
    assert match(database, "STRANGER", None) == first
    # Another study, or a closed request: nobody asked for it.
    assert match(database, "PACS", 7, study="1.2.3.4") is None
    with database.session() as session:
        move_protocol.close_request(session, first)
        move_protocol.close_request(session, second)
    assert match(database, "PACS", 7) is None


def test_arrivals_are_read_in_order_and_strays_are_quarantined(
    database: Database, spool: Path
) -> None:
    request = open_request(database, "PACS", 3)
    other = open_request(database, "PACS", 4)
    paths = [arrive(database, request, f"1.2.3.{n}") for n in range(3)]
    arrive(database, other, "1.2.4.1")
    stray = arrive(database, None, "1.2.5.1", calling_ae="../../etc")
    assert all(p.parent == spool / "moves" / str(request) for p in paths)
    assert stray.is_relative_to(spool / "quarantine")  # sanitized: nothing escapes the spool
    with database.session() as session:
        read = move_protocol.new_arrivals(session, request, after=0)
        assert [p for _id, p in read] == paths
        later = move_protocol.new_arrivals(session, request, after=read[0][0], limit=1)
        assert [p for _id, p in later] == paths[1:2]


def test_the_watch_wakes_on_an_arrival_and_on_the_end_of_a_move(database: Database) -> None:
    request = open_request(database, "PACS", 5)
    with ArrivalWatch(database.url, fallback=0.05) as watch:
        assert watch.listening
        assert watch.wait() is False  # nothing announced: the fallback time passes
        arrive(database, request, "1.2.3.1")
        assert watch.wait() is True
        arrive(database, request, "1.2.3.2")
        arrive(database, request, "1.2.3.3")
        watch.drain()  # the reader is about to read both
        assert watch.wait() is False
        with database.session() as session:
            move_protocol.announce_end(session, request)
        assert watch.wait() is True


def test_without_a_listener_the_watch_polls(database: Database) -> None:
    with ArrivalWatch("postgresql://nobody@127.0.0.1:1/none", poll_interval=0.01) as watch:
        assert not watch.listening
        watch.drain()
        assert watch.wait() is False
