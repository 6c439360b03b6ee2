"""What every CLI command shares: the database, opened on first use, and error reporting."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from adit_core.redact import mask_secrets

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.orm import Session

    from adit_core.db.database import Database


class CliContext:
    def __init__(self) -> None:
        self._db: Database | None = None
        self._schema_checked = False

    @property
    def db(self) -> Database:
        if self._db is None:
            from adit_core.db.database import Database

            self._db = Database.from_environment()
        return self._db

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A psycopg connection in one transaction, on a database whose schema is current.

        The commands that must start at once use this: no SQLAlchemy, and the schema
        check rides on the same connection."""
        from adit_core.db import revision

        if not self._schema_checked:
            with self.db.connect() as conn:
                if revision.is_current(self.db, conn):
                    self._schema_checked = True
                    yield conn
                    return
            revision.ensure_current(self.db)  # the embedded database: upgraded here
            self._schema_checked = True
        with self.db.connect() as conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one transaction, on a database whose schema is current."""
        import sqlalchemy.exc

        from adit_core.db.database import DatabaseError

        self.ensure_schema()
        try:
            with self.db.session() as session:
                yield session
        except (sqlalchemy.exc.DataError, sqlalchemy.exc.IntegrityError) as exc:
            # Input the checks let through (they should not); one line, never a traceback.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise DatabaseError(f"the database refused the value: {reason}") from None

    def ensure_schema(self) -> None:
        if not self._schema_checked:
            from adit_core.db import revision

            revision.ensure_current(self.db)
            self._schema_checked = True

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_context = click.make_pass_decorator(CliContext, ensure=True)


def info(message: str) -> None:
    """Messages for people go to stderr; stdout is for what scripts capture."""
    click.echo(message, err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {mask_secrets(message)}", err=True)
    sys.exit(code)
