"""C-STORE of a stream of instances over one reused association, or N in parallel.

Instances are sent as the encoded bytes they arrived in whenever the server accepted their
SOP class in their transfer syntax; nothing is decoded then. The set of SOP classes in a
stream is not known in advance, so each association proposes what has been seen so far
plus the common classes, and a new association is opened when an instance needs a context
the current one lacks. A failed instance is recorded and the stream goes on; a broken
association is re-established (with backoff) and the unconfirmed instance sent again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydicom import Dataset
from pydicom.uid import UID
from pynetdicom.association import Association
from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS, code_to_category

from adit_core.dicom import retry
from adit_core.dicom.dimse_association import close, open_association, status_text
from adit_core.dicom.dimse_contexts import UNCOMPRESSED, StoreContexts
from adit_core.dicom.dimse_outgoing import Outgoing, StoreItem, label, prepare, send_encoded
from adit_core.dicom.errors import DicomCanceled
from adit_core.dicom.server import DicomServer, LocalNode

logger = logging.getLogger(__name__)

OPERATION = "C-STORE"
# An instance whose sending keeps breaking the connection is given up after this many tries.
MAX_SENDS = 3
_POLL = 0.2


@dataclass
class StoreResult:
    stored: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (SOPInstanceUID, reason)
    bytes: int = 0
    # Stored, but the server answered with a warning (e.g. 0xB000 coercion of elements).
    warnings: list[tuple[str, str]] = field(default_factory=list)
    associations: int = 0  # opened in total, re-associations included

    @property
    def ok(self) -> bool:
        return not self.failed


def store(
    server: DicomServer,
    instances: Iterable[StoreItem],
    *,
    local: LocalNode | None = None,
    associations: int = 1,
    cancel: threading.Event | None = None,
    policy: retry.RetryPolicy = retry.STORE,
) -> StoreResult:
    """Send every instance; failures of single instances are in the result.

    Raises when the server cannot be reached (after retrying per `policy`), refuses us
    outright, or on `cancel` (DicomCanceled).
    """
    local = local or LocalNode()
    shared = _Shared(server.name, StoreResult(), threading.Lock(), cancel)
    if associations <= 1:
        worker = _Worker(server, local, shared, policy)
        iterator = iter(instances)
        worker.run(lambda: next(iterator, None))
        return shared.result
    return _store_parallel(server, instances, local, shared, policy, associations)


@dataclass
class _Shared:
    server: str
    result: StoreResult
    lock: threading.Lock
    cancel: threading.Event | None

    def canceled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def stored(self, size: int, warning: tuple[str, str] | None = None) -> None:
        with self.lock:
            self.result.stored += 1
            self.result.bytes += size
            if warning:
                self.result.warnings.append(warning)

    def fail(self, sop_uid: str, reason: str) -> None:
        logger.warning(
            "instance not stored",
            extra={
                "server": self.server,
                "operation": OPERATION,
                "sop_instance_uid": sop_uid,
                "reason": reason,
            },
        )
        with self.lock:
            self.result.failed.append((sop_uid, reason))

    def opened(self) -> None:
        with self.lock:
            self.result.associations += 1


def _store_parallel(
    server: DicomServer,
    instances: Iterable[StoreItem],
    local: LocalNode,
    shared: _Shared,
    policy: retry.RetryPolicy,
    count: int,
) -> StoreResult:
    """Workers, each with its own association, take from one bounded queue."""
    items: queue.Queue[StoreItem] = queue.Queue(maxsize=count * 2)
    fed = threading.Event()  # no more items will come
    errors: list[BaseException] = []

    def take() -> StoreItem | None:
        while True:
            try:
                return items.get(timeout=_POLL)
            except queue.Empty:
                if fed.is_set() or shared.canceled():
                    return None

    def work() -> None:
        try:
            _Worker(server, local, shared, policy).run(take)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=work, name=f"c-store {server.name} {n}", daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        for item in instances:
            if not _feed(items, item, threads, shared):
                break
    finally:
        fed.set()
        for thread in threads:
            thread.join()
    if errors:
        # A real failure says more than the cancellation it may have caused elsewhere.
        errors.sort(key=lambda e: isinstance(e, DicomCanceled))
        raise errors[0]
    if shared.canceled():
        raise DicomCanceled(server.name, OPERATION, _progress(shared.result))
    return shared.result


def _feed(
    items: queue.Queue[StoreItem], item: StoreItem, threads: list[threading.Thread], shared: _Shared
) -> bool:
    """Queue one item, waiting for room; False when nobody is left to take it."""
    while not shared.canceled() and any(t.is_alive() for t in threads):
        try:
            items.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _progress(result: StoreResult) -> str:
    return f"canceled after {result.stored} stored, {len(result.failed)} failed"


class _Worker:
    """Sends items over one association at a time, re-associating when needed."""

    def __init__(
        self, server: DicomServer, local: LocalNode, shared: _Shared, policy: retry.RetryPolicy
    ):
        self.server = server
        self.local = local
        self.shared = shared
        self.policy = policy
        self.contexts = StoreContexts()
        self.assoc: Association | None = None
        self.accepted: dict[str, set[str]] = {}
        self.proposed: set[tuple[str, str]] = set()
        self.msg_id = 0

    def run(self, next_item: Callable[[], StoreItem | None]) -> None:
        try:
            while (item := next_item()) is not None:
                if self.shared.canceled():
                    raise DicomCanceled(self.server.name, OPERATION, _progress(self.shared.result))
                self._store_one(item)
        except BaseException:
            if self.assoc is not None:
                self.assoc.abort()
            raise
        if self.assoc is not None:
            close(self.assoc)

    def _store_one(self, item: StoreItem) -> None:
        try:
            out = prepare(item)
        except (ValueError, TypeError) as error:
            self.shared.fail(label(item), str(error))
            return
        for _ in range(MAX_SENDS):
            how = self._association_for(out)
            if how is None:
                self.shared.fail(
                    out.sop_uid,
                    f"{self.server.name} accepts no presentation context for "
                    f"{UID(out.sop_class).name} in {UID(out.transfer_syntax).name}",
                )
                return
            assert self.assoc is not None
            if how == "convert":
                logger.warning(
                    "transcoding an instance: the destination accepts its SOP class only in "
                    "another transfer syntax",
                    extra={
                        "server": self.server.name,
                        "operation": OPERATION,
                        "sop_instance_uid": out.sop_uid,
                        "sop_class": UID(out.sop_class).name,
                        "from_syntax": UID(out.transfer_syntax).name,
                    },
                )
            status = self._send(self.assoc, out, raw=how == "raw")
            if status is None:
                logger.warning(
                    "association lost while sending; re-associating",
                    extra={"server": self.server.name, "operation": OPERATION},
                )
                self.assoc = None
                continue
            self._record(out, status)
            return
        self.shared.fail(out.sop_uid, f"the connection broke {MAX_SENDS} times while sending it")

    def _association_for(self, out: Outgoing) -> str | None:
        """'raw' or 'convert' once an association can take `out`; None if none can."""
        pair = (out.sop_class, out.transfer_syntax)
        if self.assoc is not None and not self.assoc.is_established:
            self.assoc = None
        if self.assoc is not None:
            if out.transfer_syntax in self.accepted.get(out.sop_class, ()):
                return "raw"
            if pair in self.proposed:  # asked for exactly this and refused: make do
                return self._accepts(out)
            close(self.assoc)
            self.assoc = None
        self.contexts.note(*pair)
        contexts = self.contexts.proposal(first=pair)
        self.assoc = retry.retry_call(
            lambda: open_association(self.server, self.local, contexts, operation=OPERATION),
            policy=self.policy,
            server=self.server.name,
            operation=OPERATION,
            cancel=self.shared.cancel,
        )
        self.shared.opened()
        self.msg_id = 0
        # Only single-syntax contexts count: in the others the server picked just one.
        self.proposed = {
            (str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
            for cx in contexts
            if len(cx.transfer_syntax) == 1
        }
        self.accepted = {}
        for cx in self.assoc.accepted_contexts:
            self.accepted.setdefault(str(cx.abstract_syntax), set()).add(str(cx.transfer_syntax[0]))
        return self._accepts(out)

    def _accepts(self, out: Outgoing) -> str | None:
        syntaxes = self.accepted.get(out.sop_class, set())
        if out.transfer_syntax in syntaxes:
            return "raw"
        if out.transfer_syntax in UNCOMPRESSED and syntaxes & set(UNCOMPRESSED):
            return "convert"  # pynetdicom re-encodes between the little endian syntaxes
        return None

    def _send(self, assoc: Association, out: Outgoing, *, raw: bool) -> Dataset | None:
        """The response status, or None when the association broke."""
        self.msg_id = self.msg_id % 65535 + 1
        if raw and out.raw is not None:
            status = send_encoded(assoc, out, self.msg_id)
        else:
            status = assoc.send_c_store(out.decoded(), msg_id=self.msg_id)
        if not status or "Status" not in status:
            return None
        return status

    def _record(self, out: Outgoing, status: Dataset) -> None:
        code = int(status.Status)
        category = code_to_category(code)
        size = out.size or len(out.raw or b"")
        if category == "Success":
            self.shared.stored(size)
        elif category == "Warning":
            self.shared.stored(size, (out.sop_uid, _reason(code, status)))
        else:
            self.shared.fail(out.sop_uid, _reason(code, status))


def _reason(code: int, status: Dataset) -> str:
    text = status_text(code, STORAGE_SERVICE_CLASS_STATUS)
    comment = status.get("ErrorComment")
    return f"{text}: {comment}" if comment else text
