"""Jobs and tasks, their derived status, and NOTIFY on adit_events for live status.

A job's status is derived from its tasks by adit_refresh_job_status(), run by a
statement-level trigger whenever task statuses change (so a 10,000-task insert costs one
refresh, not 10,000). The job row is locked first, so two tasks finishing at the same
moment in two transactions cannot leave the job behind.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = "('PENDING','IN_PROGRESS','CANCELING','CANCELED','SUCCESS','WARNING','FAILURE')"


# The first version of the job status rule; 0005 replaces it with the one written beside
# its Python twin in adit_core/jobs/status.py (and restores this one on downgrade).
REFRESH_JOB_STATUS = """
CREATE FUNCTION adit_refresh_job_status(p_job bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    c record;
    st text;
    msg text;
BEGIN
    SELECT status INTO cur FROM jobs WHERE id = p_job FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'PENDING') AS pending,
           count(*) FILTER (WHERE status IN ('IN_PROGRESS', 'CANCELING')) AS running,
           count(*) FILTER (WHERE status = 'SUCCESS') AS success,
           count(*) FILTER (WHERE status = 'WARNING') AS warning,
           count(*) FILTER (WHERE status = 'FAILURE') AS failure,
           count(*) FILTER (WHERE status = 'CANCELED') AS canceled
      INTO c FROM tasks WHERE job_id = p_job;
    msg := NULL;
    IF cur = 'CANCELING' THEN
        st := CASE WHEN c.running > 0 THEN 'CANCELING' ELSE 'CANCELED' END;
        IF st = 'CANCELED' THEN
            msg := format('Canceled: %s of %s tasks canceled.', c.canceled, c.total);
        END IF;
    ELSIF c.running > 0 THEN
        st := 'IN_PROGRESS';
    ELSIF c.pending > 0 THEN
        -- A job that has started and still has work left is in progress.
        st := CASE WHEN c.pending < c.total THEN 'IN_PROGRESS' ELSE 'PENDING' END;
    ELSIF c.total = 0 THEN
        st := 'SUCCESS';
        msg := 'Nothing to do.';
    ELSIF c.canceled > 0 THEN
        st := 'CANCELED';
        msg := format('%s of %s tasks canceled.', c.canceled, c.total);
    ELSIF c.failure > 0 THEN
        st := 'FAILURE';
        msg := format('%s of %s tasks failed.', c.failure, c.total);
    ELSIF c.warning > 0 THEN
        st := 'WARNING';
        msg := format('%s of %s tasks finished with warnings.', c.warning, c.total);
    ELSE
        st := 'SUCCESS';
        msg := format('All %s tasks succeeded.', c.total);
    END IF;
    UPDATE jobs
       SET status = st,
           message = COALESCE(msg, CASE WHEN st IN ('PENDING', 'IN_PROGRESS')
                                        THEN '' ELSE message END),
           started_at = CASE WHEN st <> 'PENDING' THEN COALESCE(started_at, now())
                             ELSE started_at END,
           finished_at = CASE WHEN st IN ('SUCCESS', 'WARNING', 'FAILURE', 'CANCELED')
                              THEN COALESCE(finished_at, now()) ELSE NULL END,
           updated_at = now()
     WHERE id = p_job
       AND (status IS DISTINCT FROM st OR (msg IS NOT NULL AND message <> msg));
END $$;
"""


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE jobs (
            id           bigserial PRIMARY KEY,
            kind         text NOT NULL CHECK (kind IN
                         ('selective_transfer', 'batch_query', 'batch_transfer', 'upload')),
            owner        text NOT NULL DEFAULT current_user,
            status       text NOT NULL DEFAULT 'PENDING' CHECK (status IN {STATUSES}),
            urgent       boolean NOT NULL DEFAULT false,
            message      text NOT NULL DEFAULT '',
            options      jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            created_at   timestamptz NOT NULL DEFAULT now(),
            started_at   timestamptz,
            finished_at  timestamptz,
            updated_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC);
        CREATE INDEX jobs_status ON jobs (status);

        CREATE TABLE tasks (
            id                  bigserial PRIMARY KEY,
            job_id              bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            position            integer NOT NULL DEFAULT 0,
            source_id           integer REFERENCES dicom_nodes(id) ON DELETE RESTRICT,
            destination_id      integer REFERENCES dicom_nodes(id) ON DELETE RESTRICT,
            patient_id          text NOT NULL DEFAULT '',
            study_uid           text NOT NULL DEFAULT '',
            series_uids         text[] NOT NULL DEFAULT '{{}}',
            pseudonym           text NOT NULL DEFAULT '',
            status              text NOT NULL DEFAULT 'PENDING' CHECK (status IN {STATUSES}),
            attempts            integer NOT NULL DEFAULT 0,
            message             text NOT NULL DEFAULT '',
            log                 text NOT NULL DEFAULT '',
            instances_expected  integer,
            instances_done      integer NOT NULL DEFAULT 0,
            instances_failed    integer NOT NULL DEFAULT 0,
            bytes_done          bigint NOT NULL DEFAULT 0,
            queued_job_id       bigint REFERENCES procrastinate_jobs(id) ON DELETE SET NULL,
            created_at          timestamptz NOT NULL DEFAULT now(),
            started_at          timestamptz,
            finished_at         timestamptz,
            updated_at          timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX tasks_job_status ON tasks (job_id, status);
        CREATE INDEX tasks_job_position ON tasks (job_id, position, id);
        CREATE INDEX tasks_queued_job ON tasks (queued_job_id);

        {REFRESH_JOB_STATUS}
        CREATE FUNCTION adit_tasks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE j bigint;
        BEGIN
            FOR j IN SELECT DISTINCT job_id FROM new_rows LOOP
                PERFORM adit_refresh_job_status(j);
                PERFORM pg_notify('adit_events', json_build_object('job', j)::text);
            END LOOP;
            RETURN NULL;
        END $$;

        CREATE FUNCTION adit_tasks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE j bigint;
        BEGIN
            FOR j IN SELECT DISTINCT n.job_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                      WHERE o.status IS DISTINCT FROM n.status LOOP
                PERFORM adit_refresh_job_status(j);
            END LOOP;
            RETURN NULL;
        END $$;

        CREATE FUNCTION adit_tasks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE j bigint;
        BEGIN
            FOR j IN SELECT DISTINCT job_id FROM old_rows LOOP
                PERFORM adit_refresh_job_status(j);
                PERFORM pg_notify('adit_events', json_build_object('job', j)::text);
            END LOOP;
            RETURN NULL;
        END $$;

        CREATE FUNCTION adit_task_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('adit_events',
                json_build_object('job', NEW.job_id, 'task', NEW.id, 'status', NEW.status)::text);
            RETURN NULL;
        END $$;

        CREATE FUNCTION adit_job_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE r jobs;
        BEGIN
            IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
            PERFORM pg_notify('adit_events',
                json_build_object('job', r.id, 'status', r.status, 'op', lower(TG_OP))::text);
            RETURN NULL;
        END $$;

        CREATE TRIGGER tasks_inserted AFTER INSERT ON tasks
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION adit_tasks_inserted();
        CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION adit_tasks_updated();
        CREATE TRIGGER tasks_deleted AFTER DELETE ON tasks
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
            EXECUTE FUNCTION adit_tasks_deleted();
        -- Only what a watcher shows: queueing (queued_job_id) must not send 10,000
        -- notifications for a 10,000-task job.
        CREATE TRIGGER tasks_notify AFTER UPDATE OF status, message, instances_expected,
            instances_done, instances_failed, bytes_done ON tasks
            FOR EACH ROW EXECUTE FUNCTION adit_task_notify();
        CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OR DELETE ON jobs
            FOR EACH ROW EXECUTE FUNCTION adit_job_notify();

        INSERT INTO settings (key, value) VALUES
            ('max_attempts', '3'),
            ('retry_base_seconds', '30'),
            ('exclude_modalities', '')
        ON CONFLICT (key) DO NOTHING;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE tasks, jobs;
        DROP FUNCTION adit_refresh_job_status(bigint), adit_tasks_inserted(),
            adit_tasks_updated(), adit_tasks_deleted(), adit_task_notify(), adit_job_notify();
        DELETE FROM settings WHERE key IN ('max_attempts', 'retry_base_seconds',
            'exclude_modalities');
        """
    )
