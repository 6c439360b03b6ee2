"""Progress counters of a running task, written to the database at most a few times a second."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from adit_core.db.database import Database
from adit_core.jobs import transitions

log = logging.getLogger("adit.worker.progress")


@dataclass
class Counters:
    done: int = 0
    failed: int = 0
    bytes: int = 0


class ProgressReporter:
    """Collects counters from the pipeline threads; a timer thread flushes them."""

    def __init__(self, db: Database, task_id: int, interval: float = 0.5):
        self._db = db
        self._task_id = task_id
        self._interval = interval
        self._lock = threading.Lock()
        self.counters = Counters()
        self._flushed = Counters()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"progress-{task_id}", daemon=True)

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()

    def add(self, *, done: int = 0, failed: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.counters.done += done
            self.counters.failed += failed
            self.counters.bytes += nbytes

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # progress is cosmetic; the final write reports the truth
                log.warning("could not write task progress", exc_info=True)

    def flush(self) -> None:
        with self._lock:
            now = Counters(self.counters.done, self.counters.failed, self.counters.bytes)
        if now == self._flushed:
            return
        with self._db.session() as session:
            transitions.record_progress(
                session, self._task_id, done=now.done, failed=now.failed, nbytes=now.bytes
            )
        self._flushed = now
