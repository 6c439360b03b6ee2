"""The server and folder registry through the `adit` command, on a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adit_core.db.database import Database
from tests.cli import adit


def servers() -> list[dict]:
    result = adit("server", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_list_edit_remove_server(database: Database) -> None:
    result = adit(
        "server", "add", "pacs", "--ae-title", "PACS1", "--host", "10.0.0.1", "--port", "104"
    )
    assert result.exit_code == 0, result.output
    assert "added server pacs" in result.stderr
    [row] = servers()
    assert row["name"] == "pacs"
    assert row["ae_title"] == "PACS1"
    assert row["port"] == 104
    assert row["capabilities"] == ["find", "get", "move", "store"]
    assert row["study_root"] is True
    assert row["patient_root"] is False

    result = adit("server", "edit", "pacs", "--port", "11112", "--name", "main-pacs")
    assert result.exit_code == 0, result.output
    [row] = servers()
    assert (row["name"], row["port"], row["ae_title"]) == ("main-pacs", 11112, "PACS1")

    result = adit("server", "list")
    assert "main-pacs" in result.stdout and "PACS1" in result.stdout

    assert adit("server", "remove", "main-pacs").exit_code == 0
    assert servers() == []


def test_dicomweb_url_adds_dicomweb_capabilities(database: Database) -> None:
    result = adit(
        "server", "add", "web", "--ae-title", "WEB", "--host", "h", "--port", "4242",
        "--dicomweb-url", "http://h:8042/dicom-web/", "--patient-root", "--study-root",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = servers()
    assert row["capabilities"] == ["find", "get", "move", "qido", "store", "stow", "wado"]
    assert row["dicomweb_url"] == "http://h:8042/dicom-web"
    assert row["patient_root"] and row["study_root"]


def test_explicit_capabilities_and_patient_root(database: Database) -> None:
    result = adit(
        "server", "add", "old", "--ae-title", "OLD", "--host", "h", "--port", "104",
        "--capabilities", "find, move", "--patient-root",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = servers()
    assert row["capabilities"] == ["find", "move"]
    assert row["patient_root"] and not row["study_root"]


def test_authorization_header_is_never_printed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACS_AUTH", "Bearer s3cr3t-token")
    result = adit(
        "server", "add", "web", "--ae-title", "WEB", "--host", "h", "--port", "1",
        "--dicomweb-url", "https://h/dicom-web", "--authorization-header-env", "PACS_AUTH",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listing = adit("server", "list", "--json").stdout + adit("server", "list").stdout
    assert "s3cr3t" not in listing + result.output
    assert servers()[0]["authorization_header"] == "set"
    with database.session() as session:
        from adit_core.registry import get_server

        server = get_server(session, "web")
    assert server.authorization_header == "Bearer s3cr3t-token"
    assert "s3cr3t" not in repr(server)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ae-title", "A", "--host", "h", "--port", "0"], "0 is not in the range"),
        (["--ae-title", "A", "--host", "h", "--port", "http"], "'http' is not a valid integer"),
        (["--ae-title", "A", "--host", "h", "--port", "1", "--capabilities", "find,fetch"],
         "unknown capability 'fetch'"),
        (["--ae-title", "A" * 17, "--host", "h", "--port", "1"], "invalid AE title"),
        (["--ae-title", "A\\B", "--host", "h", "--port", "1"], "invalid AE title"),
        (["--host", "h", "--port", "1"], "missing --ae-title"),
        (["--ae-title", "A", "--host", "h", "--port", "1", "--capabilities", "qido"],
         "need --dicomweb-url"),
        (["--ae-title", "A", "--host", "h", "--port", "1", "--dicomweb-url", "ftp://x"],
         "invalid DICOMweb URL"),
        (["--ae-title", "A", "--host", "h", "--port", "1", "--max-search-results", "0"],
         "0 is not in the range"),
    ],
)  # fmt: skip
def test_bad_server_arguments_write_nothing(
    database: Database, args: list[str], message: str
) -> None:
    result = adit("server", "add", "x", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert servers() == []


def test_duplicate_names_are_refused_across_servers_and_folders(
    database: Database, tmp_path
) -> None:
    base = ["--ae-title", "A", "--host", "h", "--port", "104"]
    assert adit("server", "add", "pacs", *base).exit_code == 0
    result = adit("server", "add", "pacs", *base)
    assert result.exit_code == 1
    assert "a server named 'pacs' already exists" in result.stderr
    result = adit("folder", "add", "pacs", "--path", str(tmp_path))
    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert len(servers()) == 1


def test_unknown_server_names_the_known_ones(database: Database) -> None:
    adit("server", "add", "pacs", "--ae-title", "A", "--host", "h", "--port", "104")
    for command in (["server", "echo", "nope"], ["server", "edit", "nope", "--port", "1"]):
        result = adit(*command)
        assert result.exit_code == 1
        assert "no DICOM server named 'nope' (known: pacs)" in result.stderr
    assert adit("server", "remove", "nope").exit_code == 1


def test_folders(database: Database, tmp_path) -> None:
    result = adit(
        "folder",
        "add",
        "research",
        "--path",
        str(tmp_path / "out"),
        "--create",
        "--quota-gb",
        "2.5",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(adit("folder", "list", "--json").stdout)
    assert rows == [
        {"name": "research", "path": str(tmp_path / "out"), "quota_gb": 2.5, "warn_size_gb": None}
    ]
    for bad in (
        ["--quota-gb", "lots"],
        ["--quota-gb", "-1"],
        ["--quota-gb", "1", "--warn-size-gb", "2"],
    ):
        result = adit("folder", "add", "other", "--path", str(tmp_path), *bad)
        assert result.exit_code == 1, bad
    assert adit("folder", "remove", "research").exit_code == 0
    assert json.loads(adit("folder", "list", "--json").stdout) == []


def test_missing_schema_is_explained(empty_database: Database) -> None:
    result = adit("server", "list")
    assert result.exit_code == 1
    assert "has no ADIT schema yet: run `adit db upgrade`" in result.stderr


def test_unreachable_database_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADIT_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/adit")
    result = adit("server", "list")
    assert result.exit_code == 1
    assert "cannot reach the database" in result.stderr


def test_bad_database_url_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADIT_DATABASE_URL", "mysql://root@localhost/adit")
    result = adit("server", "list")
    assert result.exit_code != 0
    assert "must be a PostgreSQL URL" in result.output


def test_a_dicomweb_only_server_can_be_edited(database: Database) -> None:
    result = adit(
        "server", "add", "web", "--ae-title", "WEB", "--host", "h", "--port", "1",
        "--dicomweb-url", "http://h/dicom-web", "--capabilities", "qido,wado",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = adit("server", "edit", "web", "--wado-prefix", "wado")
    assert result.exit_code == 0, result.output
    [row] = servers()
    assert row["capabilities"] == ["qido", "wado"]
    assert row["wado_prefix"] == "wado"


def test_a_server_or_folder_that_jobs_used_cannot_be_removed(
    database: Database, tmp_path: Path
) -> None:
    for args in (
        ("server", "add", "src", "--ae-title", "SRC", "--host", "h", "--port", "104"),
        ("folder", "add", "out", "--path", str(tmp_path)),
    ):
        assert adit(*args).exit_code == 0
    assert adit("transfer", "-s", "src", "-d", "out", "--study", "1.2.3").exit_code == 0
    for kind, name in (("server", "src"), ("folder", "out")):
        result = adit(kind, "remove", name)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: the {kind} {name!r} is used by existing jobs and cannot be removed\n"
        )
    assert [row["name"] for row in servers()] == ["src"]
    assert [row["name"] for row in json.loads(adit("folder", "list", "--json").stdout)] == ["out"]
