"""Task state transitions (adit_core.jobs.transitions) against a real PostgreSQL and
procrastinate's queue: what a worker, a job action and stalled-task recovery change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from adit_core import registry
from adit_core.db.database import Database
from adit_core.jobs import control, transitions
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.read import job_summary, job_tasks
from adit_core.jobs.status import Status
from adit_core.registry import ServerSpec


@pytest.fixture
def db(database: Database) -> Database:
    with database.session() as session:
        for name, port in (("src", 1), ("dst", 2)):
            registry.add_server(session, ServerSpec(name, name.upper(), "127.0.0.1", port))
    return database


def make_job(db: Database, n: int = 2) -> tuple[int, list[int]]:
    with db.session() as session:
        job = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=f"1.2.3.{i}") for i in range(n)],
            options=TransferOptions(),
        )
        job_id = job.id
    with db.session() as session:
        return job_id, [t.id for t in job_tasks(session, job_id)]


def queue_entry(db: Database, task_id: int) -> tuple[str, datetime | None]:
    with db.session() as session:
        status, scheduled = session.execute(
            text(
                "SELECT pj.status, pj.scheduled_at FROM tasks t "
                "JOIN procrastinate_jobs pj ON pj.id = t.queued_job_id WHERE t.id = :id"
            ),
            {"id": task_id},
        ).one()
    return str(status), scheduled


def task(db: Database, job_id: int, task_id: int):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return next(t for t in job_tasks(session, job_id) if t.id == task_id)


def job_status(db: Database, job_id: int) -> str:
    with db.session() as session:
        return job_summary(session, job_id).status


def test_a_run_claims_reports_progress_and_finishes(db: Database) -> None:
    job_id, (first, _second) = make_job(db)
    with db.session() as session:
        assert transitions.claim(session, first) == 1
    with db.session() as session:
        assert transitions.claim(session, first) is None  # not pending any more
        transitions.record_expected(session, first, 10)
        transitions.record_progress(session, first, done=4, failed=1, nbytes=4096)
    running = task(db, job_id, first)
    assert (running.status, running.attempts, running.started_at is not None) == (
        "IN_PROGRESS",
        1,
        True,
    )
    assert (running.instances_expected, running.instances_done, running.instances_failed) == (
        10,
        4,
        1,
    )
    assert job_status(db, job_id) == "IN_PROGRESS"
    with db.session() as session:
        written = transitions.finish(session, first, Status.SUCCESS, "10 instances.", ["a", "b"])
    assert written is Status.SUCCESS
    done = task(db, job_id, first)
    assert done.status == "SUCCESS" and done.finished_at is not None
    lines = done.log.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["10 instances.", "a", "b"]


def test_a_transient_failure_requeues_with_backoff(db: Database) -> None:
    job_id, (first, _) = make_job(db)
    with db.session() as session:
        transitions.claim(session, first)
    before = datetime.now(UTC)
    with db.session() as session:
        transitions.finish(session, first, Status.PENDING, "Retrying in 60 s.", requeue_in=60)
    again = task(db, job_id, first)
    assert again.status == "PENDING" and again.finished_at is None and again.attempts == 1
    status, scheduled = queue_entry(db, first)
    assert status == "todo"
    assert scheduled is not None and (scheduled - before).total_seconds() >= 59


def test_an_interrupted_run_gives_its_attempt_back(db: Database) -> None:
    job_id, (first, _) = make_job(db)
    with db.session() as session:
        transitions.claim(session, first)
    with db.session() as session:
        transitions.finish(session, first, Status.PENDING, "Worker stopped.", refund_attempt=True)
    assert task(db, job_id, first).attempts == 0
    assert queue_entry(db, first)[0] == "todo"


def test_a_cancel_wins_over_a_retry(db: Database) -> None:
    job_id, (first, second) = make_job(db)
    with db.session() as session:
        transitions.claim(session, first)
    with db.session() as session:
        control.cancel(session, job_id)
    assert job_status(db, job_id) == "CANCELING"
    assert task(db, job_id, second).status == "CANCELED"  # waiting: canceled at once
    with db.session() as session:
        written = transitions.finish(session, first, Status.PENDING, "Retrying.", requeue_in=1)
    assert written is Status.CANCELED
    assert task(db, job_id, first).message == transitions.CANCELED_BY_USER
    assert job_status(db, job_id) == "CANCELED"


def test_resume_retry_restart_requeue_with_fresh_counters(db: Database) -> None:
    job_id, (first, second) = make_job(db)
    for task_id, status in ((first, Status.SUCCESS), (second, Status.FAILURE)):
        with db.session() as session:
            transitions.claim(session, task_id)
            transitions.record_progress(session, task_id, done=3, failed=0, nbytes=30)
        with db.session() as session:
            transitions.finish(session, task_id, status, "done")
    assert job_status(db, job_id) == "FAILURE"
    with db.session() as session:
        assert transitions.requeue_tasks(session, job_id, {Status.FAILURE}) == 1
    retried = task(db, job_id, second)
    assert (retried.status, retried.attempts, retried.instances_done, retried.message) == (
        "PENDING",
        0,
        0,
        "",
    )
    assert task(db, job_id, first).status == "SUCCESS"
    assert queue_entry(db, second)[0] == "todo"
    assert job_status(db, job_id) == "IN_PROGRESS"  # some done, some waiting


def test_a_stalled_task_goes_back_to_pending_with_a_note(db: Database) -> None:
    job_id, (first, second) = make_job(db)
    with db.session() as session:
        transitions.claim(session, first)
    with db.session() as session:
        assert transitions.requeue_stalled(session, first, "worker w1 stopped; re-queued")
        assert not transitions.requeue_stalled(session, second, "not running")
    back = task(db, job_id, first)
    assert back.status == "PENDING"
    assert back.message == "The worker running this task stopped responding; queued again."
    assert back.log.endswith("worker w1 stopped; re-queued")
    assert not back.log.startswith("\n")
    assert task(db, job_id, second).log == ""
