"""Running workers and receivers for tests, and reading what arrived."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydicom import dcmread

from adit_core.db.database import Database
from adit_core.jobs.read import job_summary, job_tasks
from adit_core.jobs.status import FINAL
from adit_dev.orthanc import OrthancServer, free_port
from adit_receiver.server import Receiver
from adit_worker.app import run_worker
from adit_worker.receiver_link import ReceiverLink
from tests.cli import ADIT, adit


def register_orthanc(
    name: str, orthanc: OrthancServer, capabilities: str, *, patient_root: bool = False
) -> None:
    args = [
        "server", "add", name, "--ae-title", orthanc.ae_title, "--host", "127.0.0.1",
        "--port", str(orthanc.dicom_port), "--capabilities", capabilities,
    ]  # fmt: skip
    if any(c in capabilities for c in ("qido", "wado", "stow")):
        args += ["--dicomweb-url", orthanc.dicomweb_url]
    if patient_root:
        args.append("--patient-root")
    result = adit(*args)
    assert result.exit_code == 0, result.output


def set_setting(db: Database, key: str, value: str) -> None:
    from adit_core import settings

    with db.session() as session:
        settings.set_value(session, key, value)


def transfer(*args: str) -> int:
    result = adit("transfer", *args)
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip())


def status(db: Database, job_id: int) -> str:
    with db.session() as session:
        return job_summary(session, job_id).status


def tasks(db: Database, job_id: int):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return job_tasks(session, job_id)


def run_until_final(
    db: Database, job_id: int, *, timeout: float = 120, move_destination: object = None
) -> str:
    """Run in-process burst workers until the job ends (retries may be scheduled later)."""
    deadline = time.monotonic() + timeout
    options = {"store_associations": 2, "move_destination": move_destination}
    while time.monotonic() < deadline:
        asyncio.run(
            run_worker(db, burst=True, install_signal_handlers=False, runner_options=options)
        )
        current = status(db, job_id)
        if current in FINAL:
            return current
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status(db, job_id)} after {timeout} s")


@contextmanager
def receiver(
    db: Database, orthanc: OrthancServer, ae_title: str = "ADIT"
) -> Iterator[ReceiverLink]:
    """Our receiver on a free port, registered at the Orthanc as C-MOVE destination."""
    server = Receiver(db.url, ae_title=ae_title, port=free_port(), host="127.0.0.1")
    server.start()
    orthanc.add_modality(ae_title, ae_title, "127.0.0.1", server.port)
    try:
        yield ReceiverLink(db, ae_title)
    finally:
        server.stop()


class WorkerProcess:
    """`adit worker` as a separate process, for signal and crash tests."""

    def __init__(self, db: Database, *args: str, heartbeat: float = 1.0):
        env = {**os.environ, "ADIT_DATABASE_URL": db.url,
               "ADIT_WORKER_HEARTBEAT_SECONDS": str(heartbeat)}  # fmt: skip
        # The log goes to a file: a pipe nobody reads blocks the worker once it is full.
        self.log = tempfile.NamedTemporaryFile(prefix="adit-worker-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*ADIT, "--log-level", "INFO", "worker", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def folder_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.dcm"))


def read_all(paths: list[Path]):  # type: ignore[no-untyped-def]
    return [dcmread(p) for p in paths]
