"""Hostile command-line input: every number has a range, every refusal is one line, folder
paths must be real writable directories, host names must be host names."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from adit_cli.context import CliContext
from adit_cli.main import cli
from adit_core.db.database import Database, DatabaseError

HUGE = "99999999999999999999"


def adit(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def one_line_refusal(result: Result, code: int) -> str:
    """The refusal: exit status `code`, no traceback, the reason on one line."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    reason = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(reason) == 1, result.stderr
    return reason[0]


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "show", HUGE],
        ["jobs", "wait", HUGE],
        ["jobs", "export", HUGE],
        *[["jobs", action, HUGE] for action in ("cancel", "resume", "retry", "restart", "delete")],
        ["jobs", "show", "0"],
        ["jobs", "show", "--", "-5"],
    ],
)
def test_job_ids_out_of_range(database: Database, args: list[str]) -> None:
    assert "is not in the range 1<=x<=9223372036854775807" in one_line_refusal(adit(*args), 2)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e400", "soon", "31622401"])
def test_wait_timeout_must_be_finite_and_not_negative(database: Database, value: str) -> None:
    reason = one_line_refusal(adit("jobs", "wait", "1", "--timeout", value), 2)
    assert "--timeout" in reason


def test_wait_with_a_finite_timeout_returns(database: Database, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert adit("server", "add", "src", "--ae-title", "SRC", "--host", "127.0.0.1",
                "--port", "11112").exit_code == 0  # fmt: skip
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out")).exit_code == 0
    job = adit("transfer", "-s", "src", "-d", "out", "--study", "1.2.3")
    assert job.exit_code == 0, job.output
    started = time.monotonic()
    result = adit("jobs", "wait", job.stdout.strip(), "--timeout", "0.5")
    assert result.exit_code == 2  # nobody runs the job: the timeout ends the wait
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400", "86401"])
def test_worker_shutdown_timeout_has_a_range(value: str) -> None:
    assert "--shutdown-timeout" in one_line_refusal(adit("worker", "--shutdown-timeout", value), 2)


@pytest.mark.parametrize("value", [HUGE, "1000001", "0", "-3", "nan"])
def test_max_search_results_has_a_range(database: Database, value: str) -> None:
    args = ["server", "add", "p", "--ae-title", "P", "--host", "h", "--port", "104"]
    assert "--max-search-results" in one_line_refusal(adit(*args, "--max-search-results", value), 2)
    assert json.loads(adit("server", "list", "--json").stdout) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e400", "must be between 0.001 and 1,000,000 gigabytes, not 1e400"),
        ("nan", "must be between 0.001 and 1,000,000 gigabytes, not nan"),
        ("-1", "must be between 0.001 and 1,000,000 gigabytes"),
        ("0", "must be between 0.001 and 1,000,000 gigabytes"),
        ("0.0001", "must be between 0.001 and 1,000,000 gigabytes"),
        ("1.0005", "may have at most three decimals"),
        ("lots", "must be a number of gigabytes, not 'lots'"),
    ],
)
def test_folder_sizes_have_a_range(
    database: Database, tmp_path: Path, value: str, reason: str
) -> None:
    for option in ("--quota-gb", "--warn-size-gb"):
        result = adit("folder", "add", "out", "--path", str(tmp_path), option, value)
        assert reason in one_line_refusal(result, 1)
    assert json.loads(adit("folder", "list", "--json").stdout) == []


def test_folder_path_must_be_an_existing_writable_directory(
    database: Database, tmp_path: Path
) -> None:
    missing = tmp_path / "not" / "there"
    reason = one_line_refusal(adit("folder", "add", "out", "--path", str(missing)), 1)
    assert f"{missing} does not exist" in reason
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    reason = one_line_refusal(adit("folder", "add", "out", "--path", str(a_file)), 1)
    assert f"{a_file} is not a directory" in reason
    assert not missing.exists()
    assert json.loads(adit("folder", "list", "--json").stdout) == []

    # --create makes it, but only once the name was accepted.
    assert adit("folder", "add", "out", "--path", str(tmp_path)).exit_code == 0
    reason = one_line_refusal(adit("folder", "add", "out", "--path", str(missing), "--create"), 1)
    assert "a folder named 'out' already exists" in reason
    assert not missing.exists()
    result = adit("folder", "add", "deep", "--path", str(missing), "--create")
    assert result.exit_code == 0, result.output
    assert missing.is_dir()


def test_read_only_folder_is_refused(database: Database, small_filesystem) -> None:  # type: ignore[no-untyped-def]
    mount = small_filesystem(1, read_only=True)
    reason = one_line_refusal(adit("folder", "add", "ro", "--path", str(mount)), 1)
    assert reason == f"error: {mount} is not writable (permissions or a read-only mount)"


@pytest.mark.parametrize(
    ("host", "stored"),
    [
        ("pacs-01.example.org", "pacs-01.example.org"),
        ("PACS.", "PACS."),
        ("10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        ("[fe80::1]", "fe80::1"),
        ("localhost", "localhost"),
    ],
)
def test_valid_hosts(database: Database, host: str, stored: str) -> None:
    result = adit("server", "add", "p", "--ae-title", "P", "--host", host, "--port", "104")
    assert result.exit_code == 0, result.output
    [row] = json.loads(adit("server", "list", "--json").stdout)
    assert row["host"] == stored


@pytest.mark.parametrize(
    "host",
    ["a" * 10_000, "-pacs", "pacs-", "pacs_01", "999.1.1.1", "1.2.3", "a..b", "pacs:104",
     "http://pacs", "pa cs", "[::1", "x" * 64 + ".org", ("a" * 60 + ".") * 5 + "org"],
)  # fmt: skip
def test_invalid_hosts(database: Database, host: str) -> None:
    result = adit("server", "add", "p", "--ae-title", "P", "--host", host, "--port", "104")
    reason = one_line_refusal(result, 1)
    assert reason.startswith("error: invalid host ")
    assert len(reason) < 200  # a 10 kB host name is not echoed back whole
    assert json.loads(adit("server", "list", "--json").stdout) == []
    # Editing is checked the same way.
    assert (
        adit("server", "add", "p", "--ae-title", "P", "--host", "h", "--port", "104").exit_code == 0
    )
    one_line_refusal(adit("server", "edit", "p", "--host", host), 1)
    assert json.loads(adit("server", "list", "--json").stdout)[0]["host"] == "h"


@pytest.mark.parametrize(
    "url",
    ["http://[::1/dicom-web", "http://pacs_01/dicom-web", "http://pacs:99999/dicom-web",
     "http://" + "a" * 3000 + "/dicom-web"],
)  # fmt: skip
def test_invalid_dicomweb_urls(database: Database, url: str) -> None:
    args = ["server", "add", "p", "--ae-title", "P", "--host", "h", "--port", "104"]
    reason = one_line_refusal(adit(*args, "--dicomweb-url", url), 1)
    assert "DICOMweb URL" in reason and len(reason) < 300


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://adit:pw@db:notaport/adit", "invalid port 'notaport'"),
        ("postgresql://db:99999/adit", "invalid port '99999'"),
        ("postgresql://[::1/adit", "is not a valid PostgreSQL URL"),
        ("postgresql://db/adit?bogus=1", 'invalid URI query parameter: "bogus"'),
        ("postgresql://%zz@db/adit", 'invalid percent-encoded token: "%zz"'),
        ("postgresql://db/adit?host=" + "x" * 10_000, "invalid host 'xxxx"),
        ("mysql://db/adit", "must be a PostgreSQL URL"),
    ],
)
def test_malformed_database_url_is_one_line(url: str, reason: str) -> None:
    for args in (["jobs", "list"], ["db", "status"], ["server", "list"]):
        refusal = one_line_refusal(adit(*args, env={"ADIT_DATABASE_URL": url}), 1)
        assert reason in refusal
        assert "pw" not in refusal


def test_database_value_errors_become_one_line(database: Database) -> None:
    """What no option check foresaw still reaches the user as one line, not a traceback."""
    state = CliContext()
    with pytest.raises(DatabaseError) as raised, state.session() as session:
        session.execute(text("SELECT 1 / 0"))
    assert str(raised.value) == "the database refused the value: division by zero"
    state.close()
