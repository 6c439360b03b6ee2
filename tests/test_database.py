"""Migrations and the embedded PostgreSQL, exercised as a user would: through `adit`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from adit_cli.main import cli
from adit_core.db import revision
from adit_core.db.database import Database
from adit_core.db.migrate import head_revision
from tests.cli import ADIT


def schema_revision(db: Database) -> str | None:
    with db.connect() as conn:
        return revision.current(conn)


def test_the_revision_commands_require_is_alembics_head() -> None:
    assert head_revision() == revision.HEAD


def test_upgrade_installs_schema_and_is_idempotent(empty_database: Database) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"upgraded from empty to revision {head_revision()}" in first.stderr
    second = runner.invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    assert second.exit_code == 0
    assert "up to date" in second.stderr
    assert schema_revision(empty_database) == head_revision()
    with psycopg.connect(empty_database.url) as conn:
        tables = {
            r[0] for r in conn.execute("select tablename from pg_tables where schemaname='public'")
        }
        secret = conn.execute("select value from settings where key='secret'").fetchone()
    assert {
        "dicom_nodes",
        "dicom_servers",
        "dicom_folders",
        "settings",
        "procrastinate_jobs",
    } <= tables
    assert secret and len(secret[0]) == 64


def test_concurrent_upgrades_do_not_collide(empty_database: Database) -> None:
    env = {**os.environ, "ADIT_DATABASE_URL": empty_database.url}
    procs = [
        subprocess.Popen([*ADIT, "db", "upgrade"], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [(p.wait(60), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert all(code == 0 for code, _ in results), results
    assert schema_revision(empty_database) == head_revision()


def test_secret_survives_a_second_upgrade(database: Database) -> None:
    with psycopg.connect(database.url) as conn:
        before = conn.execute("select value from settings where key='secret'").fetchone()
    CliRunner().invoke(cli, ["db", "upgrade"], catch_exceptions=False)
    with psycopg.connect(database.url) as conn:
        after = conn.execute("select value from settings where key='secret'").fetchone()
    assert before == after


def _embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ADIT_DATABASE_URL"}
    env["ADIT_DATA_DIR"] = str(data_dir)
    return env


@pytest.mark.services  # starts an embedded PostgreSQL
def test_embedded_postgres_first_process_starts_others_attach(tmp_path: Path) -> None:
    data_dir = Path(f"/tmp/adit-emb-{os.getpid()}")  # short: Unix socket path limit
    env = _embedded_env(data_dir)
    try:

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*ADIT, *args], env=env, capture_output=True, text=True, timeout=120
            )

        up = run("db", "upgrade")
        assert up.returncode == 0, up.stderr
        assert "upgraded from empty" in up.stderr
        # A long-lived process (like a worker) holds the server; commands attach to it.
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys,time; from adit_core.db.database import Database; "
             "Database.from_environment(); print('ready', flush=True); sys.stdin.read()"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert holder.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        pid_file = data_dir / "pgdata" / "postmaster.pid"
        server_pid = pid_file.read_text().split()[0]
        added = run("server", "add", "pacs", "--ae-title", "PACS", "--host", "h", "--port", "104")
        assert added.returncode == 0, added.stderr
        listed = run("server", "list", "--json")
        assert '"pacs"' in listed.stdout
        assert pid_file.read_text().split()[0] == server_pid  # attached, not restarted
        status = run("db", "status")
        assert "(embedded)" in status.stdout
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(30)
        deadline = time.monotonic() + 30
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_file.exists(), "the last process to leave should stop the server"
        # Data persists across server restarts.
        again = run("server", "list", "--json")
        assert '"pacs"' in again.stdout
    finally:
        subprocess.run(["rm", "-rf", str(data_dir)], check=False)
