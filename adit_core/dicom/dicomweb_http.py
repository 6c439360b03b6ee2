"""HTTP plumbing shared by the DICOMweb services: sessions, timeouts, error translation.

Every failure becomes a DicomError naming the server and the operation; the server's
Authorization header never appears in a message.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection

from adit_core.dicom.errors import (
    DicomCapabilityError,
    DicomConnectionError,
    DicomError,
    DicomOperationError,
    DicomTimeoutError,
)
from adit_core.dicom.server import DicomServer

CONNECT_TIMEOUT = 10.0
DICOM_JSON = "application/dicom+json"

_SOCKET_OPTIONS = [
    *(
        o
        for o in HTTPConnection.default_socket_options
        if o[:2] != (socket.IPPROTO_TCP, socket.TCP_NODELAY)
    ),
    (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
]


class _TcpNoDelayAdapter(HTTPAdapter):
    """Disables Nagle on every connection (a small final write otherwise waits ~40 ms)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["socket_options"] = _SOCKET_OPTIONS
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        kwargs["socket_options"] = _SOCKET_OPTIONS
        return super().proxy_manager_for(proxy, **kwargs)


def dicomweb_session(server: DicomServer) -> requests.Session:
    """A keep-alive session for one server, with its Authorization header if it has one.

    Sessions are not thread-safe: use one per thread.
    """
    session = requests.Session()
    adapter = _TcpNoDelayAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "adit-tui"
    if server.authorization_header:
        session.headers["Authorization"] = server.authorization_header
    return session


@contextmanager
def session_scope(
    server: DicomServer, session: requests.Session | None
) -> Iterator[requests.Session]:
    if session is not None:
        yield session
        return
    own = dicomweb_session(server)
    try:
        yield own
    finally:
        own.close()


def service_url(server: DicomServer, prefix: str, operation: str) -> str:
    if not server.dicomweb_root_url:
        raise DicomCapabilityError(server.name, operation, "no DICOMweb root URL is configured")
    return server.dicomweb_url(prefix)


def _scrub(text: str, server: DicomServer) -> str:
    """Remove the Authorization header (and its credentials part) from a message."""
    secret = server.authorization_header
    if secret:
        for piece in {secret, secret.partition(" ")[2]}:
            if len(piece) >= 4:
                text = text.replace(piece, "***")
    return text


def _network_reason(exc: BaseException) -> str:
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno:
        return errno.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    if "IncompleteRead" in text or "Connection broken" in text:
        return "connection broken"
    return type(exc).__name__


def network_error(
    server: DicomServer, operation: str, exc: requests.RequestException, what: str = ""
) -> DicomError:
    url = getattr(exc.request, "url", None) or ""
    target = re.sub(r"^(\w+://)([^/@]*@)?([^/]*).*$", r"\3", url) if url else ""
    reason = _network_reason(exc)
    prefix = f"{what}: " if what else ""
    if isinstance(exc, requests.ConnectTimeout):
        message = f"{prefix}connecting to {target} timed out after {CONNECT_TIMEOUT:g} s"
        return DicomTimeoutError(server.name, operation, _scrub(message, server))
    if isinstance(exc, requests.Timeout) or reason == "timed out":
        message = f"{prefix}{target} stopped answering ({reason})"
        return DicomTimeoutError(server.name, operation, _scrub(message, server))
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        if isinstance(exc, requests.exceptions.SSLError):
            message = f"{prefix}TLS error talking to {target}"
            error = DicomConnectionError(server.name, operation, _scrub(message, server))
            error.transient = False  # a certificate problem does not go away by retrying
            return error
        verb = "cannot connect to" if _is_connect_failure(exc) else "connection to"
        tail = "" if verb == "cannot connect to" else " failed"
        message = f"{prefix}{verb} {target}{tail} ({reason})"
        return DicomConnectionError(server.name, operation, _scrub(message, server))
    message = f"{prefix}invalid request to {target or 'server'} ({type(exc).__name__})"
    return DicomOperationError(server.name, operation, _scrub(message, server))


def _is_connect_failure(exc: requests.RequestException) -> bool:
    text = str(exc)
    return "NewConnectionError" in text or "Failed to establish" in text or "NameResolution" in text


@contextmanager
def translate_errors(server: DicomServer, operation: str, what: str = "") -> Iterator[None]:
    try:
        yield
    except requests.RequestException as exc:
        raise network_error(server, operation, exc, what) from exc


def http_error(
    server: DicomServer, operation: str, response: requests.Response, what: str = ""
) -> DicomOperationError:
    status = response.status_code
    parts = [f"HTTP {status} {response.reason or ''}".rstrip()]
    detail = _error_detail(response)
    if detail:
        parts.append(detail)
    if status in (401, 403):
        has_auth = "Authorization" in (response.request.headers if response.request else {})
        parts.append("check the credentials" if has_auth else "the server wants credentials")
    message = (f"{what}: " if what else "") + " - ".join(parts)
    transient = status >= 500 or status in (408, 429)
    return DicomOperationError(
        server.name, operation, _scrub(message, server), status=status, transient=transient
    )


def _error_detail(response: requests.Response) -> str:
    try:
        raw = next(response.iter_content(4096), b"")
    except (requests.RequestException, RuntimeError):
        return ""
    text = raw.decode("utf-8", errors="replace").strip() if isinstance(raw, bytes) else str(raw)
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):  # Orthanc: {"Message": ..., "Details": ...}
        text = str(data.get("Details") or data.get("Message") or data.get("message") or "")
    elif text.startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text[:200] + ("..." if len(text) > 200 else "")
