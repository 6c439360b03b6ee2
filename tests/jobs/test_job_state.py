"""Jobs and tasks in the database: creation, derived status, control, NOTIFY (no DICOM)."""

from __future__ import annotations

import json
import re
import threading

import psycopg
import pytest
from sqlalchemy import text

from adit_core.db.database import Database
from adit_core.events import CHANNEL
from adit_core.fields import FieldError
from adit_core.jobs import control
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.read import job_summary, job_tasks
from tests.cli import adit

STUDY = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture
def nodes(database: Database, tmp_path) -> Database:
    for command in (
        ["server", "add", "src", "--ae-title", "SRC", "--host", "127.0.0.1", "--port", "1"],
        ["server", "add", "dst", "--ae-title", "DST", "--host", "127.0.0.1", "--port", "2"],
        ["server", "add", "findonly", "--ae-title", "F", "--host", "h", "--port", "3",
         "--capabilities", "find"],
        ["folder", "add", "out", "--path", str(tmp_path / "out"), "--create"],
    ):  # fmt: skip
        assert adit(*command).exit_code == 0
    return database


def make_job(db: Database, n: int = 3, **options) -> int:  # type: ignore[no-untyped-def]
    with db.session() as session:
        job = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=f"{STUDY}.{i}", patient_id="0042") for i in range(n)],
            options=TransferOptions(**options),
        )
        return job.id


def set_task_status(db: Database, job_id: int, position: int, status: str) -> None:
    with db.session() as session:
        session.execute(
            text("UPDATE tasks SET status = :s WHERE job_id = :j AND position = :p"),
            {"s": status, "j": job_id, "p": position},
        )


def status_of(db: Database, job_id: int) -> str:
    with db.session() as session:
        return job_summary(session, job_id).status


def test_creating_a_job_queues_every_task_in_the_same_transaction(nodes: Database) -> None:
    job_id = make_job(nodes, 3, pseudonym="P1", urgent=True)
    with psycopg.connect(nodes.url) as conn:
        rows = conn.execute(
            "SELECT t.id, pj.status, pj.priority, pj.args, pj.queue_name FROM tasks t "
            "JOIN procrastinate_jobs pj ON pj.id = t.queued_job_id WHERE t.job_id = %s "
            "ORDER BY t.position",
            (job_id,),
        ).fetchall()
    assert len(rows) == 3
    for task_id, status, priority, args, queue in rows:
        assert (status, priority, queue) == ("todo", 8, "dicom")
        assert args == {"task_id": task_id}
    assert status_of(nodes, job_id) == "PENDING"


def test_a_failed_creation_leaves_nothing_behind(nodes: Database) -> None:
    with (
        pytest.raises(FieldError, match=re.escape("StudyInstanceUID: '1.2.x' is not a valid UID")),
        nodes.session() as session,
    ):
        create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=STUDY), TransferItem(study_uid="1.2.x")],
            options=TransferOptions(),
        )
    with psycopg.connect(nodes.url) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)


@pytest.mark.parametrize(
    ("source", "destination", "message"),
    [
        ("nope", "dst", "no server named 'nope' for the source"),
        ("out", "dst", "'out' is a folder; a source must be a DICOM server"),
        ("findonly", "dst", "offers no way to retrieve"),
        ("src", "findonly", "accepts no data"),
        ("src", "src", "the same server"),
    ],
)
def test_bad_source_or_destination(
    nodes: Database, source: str, destination: str, message: str
) -> None:
    result = adit("transfer", "--source", source, "--destination", destination, "--study", STUDY)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pseudonym", "a\\b"], "Pseudonym: must not contain a backslash"),
        (["--trial-protocol-id", "x" * 65], "Trial protocol ID: is 65 characters long; at most 64"),
        (["--series", "not-a-uid"], "SeriesInstanceUID: 'not-a-uid' is not a valid UID"),
    ],
)
def test_bad_transfer_options(nodes: Database, extra: list[str], message: str) -> None:
    result = adit("transfer", "-s", "src", "-d", "dst", "--study", STUDY, *extra)
    assert result.exit_code == 1
    assert message in result.stderr


def test_transfer_prints_only_the_job_id(nodes: Database) -> None:
    result = adit("transfer", "-s", "src", "-d", "out", "--study", STUDY, "--pseudonym", "P")
    assert result.exit_code == 0, result.output
    job_id = int(result.stdout.strip())
    shown = json.loads(adit("jobs", "show", str(job_id), "--json").stdout)
    assert shown["status"] == "PENDING"
    assert shown["options"]["pseudonym"] == "P"
    assert [t["study_uid"] for t in shown["tasks"]] == [STUDY]
    listed = json.loads(adit("jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job_id]


@pytest.mark.parametrize(
    ("task_states", "job_state"),
    [
        (["PENDING", "PENDING", "PENDING"], "PENDING"),
        (["IN_PROGRESS", "PENDING", "PENDING"], "IN_PROGRESS"),
        (["SUCCESS", "PENDING", "PENDING"], "IN_PROGRESS"),  # started, work left
        (["SUCCESS", "SUCCESS", "SUCCESS"], "SUCCESS"),
        (["SUCCESS", "WARNING", "SUCCESS"], "WARNING"),
        (["SUCCESS", "WARNING", "FAILURE"], "FAILURE"),
        (["FAILURE", "FAILURE", "FAILURE"], "FAILURE"),
        (["CANCELED", "CANCELED", "CANCELED"], "CANCELED"),
        (["SUCCESS", "CANCELED", "FAILURE"], "CANCELED"),
    ],
)
def test_job_status_is_derived_from_tasks(
    nodes: Database, task_states: list[str], job_state: str
) -> None:
    job_id = make_job(nodes, 3)
    for position, state in enumerate(task_states):
        set_task_status(nodes, job_id, position, state)
    assert status_of(nodes, job_id) == job_state


def test_two_tasks_finishing_at_once_do_not_leave_the_job_behind(nodes: Database) -> None:
    job_id = make_job(nodes, 2)
    set_task_status(nodes, job_id, 0, "IN_PROGRESS")
    set_task_status(nodes, job_id, 1, "IN_PROGRESS")
    barrier = threading.Barrier(2)

    def finish(position: int) -> None:
        with psycopg.connect(nodes.url) as conn:
            barrier.wait()
            conn.execute(
                "UPDATE tasks SET status = 'SUCCESS' WHERE job_id = %s AND position = %s",
                (job_id, position),
            )

    threads = [threading.Thread(target=finish, args=(p,)) for p in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert status_of(nodes, job_id) == "SUCCESS"


def test_cancel_dequeues_pending_tasks_and_resume_requeues_them(nodes: Database) -> None:
    job_id = make_job(nodes, 3)
    set_task_status(nodes, job_id, 0, "SUCCESS")
    assert adit("jobs", "cancel", str(job_id)).exit_code == 0
    assert status_of(nodes, job_id) == "CANCELED"
    with psycopg.connect(nodes.url) as conn:
        queued = conn.execute(
            "SELECT pj.status FROM tasks t JOIN procrastinate_jobs pj ON pj.id = t.queued_job_id "
            "WHERE t.job_id = %s AND t.status = 'CANCELED'",
            (job_id,),
        ).fetchall()
    assert queued == [("cancelled",), ("cancelled",)]

    assert adit("jobs", "resume", str(job_id)).exit_code == 0
    with nodes.session() as session:
        tasks = job_tasks(session, job_id)
    assert [t.status for t in tasks] == ["SUCCESS", "PENDING", "PENDING"]
    assert status_of(nodes, job_id) == "IN_PROGRESS"
    assert adit("jobs", "resume", str(job_id)).exit_code == 1  # not canceled any more


def test_cancel_of_a_running_task_requests_an_abort(nodes: Database) -> None:
    job_id = make_job(nodes, 1)
    with psycopg.connect(nodes.url) as conn:
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = "
            "(SELECT queued_job_id FROM tasks WHERE job_id = %s)",
            (job_id,),
        )
    set_task_status(nodes, job_id, 0, "IN_PROGRESS")
    with nodes.session() as session:
        assert control.cancel(session, job_id).status == "CANCELING"
    with psycopg.connect(nodes.url) as conn:
        (abort,) = conn.execute(
            "SELECT abort_requested FROM procrastinate_jobs WHERE id = "
            "(SELECT queued_job_id FROM tasks WHERE job_id = %s)",
            (job_id,),
        ).fetchone()
    assert abort is True
    set_task_status(nodes, job_id, 0, "CANCELED")  # what the worker does when it stops
    assert status_of(nodes, job_id) == "CANCELED"


def test_retry_and_restart(nodes: Database) -> None:
    job_id = make_job(nodes, 3)
    assert adit("jobs", "retry", str(job_id)).exit_code == 1  # still pending
    for position, state in enumerate(["SUCCESS", "FAILURE", "FAILURE"]):
        set_task_status(nodes, job_id, position, state)
    assert adit("jobs", "retry", str(job_id)).exit_code == 0
    with nodes.session() as session:
        assert [t.status for t in job_tasks(session, job_id)] == ["SUCCESS", "PENDING", "PENDING"]
    set_task_status(nodes, job_id, 1, "SUCCESS")
    set_task_status(nodes, job_id, 2, "SUCCESS")
    assert adit("jobs", "retry", str(job_id)).exit_code == 1  # nothing failed
    assert adit("jobs", "restart", str(job_id)).exit_code == 0
    with nodes.session() as session:
        assert {t.status for t in job_tasks(session, job_id)} == {"PENDING"}


def test_delete_only_before_start(nodes: Database) -> None:
    job_id = make_job(nodes, 2)
    assert adit("jobs", "delete", str(job_id)).exit_code == 0
    with psycopg.connect(nodes.url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)
    started = make_job(nodes, 2)
    set_task_status(nodes, started, 0, "IN_PROGRESS")
    result = adit("jobs", "delete", str(started))
    assert result.exit_code == 1
    assert "only jobs that have not started can be deleted" in result.stderr
    assert adit("jobs", "delete", "999999").exit_code == 1


def test_every_state_change_is_notified(nodes: Database) -> None:
    with psycopg.connect(nodes.url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        job_id = make_job(nodes, 2)
        set_task_status(nodes, job_id, 0, "IN_PROGRESS")
        set_task_status(nodes, job_id, 0, "SUCCESS")
        set_task_status(nodes, job_id, 1, "IN_PROGRESS")
        set_task_status(nodes, job_id, 1, "FAILURE")
        events = [json.loads(n.payload) for n in listener.notifies(timeout=1.0)]
    task_events: list[tuple[int, str]] = []
    for e in events:  # progress updates repeat a status; keep the changes
        if "task" in e and (e["task"], e["status"]) not in task_events[-2:]:
            task_events.append((e["task"], e["status"]))
    with nodes.session() as session:
        t0, t1 = [t.id for t in job_tasks(session, job_id)]
    changes = [event for event in task_events if event[1] != "PENDING"]
    assert changes == [
        (t0, "IN_PROGRESS"), (t0, "SUCCESS"), (t1, "IN_PROGRESS"), (t1, "FAILURE")
    ]  # fmt: skip
    job_states = [e["status"] for e in events if "task" not in e and "status" in e]
    assert job_states[0] == "PENDING"  # the insert
    assert "IN_PROGRESS" in job_states
    assert job_states[-1] == "FAILURE"
    assert all(e["job"] == job_id for e in events)


def test_a_10000_task_job_is_created_in_one_go(nodes: Database) -> None:
    job_id = make_job(nodes, 10_000)
    with psycopg.connect(nodes.url) as conn:
        (queued,) = conn.execute(
            "SELECT count(*) FROM tasks WHERE job_id = %s AND queued_job_id IS NOT NULL", (job_id,)
        ).fetchone()
    assert queued == 10_000
    assert status_of(nodes, job_id) == "PENDING"
