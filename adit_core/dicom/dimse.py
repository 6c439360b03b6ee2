"""DIMSE operations against one server: echo, find, get, move, store.

Each call opens its own association (or several, for parallel stores) and maps every
failure to a typed error from `adit_core.dicom.errors`. None of them retries by itself,
except `store`, which re-establishes a broken association for the rest of its stream; wrap
the others in `adit_core.dicom.retry.retry_call` where a retry makes sense.
"""

from __future__ import annotations

import time

from pynetdicom import build_context
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # made at run time
from pynetdicom.status import VERIFICATION_SERVICE_CLASS_STATUS

from adit_core.dicom.dimse_association import association, connection_lost, status_error
from adit_core.dicom.dimse_find import find
from adit_core.dicom.dimse_get import GetStream, get
from adit_core.dicom.dimse_move import move
from adit_core.dicom.dimse_retrieve import DicomIncompleteRetrieve, GetResult, MoveResult
from adit_core.dicom.dimse_store import StoreItem, StoreResult, store
from adit_core.dicom.server import DicomServer, LocalNode

__all__ = [
    "DicomIncompleteRetrieve",
    "GetResult",
    "GetStream",
    "MoveResult",
    "StoreItem",
    "StoreResult",
    "echo",
    "find",
    "get",
    "move",
    "store",
]


def echo(server: DicomServer, local: LocalNode | None = None) -> float:
    """C-ECHO; returns the seconds from connecting until the response arrived."""
    local = local or LocalNode()
    started = time.monotonic()
    context = build_context(Verification)
    with association(server, local, [context], operation="C-ECHO") as assoc:
        sent = time.monotonic()
        status = assoc.send_c_echo()
        elapsed = time.monotonic() - started
        if not status or "Status" not in status:
            raise connection_lost(server, "C-ECHO", time.monotonic() - sent, assoc.dimse_timeout)
        if status.Status != 0x0000:
            raise status_error(
                server, "C-ECHO", int(status.Status), VERIFICATION_SERVICE_CLASS_STATUS
            )
    return elapsed
