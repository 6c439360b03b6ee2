"""Initial schema: procrastinate's queue, DICOM nodes (servers and folders), settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    installed = bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar()
    if installed is None:
        from procrastinate.schema import SchemaManager

        # psycopg treats % as a placeholder marker when parameters are bound.
        bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))

    op.execute(
        """
        CREATE TABLE dicom_nodes (
            id          serial PRIMARY KEY,
            name        text NOT NULL UNIQUE
                        CHECK (length(btrim(name)) > 0 AND length(name) <= 64),
            kind        varchar(16) NOT NULL CHECK (kind IN ('server', 'folder')),
            created_at  timestamptz NOT NULL DEFAULT now(),
            updated_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE dicom_servers (
            node_id              integer PRIMARY KEY REFERENCES dicom_nodes(id) ON DELETE CASCADE,
            ae_title             varchar(16) NOT NULL CHECK (length(btrim(ae_title)) > 0),
            host                 text NOT NULL CHECK (length(host) > 0),
            port                 integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
            patient_root_find    boolean NOT NULL DEFAULT false,
            patient_root_get     boolean NOT NULL DEFAULT false,
            patient_root_move    boolean NOT NULL DEFAULT false,
            study_root_find      boolean NOT NULL DEFAULT false,
            study_root_get       boolean NOT NULL DEFAULT false,
            study_root_move      boolean NOT NULL DEFAULT false,
            store                boolean NOT NULL DEFAULT false,
            dicomweb_root_url    text,
            dicomweb_qido        boolean NOT NULL DEFAULT false,
            dicomweb_wado        boolean NOT NULL DEFAULT false,
            dicomweb_stow        boolean NOT NULL DEFAULT false,
            qido_prefix          text NOT NULL DEFAULT '',
            wado_prefix          text NOT NULL DEFAULT '',
            stow_prefix          text NOT NULL DEFAULT '',
            authorization_header text,
            max_search_results   integer NOT NULL DEFAULT 200 CHECK (max_search_results > 0),
            CHECK (dicomweb_root_url IS NOT NULL
                   OR NOT (dicomweb_qido OR dicomweb_wado OR dicomweb_stow))
        );

        CREATE TABLE dicom_folders (
            node_id      integer PRIMARY KEY REFERENCES dicom_nodes(id) ON DELETE CASCADE,
            path         text NOT NULL CHECK (length(path) > 0),
            quota_gb     numeric(12, 3) CHECK (quota_gb > 0),
            warn_size_gb numeric(12, 3) CHECK (warn_size_gb > 0)
        );

        CREATE TABLE settings (
            key        text PRIMARY KEY,
            value      text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )
    # The deployment secret seeds pseudonymization; generated once, never shown.
    op.execute(
        sa.text(
            "INSERT INTO settings (key, value) VALUES ('secret', :secret), "
            "('receiver_ae_title', 'ADIT'), ('receiver_port', '11112') "
            "ON CONFLICT (key) DO NOTHING"
        ).bindparams(secret=secrets.token_hex(32))
    )


def downgrade() -> None:
    op.execute("DROP TABLE settings, dicom_folders, dicom_servers, dicom_nodes")
