"""Batch query and batch transfer: the query of each batch query task, what it found, and
which file lines each batch transfer task came from.

Every row hangs off its task (ON DELETE CASCADE), so deleting a job removes them too.
Results are read per job in task order for export: (task_id, position) is the index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE batch_query_tasks (
            task_id             bigint PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
            line                integer NOT NULL,
            patient_id          text NOT NULL DEFAULT '',
            patient_name        text NOT NULL DEFAULT '',
            patient_birth_date  date,
            accession_number    text NOT NULL DEFAULT '',
            study_date_from     date,
            study_date_until    date,
            modalities          text[] NOT NULL DEFAULT '{}',
            study_description   text NOT NULL DEFAULT '',
            series_description  text NOT NULL DEFAULT '',
            series_numbers      integer[] NOT NULL DEFAULT '{}',
            pseudonym           text NOT NULL DEFAULT ''
        );

        CREATE TABLE batch_query_results (
            id                                 bigserial PRIMARY KEY,
            task_id                            bigint NOT NULL
                                               REFERENCES tasks(id) ON DELETE CASCADE,
            position                           integer NOT NULL,
            patient_id                         text NOT NULL DEFAULT '',
            patient_name                       text NOT NULL DEFAULT '',
            patient_birth_date                 text NOT NULL DEFAULT '',
            modalities_in_study                text NOT NULL DEFAULT '',
            study_date                         text NOT NULL DEFAULT '',
            study_time                         text NOT NULL DEFAULT '',
            study_description                  text NOT NULL DEFAULT '',
            number_of_study_related_instances  integer,
            accession_number                   text NOT NULL DEFAULT '',
            study_instance_uid                 text NOT NULL,
            series_instance_uid                text NOT NULL DEFAULT '',
            series_description                 text NOT NULL DEFAULT '',
            series_number                      integer
        );
        CREATE INDEX batch_query_results_task ON batch_query_results (task_id, position);

        CREATE TABLE batch_transfer_tasks (
            task_id  bigint PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
            lines    integer[] NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE batch_transfer_tasks, batch_query_results, batch_query_tasks;")
