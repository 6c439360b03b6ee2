"""Live status: NOTIFY on channel `adit_events` (job/task ids as JSON), sent by triggers.

A notification is a hint to re-read rows, never the data itself (payloads are capped at
8 kB and everything sent while a listener was disconnected is lost).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg

CHANNEL = "adit_events"


@dataclass(frozen=True)
class Event:
    job: int | None
    task: int | None = None
    status: str | None = None

    @classmethod
    def parse(cls, payload: str) -> Event:
        try:
            data = json.loads(payload)
        except ValueError:
            return cls(job=None)
        return cls(job=data.get("job"), task=data.get("task"), status=data.get("status"))


def listen(url: str, *, timeout: float = 1.0) -> Iterator[Event | None]:
    """Yield events as they come, and None after each quiet `timeout` (time to check things)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        while True:
            got = False
            for notify in conn.notifies(timeout=timeout, stop_after=1):
                got = True
                yield Event.parse(notify.payload)
            if not got:
                yield None


def wait_until(
    url: str,
    done: Callable[[], bool],
    *,
    timeout: float | None,
    on_event: Callable[[Event], None] | None = None,
) -> bool:
    """Re-check `done` after every event (and every second); False when `timeout` passes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if done():
        return True
    for event in listen(url, timeout=1.0):
        if event is not None and on_event is not None:
            on_event(event)
        if done():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
    return False
