"""Job and task states."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


FINAL = frozenset({Status.CANCELED, Status.SUCCESS, Status.WARNING, Status.FAILURE})
ACTIVE = frozenset({Status.PENDING, Status.IN_PROGRESS, Status.CANCELING})


class JobKind(StrEnum):
    SELECTIVE_TRANSFER = "selective_transfer"
    BATCH_QUERY = "batch_query"
    BATCH_TRANSFER = "batch_transfer"
    UPLOAD = "upload"


# Higher runs first. Urgent work of any kind beats normal work; interactive selective
# transfers beat batch work (as ADIT orders them).
PRIORITY: dict[JobKind, tuple[int, int]] = {
    JobKind.SELECTIVE_TRANSFER: (4, 8),
    JobKind.BATCH_QUERY: (3, 7),
    JobKind.BATCH_TRANSFER: (2, 6),
    JobKind.UPLOAD: (4, 8),
}


def priority(kind: JobKind | str, urgent: bool) -> int:
    normal, high = PRIORITY[JobKind(kind)]
    return high if urgent else normal
