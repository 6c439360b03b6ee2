"""The job status rule as a function of task counts, written beside its Python twin.

`adit_job_status(current, counts...)` decides a job's state and message; it is the SQL of
`adit_core.jobs.status.job_status`, and a test checks that the two agree for every
combination of small counts. `adit_refresh_job_status` keeps its name, its trigger callers
and its behaviour; it now counts the tasks and applies `adit_job_status`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib

from alembic import op

from adit_core.jobs.status import JOB_STATUS_SQL

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(JOB_STATUS_SQL)


def downgrade() -> None:
    first = importlib.import_module("schema.versions.0002_jobs_and_tasks").REFRESH_JOB_STATUS
    op.execute(first.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(
        "DROP FUNCTION adit_job_status(text, bigint, bigint, bigint, bigint, bigint, bigint)"
    )
