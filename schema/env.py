"""Alembic environment for ADIT-TUI; run through `adit db upgrade`, not the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from adit_core.db.models import Base
from schema import include_name, include_object

# An arbitrary constant: serialises concurrent `adit db upgrade` runs (many hosts, one DB).
MIGRATION_LOCK_ID = 0x0AD17_0001


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_name=include_name,
            include_object=include_object,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()


run_migrations()
