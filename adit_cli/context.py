"""What every CLI command shares: the database, opened on first use, and error reporting."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlalchemy.exc
from sqlalchemy.orm import Session

from adit_core.db.database import Database, DatabaseError
from adit_core.redact import mask_secrets


class CliContext:
    def __init__(self) -> None:
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database.from_environment()
        return self._db

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on a database whose schema is current."""
        from adit_core.db.migrate import ensure_current

        ensure_current(self.db)
        try:
            with self.db.session() as session:
                yield session
        except (sqlalchemy.exc.DataError, sqlalchemy.exc.IntegrityError) as exc:
            # Input the checks let through (they should not); one line, never a traceback.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise DatabaseError(f"the database refused the value: {reason}") from None

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_context = click.make_pass_decorator(CliContext, ensure=True)


def info(message: str) -> None:
    """Messages for people go to stderr; stdout is for what scripts capture."""
    click.echo(message, err=True)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {mask_secrets(message)}", err=True)
    sys.exit(code)
