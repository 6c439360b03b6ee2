"""Opening and closing DIMSE associations, and turning their failures into typed errors.

A fresh pynetdicom AE is built per association: AEs are cheap, while an Association is a
thread that must not be shared between threads.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext
from pynetdicom.status import code_to_category

from adit_core.dicom.errors import (
    DicomAssociationRejected,
    DicomConnectionError,
    DicomError,
    DicomOperationError,
    DicomTimeoutError,
)
from adit_core.dicom.server import DicomServer, LocalNode

# What we are willing to receive per PDU. Larger PDUs mean fewer reactor round trips on
# C-GET; the peer still caps what it sends at its own maximum.
MAX_PDU = 262_144

# Status codes whose retry may succeed: out of resources, resource limitation.
_TRANSIENT_STATUSES = frozenset({0x0213, *range(0xA700, 0xA800)})


def _set_nodelay(event: evt.Event) -> None:
    # Nagle + delayed ACK cost ~40 ms per instance against DCMTK-based peers (Orthanc,
    # many PACS), which leave Nagle on; doing it on connect covers the association request.
    sock = event.assoc.dul.socket
    if sock is not None and sock.socket is not None:
        sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    event.assoc.connected_at = time.monotonic()  # type: ignore[attr-defined]


@contextmanager
def association(
    server: DicomServer,
    local: LocalNode,
    contexts: Sequence[PresentationContext],
    *,
    operation: str,
    ext_neg: list[Any] | None = None,
    handlers: list[tuple[Any, Any]] | None = None,
) -> Iterator[Association]:
    """An established association; released on normal exit or a refused request, else aborted."""
    assoc = open_association(
        server,
        local,
        contexts,
        operation=operation,
        ext_neg=ext_neg,
        handlers=handlers,
    )
    try:
        yield assoc
    except DicomOperationError:
        close(assoc)  # the server refused a request; the association itself is fine
        raise
    except BaseException:
        assoc.abort()
        raise
    close(assoc)


def open_association(
    server: DicomServer,
    local: LocalNode,
    contexts: Sequence[PresentationContext],
    *,
    operation: str,
    ext_neg: list[Any] | None = None,
    handlers: list[tuple[Any, Any]] | None = None,
) -> Association:
    """Request an association; raises a typed DicomError unless it is established.

    Timeouts are the local node's; its DIMSE timeout is long by default because some
    servers send nothing between the request and the end of a big C-MOVE (pynetdicom #792).
    """
    ae = AE(ae_title=local.ae_title)
    ae.acse_timeout = local.acse_timeout
    ae.dimse_timeout = local.dimse_timeout
    ae.network_timeout = local.network_timeout
    ae.connection_timeout = local.connect_timeout
    # pynetdicom refuses more than 128 contexts itself, with a less helpful message.
    if len(contexts) > 128:
        raise ValueError(f"{len(contexts)} presentation contexts proposed; 128 at most")
    started = time.monotonic()
    assoc = ae.associate(
        server.host,
        server.port,
        contexts=list(contexts),
        ae_title=server.ae_title,
        max_pdu=MAX_PDU,
        ext_neg=ext_neg,
        evt_handlers=[(evt.EVT_CONN_OPEN, _set_nodelay), *(handlers or [])],
    )
    if assoc.is_established:
        _keep_reactor_off_responses(assoc)
        return assoc
    raise _association_failure(assoc, server, local, operation, time.monotonic() - started)


def _keep_reactor_off_responses(assoc: Association) -> None:
    """Work around a race in pynetdicom 3.0.4 that loses DIMSE responses.

    The association's reactor thread polls the DIMSE queue with ``get_msg(block=False)``
    to serve incoming requests; ``send_c_*`` pauses it first, but the pause handshake has a
    window in which the reactor can still take the response that just arrived. The response
    is then dropped ("Received unexpected C-STORE service message", pynetdicom #875) and
    the sender waits for the DIMSE timeout. Seen here about once per 2,500 C-STOREs on a
    busy 2-CPU machine; it can also drop a C-FIND match. As requestor we serve nothing
    outside our own send_c_* calls (C-GET sub-operations are handled inside send_c_get),
    so the reactor's non-blocking polls are made to find nothing.
    """
    blocking_get = assoc.dimse.get_msg

    def get_msg(block: bool = False) -> Any:
        return blocking_get(block=True) if block else (None, None)

    assoc.dimse.get_msg = get_msg  # type: ignore[method-assign]


def close(assoc: Association) -> None:
    """Release politely; abort if the peer does not answer the release."""
    if assoc.is_established:
        assoc.release()
    if assoc.is_established:
        assoc.abort()


def _association_failure(
    assoc: Association, server: DicomServer, local: LocalNode, operation: str, elapsed: float
) -> DicomError:
    where = f"{server.host}:{server.port}"
    if not hasattr(assoc, "connected_at"):
        if elapsed >= local.connect_timeout * 0.95:
            return DicomTimeoutError(
                server.name,
                operation,
                f"no TCP connection to {where} within {local.connect_timeout:g} s",
            )
        return DicomConnectionError(
            server.name,
            operation,
            f"cannot connect to {where} (connection refused or host unreachable)",
        )
    answer = assoc.acceptor.primitive
    if assoc.is_rejected and answer is not None:
        err = DicomAssociationRejected(
            server.name,
            operation,
            f"{server.ae_title}@{where} rejected the association: {answer.reason_str} "
            f"({answer.result_str}, by the {answer.source_str}). Check that the called AE "
            f"title {server.ae_title!r} is right and that {local.ae_title!r} may connect.",
        )
        # "Rejected (transient)" means e.g. too many associations right now.
        err.transient = answer.result == 0x02
        return err
    if answer is not None and answer.result == 0x00:
        requested = assoc.requestor.requested_contexts
        proposed = sorted({str(cx.abstract_syntax.name) for cx in requested if cx.abstract_syntax})
        shown = ", ".join(proposed[:5]) + (" …" if len(proposed) > 5 else "")
        return DicomAssociationRejected(
            server.name,
            operation,
            f"{server.ae_title}@{where} accepted none of the proposed presentation "
            f"contexts ({shown}); the server does not offer {operation} for them",
        )
    if local.acse_timeout and elapsed >= local.acse_timeout * 0.95:
        return DicomTimeoutError(
            server.name,
            operation,
            f"{server.ae_title}@{where} did not answer the association request "
            f"within {local.acse_timeout:g} s",
        )
    return DicomAssociationRejected(
        server.name,
        operation,
        f"{server.ae_title}@{where} aborted the association request "
        f"(is {local.ae_title!r} allowed to connect there?)",
    )


def connection_lost(
    server: DicomServer, operation: str, waited: float, timeout: float | None
) -> DicomConnectionError:
    """The error for a response that never came: DIMSE timeout or a broken connection."""
    if timeout is not None and waited >= timeout * 0.95:
        return DicomTimeoutError(
            server.name, operation, f"no response from the server within {timeout:g} s"
        )
    return DicomConnectionError(
        server.name, operation, "the server aborted the association or closed the connection"
    )


def status_text(code: int, table: dict[int, tuple[str, str]]) -> str:
    category, meaning = table.get(code, (code_to_category(code), ""))
    return f"0x{code:04X} ({category}{': ' + meaning if meaning else ''})"


def status_error(
    server: DicomServer,
    operation: str,
    code: int,
    table: dict[int, tuple[str, str]],
    detail: str = "",
) -> DicomOperationError:
    """A failure status as an error naming the code, its meaning and whether to retry."""
    text = f"the server answered {status_text(code, table)}"
    if detail:
        text += f": {detail}"
    return DicomOperationError(
        server.name, operation, text, status=code, transient=code in _TRANSIENT_STATUSES
    )


def context_id(assoc: Association, abstract_syntax: str) -> int:
    """The accepted context ID for an abstract syntax (for C-CANCEL)."""
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == abstract_syntax and cx.context_id is not None:
            return cx.context_id
    raise LookupError(abstract_syntax)
