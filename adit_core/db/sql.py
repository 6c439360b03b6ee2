"""Plain SQL on the job database, from a psycopg connection or from an ORM session.

The commands that must start at once (`adit transfer`, `adit jobs list|wait`, `adit
settings`) use psycopg alone: importing SQLAlchemy's ORM costs about a second. The core
functions they call take either a psycopg connection or a SQLAlchemy `Session` (the app,
the worker) and run their SQL on the session's own connection, in its transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, LiteralString, TypeAlias

import psycopg
from psycopg.rows import DictRow, dict_row

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    Connectable: TypeAlias = "Session | psycopg.Connection[Any]"


def raw(conn: Connectable) -> psycopg.Connection[Any]:
    """The psycopg connection behind `conn`, in the same transaction."""
    if isinstance(conn, psycopg.Connection):
        return conn
    conn.flush()  # what autoflush would do before a query: pending ORM rows first
    driver = conn.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def rows(conn: Connectable, query: LiteralString, params: Any = None) -> list[DictRow]:
    """Every row of a query, as dicts."""
    with raw(conn).cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def row(conn: Connectable, query: LiteralString, params: Any = None) -> DictRow | None:
    """The first row of a query as a dict, or None."""
    with raw(conn).cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchone()


def execute(conn: Connectable, query: LiteralString, params: Any = None) -> int:
    """Run a statement; returns the number of rows it touched."""
    with raw(conn).cursor() as cur:
        cur.execute(query, params)
        return cur.rowcount
