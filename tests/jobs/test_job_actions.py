"""Job actions: one table decides, for every state, what the CLI accepts, what the app
offers and what the core's guards let through (adit_core.jobs.control.JOB_ACTIONS)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from adit_cli.main import cli
from adit_core.db.database import Database
from adit_core.jobs import control
from adit_core.jobs.actions import JOB_ACTIONS
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary, job_summary
from adit_tui.screens.jobs_actions import JobActionScreen

STUDY = "1.2.826.0.1.3680043.8.498.2"


def adit(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def db(database: Database) -> Database:
    for name, port in (("src", "1"), ("dst", "2")):
        args = ["server", "add", name, "--ae-title", name.upper(), "--host", "127.0.0.1"]
        assert adit(*args, "--port", port).exit_code == 0
    return database


def tasks(db: Database, job_id: int, *statuses: str) -> None:
    with db.session() as session:
        for position, status in enumerate(statuses):
            session.execute(
                text("UPDATE tasks SET status = :s WHERE job_id = :j AND position = :p"),
                {"s": status, "j": job_id, "p": position},
            )


def canceling(db: Database, job_id: int) -> None:
    tasks(db, job_id, "IN_PROGRESS")
    with db.session() as session:
        control.cancel(session, job_id)


def requeued(db: Database, job_id: int) -> None:
    """Finished, then restarted: PENDING again, but it has run before."""
    tasks(db, job_id, "SUCCESS", "SUCCESS")
    with db.session() as session:
        control.restart(session, job_id)


# state name → how a fresh two-task job gets there
STATES: dict[str, Callable[[Database, int], None]] = {
    "pending": lambda db, job: None,
    "pending, ran before": requeued,
    "in progress": lambda db, job: tasks(db, job, "IN_PROGRESS"),
    "some done, some waiting": lambda db, job: tasks(db, job, "SUCCESS"),
    "canceling": canceling,
    "canceled": lambda db, job: tasks(db, job, "CANCELED", "CANCELED"),
    "success": lambda db, job: tasks(db, job, "SUCCESS", "SUCCESS"),
    "warning": lambda db, job: tasks(db, job, "SUCCESS", "WARNING"),
    "failure": lambda db, job: tasks(db, job, "SUCCESS", "FAILURE"),
}

# What the table must say (the documented rules, README "Transfers and jobs").
ALLOWED = {
    "cancel": {"pending", "pending, ran before", "in progress", "some done, some waiting"},
    "resume": {"canceled"},
    "retry": {"failure"},
    "restart": {"canceled", "success", "warning", "failure"},
    "delete": {"pending"},
}


def job_in(db: Database, state: str) -> JobSummary:
    with db.session() as session:
        job_id = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=f"{STUDY}.{i}") for i in range(2)],
            options=TransferOptions(),
        ).id
    STATES[state](db, job_id)
    with db.session() as session:
        return job_summary(session, job_id)


class OneJob(JobActionScreen):
    """The job screens' action rules, without an app: they ask about `job`."""

    def __init__(self, job: JobSummary) -> None:
        super().__init__()
        self.job = job

    def current_job(self) -> JobSummary:
        return self.job


@pytest.mark.parametrize("action", list(JOB_ACTIONS))
@pytest.mark.parametrize("state", list(STATES))
def test_each_action_in_each_state(db: Database, action: str, state: str) -> None:
    job = job_in(db, state)
    rule = JOB_ACTIONS[action]
    allowed = state in ALLOWED[action]
    assert rule.allowed(job) is allowed
    # The app offers the action exactly when the rule allows it.
    assert OneJob(job).check_action(f"{action}_job", ()) is allowed
    # The CLI does it exactly then; a refusal is the rule's own words.
    result = adit("jobs", action, str(job.id))
    if allowed:
        assert result.exit_code == 0, result.output
        with db.session() as session:
            after = None if action == "delete" else job_summary(session, job.id)
        expected = {
            "cancel": f"Job {job.id}: {after.status.lower().replace('_', ' ') if after else ''}.",
            "delete": f"Job {job.id} deleted.",
        }.get(action, f"Job {job.id}: {1 if action == 'retry' else 2} task")
        assert result.stderr.startswith(expected)
    else:
        assert result.exit_code == 1
        assert result.stderr.strip() == f"error: {rule.refusal(job)}"


def test_the_core_guard_uses_the_same_rule(db: Database) -> None:
    """Calling the core directly (as any program may) is refused with the same words."""
    job = job_in(db, "pending, ran before")
    assert job.status == "PENDING" and job.started_at is not None
    with db.session() as session, pytest.raises(JobError) as refused:
        control.delete(session, job.id)
    assert str(refused.value) == JOB_ACTIONS["delete"].refusal(job)
    assert "only jobs that have not started can be deleted" in str(refused.value)
