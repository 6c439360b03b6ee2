"""The database schema as Alembic migrations (versions/), run by `adit db upgrade`."""

from __future__ import annotations


def _ours(name: str | None, type_: str) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter of the database's names: procrastinate's tables (installed by our
    first revision from procrastinate's own SQL) are not compared with the models."""
    return _ours(name, type_)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """The same filter for the models' side (models.py declares procrastinate_jobs only as
    the target of a foreign key)."""
    return _ours(name, type_)
