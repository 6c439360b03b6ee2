"""Applying the Alembic migrations in schema/ (shipped inside the wheel)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import schema
from adit_core.config import sqlalchemy_url
from adit_core.db.database import Database, DatabaseError


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(schema.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config("postgresql://x/y")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; safe to run again and from several hosts."""
    before = current_revision(db.engine)
    cfg = _alembic_config(db.url)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


def ensure_current(db: Database) -> None:
    """Fail with an actionable message unless the schema is at our head revision.

    The embedded database is ours alone, so it is upgraded on the spot instead.
    """
    current = current_revision(db.engine)
    head = head_revision()
    if current == head:
        return
    if db.embedded:
        upgrade(db)
        return
    if current is None:
        raise DatabaseError(
            f"the database {db.display_url} has no ADIT schema yet: run `adit db upgrade`"
        )
    raise DatabaseError(
        f"the database {db.display_url} is at schema revision {current}, this version of "
        f"adit needs {head}: run `adit db upgrade`"
    )
