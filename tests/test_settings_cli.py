"""`adit settings list|get|set` on a real database: values, validation, the secret."""

from __future__ import annotations

import json
import subprocess

from adit_core import settings
from adit_core.db.database import Database
from tests.cli import ADIT, adit


def stored(db: Database) -> dict[str, str]:
    with db.connect() as conn:
        return dict(conn.execute("SELECT key, value FROM settings").fetchall())


def test_list_shows_every_setting_and_never_the_secret(database: Database) -> None:
    secret = stored(database)["secret"]
    result = adit("settings", "list")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert list(lines) == list(settings.SETTINGS)
    assert lines["receiver_port"] == "11112  (default)"
    assert lines["retry_base_seconds"] == "30  (default)"
    assert lines["exclude_modalities"] == "(empty)  (default)"
    assert lines["secret"] == "set"
    as_json = adit("settings", "list", "--json")
    rows = {row["key"]: row for row in json.loads(as_json.stdout)}
    assert rows["secret"]["value"] is None and rows["secret"]["set"] is True
    assert rows["max_attempts"]["allowed"] == "whole number, 1-100"
    assert (rows["max_attempts"]["value"], rows["max_attempts"]["default"]) == ("3", "3")
    for output in (result.output, as_json.output, adit("settings", "get", "secret").output):
        assert secret not in output
    assert adit("settings", "get", "secret").stdout == "set\n"


def test_set_checks_the_value_and_stores_it_in_its_plain_form(database: Database) -> None:
    result = adit("settings", "set", "exclude_modalities", "sr, pr")
    assert result.exit_code == 0, result.output
    assert result.stderr == "exclude_modalities = PR,SR\n"
    assert adit("settings", "get", "exclude_modalities").stdout == "PR,SR\n"
    with database.connect() as conn:
        assert settings.load(conn).exclude_modalities == {"PR", "SR"}
    result = adit("settings", "set", "receiver_port", "11113")
    assert result.exit_code == 0
    assert "restart `adit receiver` and the workers" in result.stderr
    listed = adit("settings", "list").stdout.splitlines()
    assert ["receiver_port", "11113"] in [line.split() for line in listed]


def test_bad_values_and_unknown_keys_change_nothing(database: Database) -> None:
    before = stored(database)
    for args, message in (
        (("receiver_port", "70000"), "receiver_port must be a whole number from 1 to 65535"),
        (("max_attempts", "three"), "max_attempts must be a whole number from 1 to 100"),
        (("receiver_ae_title", "A\\B"), "receiver_ae_title must be 1 to 16 printable"),
        (("exclude_modalities", "CT;MR"), "not modalities: CT;MR"),
        (("secret", "too short"), "secret must be at least 32 characters"),
        (("recevier_port", "1"), "no setting named 'recevier_port'"),
    ):
        result = adit("settings", "set", *args)
        assert result.exit_code == 1, args
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ") and message in line, line
        assert "Traceback" not in result.output
    assert adit("settings", "get", "nope").exit_code == 1
    assert stored(database) == before


def test_the_secret_can_come_from_stdin_and_is_not_echoed(database: Database) -> None:
    new = "0123456789abcdef" * 4
    done = subprocess.run(
        [*ADIT, "settings", "set", "secret", "-"],
        input=new + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert new not in done.stdout + done.stderr
    assert "secret changed" in done.stderr
    assert stored(database)["secret"] == new
