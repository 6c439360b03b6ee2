"""C-MOVE receipt: move requests the workers announce, arrivals the receiver records.

A worker inserts a move request (source AE, study, the Message ID of its C-MOVE) before
sending the C-MOVE. The receiver matches each incoming C-STORE to an open request (by
Move Originator Message ID and study, falling back to the study alone), writes the file
durably into the request's spool folder, records an arrival row, and only then answers
success. Instances that match no request are quarantined and recorded, never dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE move_requests (
            id          bigserial PRIMARY KEY,
            task_id     bigint REFERENCES tasks(id) ON DELETE CASCADE,
            source_ae   text NOT NULL,
            study_uid   text NOT NULL,
            message_id  integer NOT NULL CHECK (message_id BETWEEN 1 AND 65535),
            created_at  timestamptz NOT NULL DEFAULT now(),
            closed_at   timestamptz
        );
        CREATE INDEX move_requests_open ON move_requests (study_uid) WHERE closed_at IS NULL;

        CREATE TABLE arrivals (
            id               bigserial PRIMARY KEY,
            move_request_id  bigint REFERENCES move_requests(id) ON DELETE CASCADE,
            calling_ae       text NOT NULL DEFAULT '',
            study_uid        text NOT NULL DEFAULT '',
            series_uid       text NOT NULL DEFAULT '',
            sop_instance_uid text NOT NULL,
            path             text NOT NULL,
            size             bigint NOT NULL,
            quarantined      boolean NOT NULL DEFAULT false,
            received_at      timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX arrivals_request ON arrivals (move_request_id, id);

        CREATE FUNCTION adit_arrival_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.move_request_id IS NOT NULL THEN
                PERFORM pg_notify('adit_arrivals', NEW.move_request_id::text);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER arrivals_notify AFTER INSERT ON arrivals
            FOR EACH ROW EXECUTE FUNCTION adit_arrival_notify();
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE arrivals, move_requests; DROP FUNCTION adit_arrival_notify();")
