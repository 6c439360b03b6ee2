"""The ORM models and the migrations describe the same tables: columns, types, nullability,
keys, foreign keys (with their ON DELETE) and indexes. (Defaults are not compared: the
models give Python-side defaults, the migrations server-side ones.)"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adit_core.db.database import Database
from adit_core.db.models import Base
from schema import include_name, include_object


def test_the_models_match_the_migrated_schema(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": include_name,
                "include_object": include_object,
                "compare_type": True,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
