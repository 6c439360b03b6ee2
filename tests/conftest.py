"""Fixtures shared by every test; each group lives in its own plugin module.

Every test that needs a service (PostgreSQL, Orthanc, DCMTK) through a fixture is marked
`services` here; `uv run pytest -m "not services"` runs the rest, which needs none of them.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.filesystems",
    "tests.fixtures.orthanc",
    "tests.fixtures.studies",
]

# The fixtures every use of a service goes through (directly or by depending on them).
SERVICE_FIXTURES = frozenset({"pg_admin_url", "orthanc_servers", "dcmtk"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)
