"""The `adit` command itself: its command table, what its commands import, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from adit_cli.main import COMMANDS, cli
from adit_core import settings
from adit_core.db.database import Database
from tests.cli import ADIT, adit

HEAVY = ("sqlalchemy", "psycopg", "pydicom", "pynetdicom", "alembic", "textual", "procrastinate")


def loaded_after(*args: str) -> list[str]:
    """The heavy packages `adit ARGS` imported, run in a fresh interpreter."""
    code = (
        "import sys, json\n"
        "from adit_cli.main import cli\n"
        f"try:\n    cli.main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_every_listed_command_exists_with_its_summary() -> None:
    ctx = click.Context(cli)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == entry.summary, name


def test_help_lists_every_command_without_importing_them() -> None:
    result = adit("--help")
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        assert name in result.stdout
        assert entry.summary.split()[0] in result.stdout
    assert loaded_after("--help") == []


def test_an_unknown_command_is_refused() -> None:
    result = subprocess.run([*ADIT, "tranfser"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "No such command 'tranfser'" in result.stderr


def test_settings_help_names_every_key_and_what_it_accepts() -> None:
    for args in (("settings", "--help"), ("settings", "set", "--help")):
        result = adit(*args)
        assert result.exit_code == 0
        text = " ".join(result.stdout.split())
        for setting in settings.SETTINGS.values():
            assert f"{setting.key}: {setting.allowed}" in text, (args, setting.key)
    assert "whole number, 1-65535; default 11112" in " ".join(
        adit("settings", "--help").stdout.split()
    )


@pytest.mark.parametrize(
    "args",
    [("jobs", "list"), ("transfer", "-s", "a", "-d", "b", "--study", "1.2"), ("server", "list")],
)
def test_an_unreachable_database_is_one_line(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADIT_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/adit")
    result = adit(*args)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach the database")
    assert "Connection refused" in line
    assert result.stdout == ""


def test_driver_errors_become_one_line_whoever_raised_them() -> None:
    import psycopg
    import sqlalchemy.exc

    from adit_cli.main import _database_failure

    refused = psycopg.OperationalError("connection failed: refused\nIs the server running?")
    assert _database_failure(refused) == "cannot reach the database: connection failed: refused"
    wrapped = sqlalchemy.exc.OperationalError("SELECT 1", {}, refused)
    assert _database_failure(wrapped) == "cannot reach the database: connection failed: refused"
    assert _database_failure(ValueError("a bug")) is None
    assert _database_failure(psycopg.errors.UniqueViolation("dup")) is None


def test_the_quick_commands_need_no_sqlalchemy(database: Database, tmp_path: Path) -> None:
    for args in (
        ("server", "add", "src", "--ae-title", "SRC", "--host", "127.0.0.1", "--port", "1"),
        ("folder", "add", "dst", "--path", str(tmp_path)),
    ):
        assert adit(*args).exit_code == 0
    for args in (
        ("jobs", "list"),
        ("transfer", "-s", "src", "-d", "dst", "--study", "1.2.3"),
        ("jobs", "wait", "1", "--timeout", "0"),
        ("settings", "list"),
    ):
        assert loaded_after(*args) == ["psycopg"], args
