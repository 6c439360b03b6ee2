"""Retry with exponential backoff and jitter, for transient errors only.

An error is retried when it has ``transient = True`` (the DICOM layer's connection errors,
timeouts and "out of resources" statuses); anything else propagates at once. Attempts and
total time are both bounded, so a dead peer costs a known, limited wait.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from adit_core.dicom.errors import DicomCanceled

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total calls, including the first
    total_time: float = 60.0  # no retry starts once this much time has passed
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    # Each delay is stretched by a random factor in [1, 1 + jitter], so workers that failed
    # together do not all come back together.
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        """Delay after failed attempt number `attempt` (1-based); `rand` is in [0, 1)."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return min(self.max_delay, base * (1.0 + self.jitter * rand))


# Budgets: opening an association (the default), and a storing association (dimse_store),
# which gives a busy archive a few minutes.
CONNECT = RetryPolicy(attempts=5, total_time=60.0)
STORE = RetryPolicy(attempts=10, total_time=180.0)


def is_transient(error: BaseException) -> bool:
    return getattr(error, "transient", False) is True


def retry_call(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy = CONNECT,
    server: str = "",
    operation: str = "",
    cancel: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call `fn` until it succeeds, fails permanently, or the policy's budget is spent.

    The last error is raised when giving up. `server` and `operation` label the log lines
    (taken from the error itself when it carries them). With `cancel`, the wait between
    attempts ends early and DicomCanceled is raised.
    """
    if sleep is None:
        sleep = cancel.wait if cancel is not None else time.sleep
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as error:
            if not is_transient(error) or attempt >= policy.attempts:
                raise
            delay = policy.delay(attempt, rand())
            elapsed = clock() - started
            if elapsed + delay > policy.total_time:
                raise
            where = getattr(error, "server", None) or server
            what = getattr(error, "operation", None) or operation
            logger.warning(
                "retrying after transient error: %s",
                error,
                extra={
                    "server": where,
                    "operation": what,
                    "attempt": attempt,
                    "delay": round(delay, 3),
                },
            )
            sleep(delay)
            if cancel is not None and cancel.is_set():
                raise DicomCanceled(where, what, "canceled while waiting to retry") from error
