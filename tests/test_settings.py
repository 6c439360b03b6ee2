"""The settings table: typed values, defaults, validation."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adit_core import settings
from adit_core.db.database import Database
from adit_core.settings import SettingsError


def test_defaults_and_generated_secret(database: Database) -> None:
    with database.session() as session:
        current = settings.load(session)
    assert current.receiver_ae_title == "ADIT"
    assert current.receiver_port == 11112
    assert current.exclude_modalities == frozenset()
    assert len(current.secret) == 64
    assert current.secret not in repr(current)


def test_set_validates_and_types(database: Database) -> None:
    with database.session() as session:
        settings.set_value(session, "exclude_modalities", "sr, PR")
        settings.set_value(session, "retry_base_seconds", "0.5")
    with database.session() as session:
        current = settings.load(session)
    assert current.exclude_modalities == {"SR", "PR"}
    assert current.retry_base_seconds == 0.5


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("receiver_port", "70000", "receiver_port must be a whole number from 1 to 65535"),
        ("receiver_port", "abc", "receiver_port must be a whole number"),
        ("retry_base_seconds", "nan", "retry_base_seconds must be a number of seconds"),
        ("receiver_ae_title", "WAY_TOO_LONG_AE_TITLE", "1 to 16 printable"),
        ("exclude_modalities", "CT, X-RAY", "not modalities: X-RAY"),
        ("secret", "short", "at least 32 characters"),
        ("no_such_key", "1", "no setting named 'no_such_key'"),
    ],
)
def test_bad_values_are_refused(database: Database, key: str, value: str, message: str) -> None:
    with database.session() as session, pytest.raises(SettingsError, match=message):
        settings.set_value(session, key, value)


def test_a_broken_stored_value_counts_as_unset(database: Database) -> None:
    with database.session() as session:
        session.execute(text("UPDATE settings SET value = 'x' WHERE key = 'max_attempts'"))
    with database.session() as session:
        assert settings.load(session).max_attempts == 3
