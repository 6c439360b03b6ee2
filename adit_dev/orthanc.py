"""A real Orthanc process on loopback, for tests, benchmarks and `adit demo`.

Orthanc is configured from one JSON file in the work folder (which replaces everything under
/etc/orthanc), tuned for speed: no fsync per file, 128 KB PDUs, no compression, and
TCP_NODELAY for its DCMTK network layer (Nagle otherwise costs ~40 ms per instance).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from io import BytesIO
from pathlib import Path
from typing import Any

import requests
from pydicom import Dataset

from adit_core.dicom.server import DicomServer

DEFAULT_BINARY = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
INSTALL_HINT = "install the Debian packages: apt-get install orthanc orthanc-dicomweb"
_START_ATTEMPTS = 3
_PORT_IN_USE = re.compile(r"already in use.*\(port = (\d+)\)")


def find_orthanc() -> str | None:
    """Path of the Orthanc executable, or None."""
    found = shutil.which("Orthanc")
    if found:
        return found
    return DEFAULT_BINARY if os.access(DEFAULT_BINARY, os.X_OK) else None


def find_dicomweb_plugin() -> str | None:
    return next((p for p in DICOMWEB_PLUGIN_CANDIDATES if Path(p).exists()), None)


def free_port() -> int:
    """A TCP port that is free right now (on all interfaces: Orthanc cannot bind loopback only)."""
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open until every port is chosen so the kernel cannot repeat one.
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class OrthancServer:
    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        ae_title: str = "ORTHANC",
        dicom_port: int | None = None,
        http_port: int | None = None,
        modalities: dict[str, tuple[str, str, int]] | None = None,
        config_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.ae_title = ae_title
        # Ports are chosen here, not in start(), so they stay the same across restarts and
        # can be handed to peers before the server runs.
        self._requested_dicom_port = dicom_port
        self._requested_http_port = http_port
        self.dicom_port: int = dicom_port or 0
        self.http_port: int = http_port or 0
        self._auto_chosen: set[int] = set()
        self._pick_ports()
        self.modalities = dict(modalities or {})
        self.config_overrides = dict(config_overrides or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._sigterm_sent = False
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    # -- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def storage_dir(self) -> Path:
        return self.workdir / "storage"

    @property
    def config_path(self) -> Path:
        return self.workdir / "orthanc.json"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __repr__(self) -> str:
        return (
            f"OrthancServer(ae_title={self.ae_title!r}, dicom_port={self.dicom_port}, "
            f"http_port={self.http_port}, workdir={str(self.workdir)!r})"
        )

    # -- lifecycle -----------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        plugin = find_dicomweb_plugin()
        if plugin is None:
            raise RuntimeError(f"Orthanc DICOMweb plugin not found; {INSTALL_HINT}")
        config: dict[str, Any] = {
            "Name": self.ae_title,
            "StorageDirectory": str(self.storage_dir),
            "IndexDirectory": str(self.storage_dir),
            "StorageCompression": False,
            "Plugins": [plugin],
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "KeepAlive": True,
            "TcpNoDelay": True,
            "DicomAet": self.ae_title,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomCheckModalityHost": False,
            "DicomModalities": {name: list(m) for name, m in self.modalities.items()},
            "DicomScpTimeout": 30,
            "DicomScuTimeout": 30,
            "DicomThreadsCount": 4,
            "SaveJobs": False,
            "SyncStorageArea": False,
            "MaximumPduLength": 131072,
            # The default (Latin1) makes C-FIND answers ISO_IR 100 and silently drops every
            # character outside Latin-1 ("Nguyễn" -> "Nguyn"), whatever the query asked for.
            "DefaultEncoding": "Utf8",
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "EnableWado": True,
                "WadoRoot": "/wado",
                "Ssl": False,
            },
        }
        for key, value in self.config_overrides.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return config

    def start(self, timeout: float = 30) -> None:
        """Start Orthanc and wait until its REST API answers; no-op if already running."""
        if self._sigterm_sent:
            self.stop()  # terminate() was called: let that process finish first
        if self.running:
            return
        binary = find_orthanc()
        if binary is None:
            raise RuntimeError(f"Orthanc executable not found; {INSTALL_HINT}")
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                self._start_once(binary, timeout)
                return
            except _PortTaken as exc:
                # An auto-chosen port can be taken between choosing and binding; try others.
                if exc.port not in self._auto_chosen or attempt == _START_ATTEMPTS:
                    raise RuntimeError(str(exc)) from None
                self._pick_ports()

    def _pick_ports(self) -> None:
        auto_dicom, auto_http = _free_ports(2)
        self._auto_chosen = set()
        if self._requested_dicom_port is None:
            self.dicom_port = auto_dicom
            self._auto_chosen.add(auto_dicom)
        if self._requested_http_port is None:
            self.http_port = auto_http
            self._auto_chosen.add(auto_http)

    def _start_once(self, binary: str, timeout: float) -> None:
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=2), encoding="utf-8")
        env = {**os.environ, "TCP_NODELAY": "1"}
        self._sigterm_sent = False
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                [binary, str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        atexit.register(self.stop)

        deadline = time.monotonic() + timeout
        probe = requests.Session()
        try:
            while True:
                code = self._process.poll()
                if code is not None:
                    self.stop()
                    message = (
                        f"Orthanc {self.ae_title} exited with code {code} during start-up "
                        f"(DICOM port {self.dicom_port}, HTTP port {self.http_port}).\n"
                        f"Log {self.log_path}:\n{self.log_tail()}"
                    )
                    taken = _PORT_IN_USE.search(self.log_tail())
                    if taken:
                        raise _PortTaken(message, int(taken.group(1)))
                    raise RuntimeError(message)
                if self._answers(probe):
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"Orthanc {self.ae_title} did not answer GET /system within "
                        f"{timeout:g} s.\nLog {self.log_path}:\n{self.log_tail()}"
                    )
                time.sleep(0.05)
        finally:
            probe.close()

    def _answers(self, probe: requests.Session) -> bool:
        try:
            response = probe.get(f"{self.url}/system", timeout=1)
            # Another Orthanc may hold our HTTP port; ours is the one owning our DICOM port.
            return response.ok and response.json().get("DicomPort") == self.dicom_port
        except (requests.RequestException, ValueError):
            return False

    def terminate(self) -> None:
        """Ask Orthanc to stop without waiting (it takes ~3 s); stop() then waits.

        Lets several servers shut down in parallel.
        """
        # Close our keep-alive connections first so Orthanc's HTTP server need not wait.
        self._close_sessions()
        process = self._process
        # Only once: a second SIGTERM kills Orthanc at once, skipping its clean shutdown.
        if process is not None and not self._sigterm_sent and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            self._sigterm_sent = True

    def stop(self, grace: float = 15) -> None:
        """Stop Orthanc and wait until the process is gone; SIGKILL after `grace` seconds.

        Waiting matters: a new Orthanc on the same storage while the old one still holds the
        SQLite index gets "database is locked", and both processes die.
        """
        self.terminate()
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None:
            return
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines Orthanc logged since the latest start."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> OrthancServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- REST ----------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """A requests Session for the calling thread (Sessions are not thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _close_sessions(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        response = self.session.request(method, f"{self.url}{path}", **kwargs)
        if not response.ok:
            raise RuntimeError(
                f"Orthanc {self.ae_title}: {method} {path} -> HTTP {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self._request("GET", path, **kwargs).json()

    def upload(self, data: bytes | Path | Dataset) -> None:
        """Store one instance (POST /instances)."""
        self._request(
            "POST",
            "/instances",
            data=_as_bytes(data),
            headers={"Content-Type": "application/dicom"},
        )

    def upload_many(self, items: Iterable[bytes | Path | Dataset], workers: int = 4) -> int:
        """Upload in parallel; `items` is consumed lazily, so it may be a large generator."""
        count = 0
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orthanc-upload") as pool:
            try:
                for item in items:
                    if len(pending) >= workers * 2:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    pending.add(pool.submit(self.upload, item))
                    count += 1
                for future in pending:
                    future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return count

    def reset(self) -> None:
        """Delete everything stored (patient by patient)."""
        for patient_id in self.get_json("/patients"):
            self._request("DELETE", f"/patients/{patient_id}")

    def study_uids(self) -> set[str]:
        studies = self.get_json("/studies", params={"expand": ""})
        return {s["MainDicomTags"]["StudyInstanceUID"] for s in studies}

    def instance_count(self) -> int:
        return int(self.get_json("/statistics")["CountInstances"])

    def instance_uids(self, study_uid: str | None = None) -> set[str]:
        """SOPInstanceUIDs of every instance, or of one study's instances."""
        if study_uid is None:
            instances = self.get_json("/instances", params={"expand": ""})
        else:
            instances = self.get_json(f"/studies/{self.lookup(study_uid, 'Study')}/instances")
        return {i["MainDicomTags"]["SOPInstanceUID"] for i in instances}

    def lookup(self, uid: str, level: str) -> str:
        """Orthanc's internal id for a DICOM UID at `level` (Patient/Study/Series/Instance)."""
        matches = self._request("POST", "/tools/lookup", data=uid).json()
        for match in matches:
            if match["Type"] == level:
                return str(match["ID"])
        raise KeyError(f"Orthanc {self.ae_title} has no {level.lower()} {uid}")

    def instance_file(self, sop_instance_uid: str) -> bytes:
        orthanc_id = self.lookup(sop_instance_uid, "Instance")
        return self._request("GET", f"/instances/{orthanc_id}/file").content

    def study_instance_files(self, study_uid: str) -> Iterator[bytes]:
        study_id = self.lookup(study_uid, "Study")
        for instance in self.get_json(f"/studies/{study_id}/instances"):
            yield self._request("GET", f"/instances/{instance['ID']}/file").content

    def add_modality(self, name: str, ae_title: str, host: str, port: int) -> None:
        """Register a peer at runtime; it is also written into the config of later restarts."""
        body = {"AET": ae_title, "Host": host, "Port": port}
        self._request("PUT", f"/modalities/{name}", json=body)
        self.modalities[name] = (ae_title, host, port)

    def as_dicom_server(self, name: str | None = None, **overrides: Any) -> DicomServer:
        """This Orthanc as a peer with every DIMSE and DICOMweb capability switched on."""
        fields: dict[str, Any] = {
            "name": name or self.ae_title,
            "ae_title": self.ae_title,
            "host": self.host,
            "port": self.dicom_port,
            "patient_root_find": True,
            "patient_root_get": True,
            "patient_root_move": True,
            "study_root_find": True,
            "study_root_get": True,
            "study_root_move": True,
            "store": True,
            "dicomweb_root_url": self.dicomweb_url,
            "dicomweb_qido": True,
            "dicomweb_wado": True,
            "dicomweb_stow": True,
        }
        fields.update(overrides)
        return DicomServer(**fields)


class _PortTaken(RuntimeError):
    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


def _as_bytes(data: bytes | Path | Dataset) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, Path):
        return data.read_bytes()
    buf = BytesIO()
    data.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
