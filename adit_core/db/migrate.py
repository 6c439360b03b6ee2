"""Applying the Alembic migrations in schema/ (shipped inside the wheel)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import schema
from adit_core.config import sqlalchemy_url
from adit_core.db import revision
from adit_core.db.database import Database


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(schema.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision as Alembic reads it from schema/versions (`revision.HEAD` is
    the constant the commands compare with; a test keeps the two equal)."""
    head = ScriptDirectory.from_config(_alembic_config("postgresql://x/y")).get_current_head()
    assert head is not None
    return head


def upgrade(db: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; safe to run again and from several hosts.
    Returns the revisions before and after."""
    with db.connect() as conn:
        before = revision.current(conn)
    cfg = _alembic_config(db.url)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with db.connect() as conn:
        after = revision.current(conn)
    assert after is not None
    return before, after
