"""Fixtures shared by every test; each group lives in its own plugin module."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.filesystems",
    "tests.fixtures.orthanc",
    "tests.fixtures.studies",
]
