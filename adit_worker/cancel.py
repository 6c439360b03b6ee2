"""How the async worker tells a running task thread to stop, and why."""

from __future__ import annotations

import threading
from enum import StrEnum


class StopReason(StrEnum):
    USER = "user"  # the job was canceled: the task ends CANCELED
    SHUTDOWN = "shutdown"  # the worker is stopping: the task goes back to the queue


class CancelToken:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: StopReason | None = None

    def stop(self, reason: StopReason) -> None:
        if self.reason is None:
            self.reason = reason
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()
