"""Is the database's schema the one this adit needs? Answered by a query, without Alembic.

`HEAD` is the newest revision in schema/versions (a test checks it against Alembic's own
answer); reading Alembic's script directory on every command cost a quarter of a second.
"""

from __future__ import annotations

from typing import Any

import psycopg

from adit_core.db.database import Database, DatabaseError

HEAD = "0005"


def current(conn: psycopg.Connection[Any]) -> str | None:
    """The database's schema revision; None before the first `adit db upgrade`."""
    exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def is_current(db: Database, conn: psycopg.Connection[Any]) -> bool:
    """True when the schema is at HEAD; False when the embedded database needs an upgrade
    (it is ours alone, so the caller upgrades it on the spot). Raises DatabaseError with
    what to do for a configured database that is behind (or ahead)."""
    found = current(conn)
    if found == HEAD:
        return True
    if db.embedded:
        return False
    if found is None:
        raise DatabaseError(
            f"the database {db.display_url} has no ADIT schema yet: run `adit db upgrade`"
        )
    raise DatabaseError(
        f"the database {db.display_url} is at schema revision {found}, this version of "
        f"adit needs {HEAD}: run `adit db upgrade`"
    )


def ensure_current(db: Database) -> None:
    """Fail with an actionable message unless the schema is at HEAD; the embedded database
    is upgraded instead."""
    with db.connect() as conn:
        if is_current(db, conn):
            return
    from adit_core.db.migrate import upgrade

    upgrade(db)
