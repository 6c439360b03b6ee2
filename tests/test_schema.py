"""The ORM models and the migrations describe the same tables: columns, types, nullability,
keys, foreign keys (with their ON DELETE) and indexes. (Defaults are not compared: the
models give Python-side defaults, the migrations server-side ones.)"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adit_core.db.database import Database
from adit_core.db.models import Base
from schema import include_name, include_object

# The C-MOVE receiver's tables have no ORM model: adit_receiver and adit_worker reach them
# with SQL. A model added for one of them is compared like the others once it leaves
# this set (the first assertion below says so).
WITHOUT_MODEL = frozenset({"move_requests", "arrivals"})


def test_the_models_match_the_migrated_schema(database: Database) -> None:
    assert not WITHOUT_MODEL & set(Base.metadata.tables)

    def included(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        table = name if type_ == "table" else parents.get("table_name")
        return table not in WITHOUT_MODEL and include_name(name, type_, parents)

    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": included,
                "include_object": include_object,
                "compare_type": True,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
