"""C-GET as a stream of instances.

The association runs in a background thread. Its C-STORE handler wraps each received data
set, still encoded, as a DicomInstance and puts it on a bounded queue; the caller's
iteration takes from that queue. A slow caller therefore slows the server down instead of
filling memory, and closing the stream early (or cancelling) aborts the association and
ends the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pydicom import Dataset
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.status import QR_GET_SERVICE_CLASS_STATUS, code_to_category

from adit_core.dicom.dimse_association import (
    close,
    connection_lost,
    open_association,
    status_text,
)
from adit_core.dicom.dimse_contexts import (
    CLASSES_PER_ASSOCIATION,
    group_series,
    retrieve_contexts,
)
from adit_core.dicom.dimse_retrieve import (
    DicomIncompleteRetrieve,
    GetResult,
    all_failed,
    identifiers,
    request_failed,
    retrieve_model,
)
from adit_core.dicom.errors import (
    DicomCanceled,
    DicomConnectionError,
    DicomError,
    DicomOperationError,
)
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import DicomServer, LocalNode

logger = logging.getLogger(__name__)

OPERATION = "C-GET"
# Instances in flight between the association thread and the consumer (~0.5 MB each for CT).
QUEUE_SIZE = 32
_POLL = 0.2  # seconds between checks of the stop and cancel flags while waiting
_JOIN_TIMEOUT = 15.0

# Answer to a C-STORE sub-operation we can no longer take (the consumer went away).
_OUT_OF_RESOURCES = 0xA702


class GetStream(Iterator[DicomInstance]):
    """Iterate to receive the instances; `result` holds the counts, also after an error.

    Iteration ends normally when every sub-operation succeeded. When some failed, the
    instances that did arrive are yielded first and DicomIncompleteRetrieve (with the
    same counts) is raised at the end, so nothing is lost silently. Close the stream (or
    use it as a context manager) to stop early.
    """

    def __init__(self, job: _GetJob) -> None:
        self.result = job.result
        self._job: _GetJob | None = job
        self._gen: Iterator[DicomInstance] | None = None

    def __iter__(self) -> GetStream:
        return self

    def __next__(self) -> DicomInstance:
        if self._gen is None:
            if self._job is None:
                raise StopIteration
            # The generator gets the job, not the stream: no reference cycle, so a stream
            # dropped after `break` is closed at once by reference counting.
            self._gen = _stream(self._job)
            self._job = None
        return next(self._gen)

    def close(self) -> None:
        self._job = None
        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]

    def __enter__(self) -> GetStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def get(
    server: DicomServer,
    study_uid: str,
    *,
    series_uids: list[str] | None = None,
    patient_id: str | None = None,
    local: LocalNode | None = None,
    cancel: threading.Event | None = None,
    queue_size: int = QUEUE_SIZE,
    sop_classes: Mapping[str, Collection[str]] | None = None,
) -> GetStream:
    """C-GET a study (or some of its series); nothing happens until iteration starts.

    `sop_classes` (SeriesInstanceUID → the SOP classes of its instances, from an
    image-level C-FIND) lets every instance arrive in its own transfer syntax: see
    dimse_contexts. Without it the common classes are proposed and the server may transcode.
    """
    model = retrieve_model(server, OPERATION, patient_id, move=False)
    job = _GetJob(
        server=server,
        local=local or LocalNode(),
        model=model,
        requests=identifiers(model, study_uid, series_uids, patient_id),
        cancel=cancel,
        out=queue.Queue(maxsize=max(1, queue_size)),
        study_uid=study_uid,
        series_uids=list(series_uids) if series_uids else None,
        patient_id=patient_id,
        sop_classes={s: set(c) for s, c in sop_classes.items()} if sop_classes else None,
    )
    return GetStream(job)


_DONE = object()


@dataclass
class _GetJob:
    server: DicomServer
    local: LocalNode
    model: str
    requests: list[Dataset]
    cancel: threading.Event | None
    out: queue.Queue[Any]
    study_uid: str = ""
    series_uids: list[str] | None = None
    patient_id: str | None = None
    sop_classes: dict[str, set[str]] | None = None
    result: GetResult = field(default_factory=GetResult)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    assoc: Association | None = None
    refused: list[str] = field(default_factory=list)  # requests refused after others worked

    def canceled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    # --- association thread ---

    def run(self) -> None:
        try:
            outcome: object = self._retrieve()
        except DicomError as error:
            outcome = error
        except Exception as error:  # pynetdicom fails in odd ways once aborted under it
            if self.stop.is_set():
                return
            outcome = DicomConnectionError(self.server.name, OPERATION, repr(error))
        self._put(outcome)

    def _plan(self) -> list[tuple[list[str] | None, list[Dataset]]]:
        """(SOP classes, requests) for each association, one after the other."""
        if self.sop_classes is None:
            return [(None, self.requests)]
        wanted = set(self.series_uids or self.sop_classes)
        by_series = {s: c for s, c in self.sop_classes.items() if s in wanted and c}
        if not by_series:
            return [(None, self.requests)]
        classes = set().union(*by_series.values()) if by_series else set()
        if len(classes) <= CLASSES_PER_ASSOCIATION:
            return [(sorted(classes), self.requests)]
        plan: list[tuple[list[str] | None, list[Dataset]]] = []
        for series, group_classes in group_series(by_series):
            requests = identifiers(self.model, self.study_uid, series, self.patient_id)
            plan.append((sorted(group_classes), requests))
        logger.info(
            "C-GET over several associations: the study holds more SOP classes than one "
            "association has presentation contexts for",
            extra={"server": self.server.name, "associations": len(plan),
                   "sop_classes": len(classes)},
        )  # fmt: skip
        return plan

    def _retrieve(self) -> object:
        for classes, requests in self._plan():
            if not self._associate_and_get(classes, requests):
                return _DONE  # stopped by the consumer
        result = self.result
        if result.failed and not (result.completed or result.warning or result.received):
            return all_failed(self.server, OPERATION, result)
        if result.failed or self.refused:
            return DicomIncompleteRetrieve(
                self.server.name, OPERATION, result, "; ".join(self.refused)
            )
        return _DONE

    def _associate_and_get(self, classes: list[str] | None, requests: list[Dataset]) -> bool:
        contexts, roles = retrieve_contexts(self.model, classes)
        assoc = open_association(
            self.server,
            self.local,
            contexts,
            operation=OPERATION,
            ext_neg=list(roles),
            handlers=[(evt.EVT_C_STORE, self._on_store)],
        )
        with self.lock:
            if self.stop.is_set():
                assoc.abort()
                return False
            self.assoc = assoc
        try:
            for identifier in requests:
                if not self._one_request(assoc, identifier):
                    return False
        except DicomOperationError:
            close(assoc)  # a refused request leaves the association usable: release it
            raise
        except BaseException:
            assoc.abort()
            raise
        close(assoc)
        return True

    def _one_request(self, assoc: Association, identifier: Dataset) -> bool:
        pending: Dataset | None = None
        last = time.monotonic()
        for status, response in assoc.send_c_get(identifier, self.model):
            if self.stop.is_set():
                return False
            if not status:
                raise connection_lost(
                    self.server, OPERATION, time.monotonic() - last, assoc.dimse_timeout
                )
            last = time.monotonic()
            code = int(status.Status)
            category = code_to_category(code)
            if category == "Pending":
                pending = status
                continue
            if category == "Cancel":
                raise DicomCanceled(self.server.name, OPERATION, "the server canceled the C-GET")
            part = GetResult()
            part.add_final(status, response)
            part.add_pending(pending)
            self.result.merge(part)
            if category == "Failure" and part.total == 0:
                if self.result.received:
                    # Earlier requests of this retrieval worked: this one failed at its start
                    # (Orthanc: its first instance could not be sent). Go on with the rest.
                    self.refused.append(
                        f"the server answered {status_text(code, QR_GET_SERVICE_CLASS_STATUS)} "
                        f"to the request for series {identifier.get('SeriesInstanceUID', '?')}"
                    )
                    return True
                # The request itself was refused, not some of its sub-operations.
                raise request_failed(
                    self.server,
                    OPERATION,
                    code,
                    QR_GET_SERVICE_CLASS_STATUS,
                    str(status.get("ErrorComment", "")),
                    str(identifier.StudyInstanceUID),
                    self.local,
                )
        return True

    def _on_store(self, event: evt.Event) -> int:
        if self.stop.is_set():
            return _OUT_OF_RESOURCES
        # Identified by its data set's SOPInstanceUID (what the server lists), which
        # real files do not always repeat in the request or the file meta.
        instance = DicomInstance.from_bytes(event.encoded_dataset())
        if not self._put(instance):
            return _OUT_OF_RESOURCES
        self.result.received += 1
        self.result.bytes_received += instance.size
        return 0x0000

    def _put(self, item: object) -> bool:
        """Block while the consumer is behind; give up once it has stopped listening."""
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    # --- consumer thread ---

    def shut_down(self, worker: threading.Thread) -> None:
        self.stop.set()
        with self.lock:
            assoc = self.assoc
        if assoc is not None and assoc.is_established:
            assoc.abort()
            # Wake the thread if it is waiting for a DIMSE message that will never come.
            assoc.dimse.msg_queue.put((None, None))
        while True:  # free the thread if it is blocked on a full queue
            try:
                self.out.get_nowait()
            except queue.Empty:
                break
        worker.join(_JOIN_TIMEOUT)
        if worker.is_alive():
            logger.error(
                "C-GET thread did not stop",
                extra={"server": self.server.name, "operation": OPERATION},
            )


def _stream(job: _GetJob) -> Iterator[DicomInstance]:
    worker = threading.Thread(target=job.run, name=f"c-get {job.server.name}", daemon=True)
    worker.start()
    try:
        while True:
            if job.canceled():
                raise DicomCanceled(
                    job.server.name,
                    OPERATION,
                    f"canceled after {job.result.received} instances",
                )
            try:
                item = job.out.get(timeout=_POLL)
            except queue.Empty:
                if not worker.is_alive() and job.out.empty():
                    raise DicomConnectionError(
                        job.server.name, OPERATION, "the C-GET thread ended unexpectedly"
                    ) from None
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        job.shut_down(worker)
