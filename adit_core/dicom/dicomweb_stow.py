"""STOW-RS: many instances per request, the request body streamed from their bytes."""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from adit_core.dicom.dicomweb_http import (
    CONNECT_TIMEOUT,
    DICOM_JSON,
    http_error,
    service_url,
    session_scope,
    translate_errors,
)
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import DicomServer

log = logging.getLogger(__name__)

# The server answers a STOW-RS request only after storing the whole batch.
STOW_READ_TIMEOUT = 600.0

_FAILURE_REASONS = {
    0x0110: "processing failure",
    0x0111: "duplicate SOP instance",
    0x0117: "invalid object instance",
    0x0122: "SOP class not supported",
    0x0124: "not authorized",
    0xA700: "out of resources",
    0xA900: "data set does not match SOP class",
    0xC000: "cannot understand",
    0xC122: "transfer syntax not supported",
}
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_INSTANCE_UID = "00081155"
_FAILURE_REASON = "00081197"


@dataclass
class StowResult:
    stored: list[str] = field(default_factory=list)  # SOPInstanceUIDs
    failed: list[tuple[str, str]] = field(default_factory=list)  # (SOPInstanceUID, reason)

    @property
    def ok(self) -> bool:
        return not self.failed


class _MultipartBody:
    """A multipart/related request body streamed from the instances' bytes (no copies).

    `__len__` lets requests send a Content-Length instead of chunked encoding, which not
    every server accepts.
    """

    def __init__(self, instances: list[DicomInstance], boundary: str):
        self.content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        self._head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii")
        self._tail = f"--{boundary}--\r\n".encode("ascii")
        self._instances = instances

    def __len__(self) -> int:
        per_part = len(self._head) + 2
        return sum(per_part + i.size for i in self._instances) + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        between = self._head
        for instance in self._instances:
            yield between
            yield instance.data
            between = b"\r\n" + self._head
        yield b"\r\n" + self._tail


def stow(
    server: DicomServer,
    instances: Iterable[DicomInstance],
    *,
    batch_bytes: int = 64 << 20,
    study_uid: str | None = None,
    session: requests.Session | None = None,
    connections: int = 1,
) -> StowResult:
    """Store instances with STOW-RS, many per request (up to `batch_bytes` each).

    Instances the server refuses are listed in `failed` with its reason. Errors about a
    whole request (HTTP 401, 404, 5xx, connection) raise; batches sent before stay stored,
    and sending them again is harmless. With `connections` > 1, batches go out over that
    many connections at once while the stream keeps being read.
    """
    base = service_url(server, server.stow_prefix, "STOW-RS")
    url = f"{base}/studies/{study_uid}" if study_uid else f"{base}/studies"
    result = StowResult()
    if connections > 1:
        _stow_parallel(server, url, _batches(instances, batch_bytes), result, connections)
        return result
    with session_scope(server, session) as http:
        for batch in _batches(instances, batch_bytes):
            _stow_batch(http, server, url, batch, result)
    return result


def _stow_parallel(
    server: DicomServer,
    url: str,
    batches: Iterator[list[DicomInstance]],
    result: StowResult,
    connections: int,
) -> None:
    pending: queue.Queue[list[DicomInstance] | None] = queue.Queue(maxsize=connections)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def send() -> None:
        with session_scope(server, None) as http:
            while (batch := pending.get()) is not None:
                if errors:
                    continue  # drain; the first error is raised below
                part = StowResult()
                try:
                    _stow_batch(http, server, url, batch, part)
                except BaseException as exc:
                    errors.append(exc)
                    continue
                with lock:
                    result.stored += part.stored
                    result.failed += part.failed

    senders = [
        threading.Thread(target=send, name=f"stow-{i}", daemon=True) for i in range(connections)
    ]
    for sender in senders:
        sender.start()
    try:
        for batch in batches:
            if errors:
                break
            pending.put(batch)
    finally:
        for _ in senders:
            pending.put(None)
        for sender in senders:
            sender.join()
    if errors:
        raise errors[0]


def _batches(instances: Iterable[DicomInstance], limit: int) -> Iterator[list[DicomInstance]]:
    batch: list[DicomInstance] = []
    size = 0
    for instance in instances:
        if batch and size + instance.size > limit:
            yield batch
            batch, size = [], 0
        batch.append(instance)
        size += instance.size
    if batch:
        yield batch


def _stow_batch(
    http: requests.Session,
    server: DicomServer,
    url: str,
    batch: list[DicomInstance],
    result: StowResult,
) -> None:
    body = _MultipartBody(batch, uuid.uuid4().hex)
    log.debug(
        "STOW-RS %s: POST %s (%d instances, %d bytes)", server.name, url, len(batch), len(body)
    )
    with translate_errors(server, "STOW-RS", f"sending {len(batch)} instance(s)"):
        response = http.post(
            url,
            data=body,
            headers={"Content-Type": body.content_type, "Accept": DICOM_JSON},
            timeout=(CONNECT_TIMEOUT, STOW_READ_TIMEOUT),
        )
        answer = _stow_answer(response)
    if answer is None:
        if response.status_code == 200:
            result.stored.extend(i.sop_instance_uid for i in batch)
            return
        raise http_error(server, "STOW-RS", response)

    referenced = {
        str(uid)
        for item in _sequence(answer, _REFERENCED_SOP_SEQUENCE)
        for uid in _values(item, _REFERENCED_SOP_INSTANCE_UID)
    }
    failures: dict[str, str] = {}
    for item in _sequence(answer, _FAILED_SOP_SEQUENCE):
        reason = _failure_text(_values(item, _FAILURE_REASON))
        for uid in _values(item, _REFERENCED_SOP_INSTANCE_UID):
            failures[str(uid)] = reason
    # Some servers answer 200 without listing anything: then all were stored.
    silent_success = response.status_code == 200 and not referenced and not failures
    unconfirmed = f"not confirmed by the server (HTTP {response.status_code})"
    for instance in batch:
        uid = instance.sop_instance_uid
        if uid in failures:
            result.failed.append((uid, failures[uid]))
        elif uid in referenced or silent_success:
            result.stored.append(uid)
        else:
            result.failed.append((uid, unconfirmed))


def _stow_answer(response: requests.Response) -> dict[str, Any] | None:
    """The DICOM JSON answer of a STOW-RS request, if it has one."""
    if response.status_code not in (200, 202, 400, 409):
        return None
    try:
        data = json.loads(response.content or b"null")
    except ValueError:
        return None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        return None
    if _REFERENCED_SOP_SEQUENCE not in data and _FAILED_SOP_SEQUENCE not in data:
        return None
    return data


def _sequence(answer: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    items = _values(answer, tag)
    return [i for i in items if isinstance(i, dict)]


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    element = item.get(tag)
    if not isinstance(element, dict):
        return []
    value = element.get("Value")
    return value if isinstance(value, list) else []


def _failure_text(codes: list[Any]) -> str:
    if not codes:
        return "refused by the server (no reason given)"
    try:
        code = int(codes[0])
    except (TypeError, ValueError):
        return f"refused by the server ({codes[0]})"
    text = _FAILURE_REASONS.get(code)
    if text is None:
        text = _FAILURE_REASONS.get(code & 0xFF00, "failure")
    return f"{text} (0x{code:04X})"
