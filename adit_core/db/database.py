"""Opening the job database: the configured server, or the embedded one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from adit_core import config
from adit_core.errors import AditError
from adit_core.redact import mask_url


class DatabaseError(AditError):
    """The database cannot be used (unreachable, schema missing or out of date)."""


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

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(
                config.sqlalchemy_url(self.url), pool_pre_ping=True, pool_size=5
            )
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with sessionmaker(self.engine, expire_on_commit=False)() as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
