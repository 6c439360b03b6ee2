"""Opening the job database: the configured server, or the embedded one.

Two ways in: `connect()` gives a psycopg connection (all the commands that must start at
once need), `session()` a SQLAlchemy ORM session (imported on first use: SQLAlchemy alone
costs most of a second to import).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adit_core import config
from adit_core.errors import AditError
from adit_core.redact import mask_url

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session


class DatabaseError(AditError):
    """The database cannot be used (unreachable, schema missing or out of date)."""


def unreachable_message(exc: BaseException) -> str:
    """The first line of a driver's connection error (libpq's are several lines long)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class Database:
    url: str  # libpq form
    embedded: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls) -> Database:
        configured = config.configured_database_url()
        if configured:
            try:
                return cls(config.libpq_url(configured))
            except ValueError as exc:
                raise DatabaseError(str(exc)) from None
        from adit_core.db.embedded import embedded_url

        return cls(embedded_url(config.data_dir()), embedded=True)

    @property
    def display_url(self) -> str:
        """The URL with its user and password masked, fit for logs and screens."""
        return mask_url(self.url)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A psycopg connection in one transaction: committed on success, else rolled back.

        Raises DatabaseError when the server cannot be reached."""
        import psycopg

        try:
            conn = psycopg.connect(self.url)
        except psycopg.OperationalError as exc:
            raise DatabaseError(
                f"cannot reach the database {self.display_url}: {unreachable_message(exc)}"
            ) from None
        with conn:
            yield conn

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(
                config.sqlalchemy_url(self.url), pool_pre_ping=True, pool_size=5
            )
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        from sqlalchemy.orm import Session

        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
