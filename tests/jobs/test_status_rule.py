"""The job status rule: the SQL the triggers run and the Python that documents it agree."""

from __future__ import annotations

import itertools

from sqlalchemy import text

from adit_core import registry
from adit_core.db.database import Database
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.status import Status, TaskCounts, job_status
from adit_core.registry import ServerSpec

COUNTS = range(3)  # 0, 1 or 2 tasks in each group


def test_sql_and_python_agree_for_every_small_combination(database: Database) -> None:
    """Every current job state with 0-2 tasks in each of the six task groups (5,103 cases)."""
    with database.session() as session:
        rows = session.execute(
            text(
                "SELECT cur, p, r, s, w, f, c, d.status, d.message "
                "FROM unnest(CAST(:states AS text[])) AS cur, "
                "generate_series(0, 2) p, generate_series(0, 2) r, generate_series(0, 2) s, "
                "generate_series(0, 2) w, generate_series(0, 2) f, generate_series(0, 2) c, "
                "LATERAL adit_job_status(cur, p, r, s, w, f, c) AS d"
            ),
            {"states": [s.value for s in Status]},
        ).all()
    assert len(rows) == len(Status) * len(COUNTS) ** 6
    for cur, *counts, status, message in rows:
        expected = job_status(Status(cur), TaskCounts(*counts))
        assert (Status(status), message) == expected, (cur, counts)
    cases = itertools.product(Status, *([COUNTS] * 6))
    assert {(Status(r[0]), *r[1:7]) for r in rows} == set(cases)


def test_the_refresh_applies_the_rule_to_a_job_row(database: Database) -> None:
    """`adit_refresh_job_status` counts the tasks and writes what the rule says."""
    with database.session() as session:
        for name, port in (("src", 1), ("dst", 2)):
            registry.add_server(session, ServerSpec(name, name.upper(), "127.0.0.1", port))
        job_id = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=f"1.2.3.{i}") for i in range(4)],
            options=TransferOptions(),
        ).id
    with database.session() as session:
        session.execute(
            text(
                "UPDATE tasks SET status = (ARRAY['SUCCESS','WARNING','FAILURE','SUCCESS'])"
                "[position + 1] WHERE job_id = :j"
            ),
            {"j": job_id},
        )
        status, message = session.execute(
            text("SELECT status, message FROM jobs WHERE id = :j"), {"j": job_id}
        ).one()
    assert (Status(status), message) == job_status(
        Status.IN_PROGRESS, TaskCounts(success=2, warning=1, failure=1)
    )
