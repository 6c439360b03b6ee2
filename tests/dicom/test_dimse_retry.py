"""The retry helper: transient errors are retried with growing delays, others are not."""

from __future__ import annotations

import logging
import threading

import pytest

from adit_core.dicom.errors import (
    DicomAssociationRejected,
    DicomCanceled,
    DicomConnectionError,
    DicomOperationError,
)
from adit_core.dicom.retry import RetryPolicy, retry_call


class Flaky:
    """Fails with the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def lost() -> DicomConnectionError:
    return DicomConnectionError("PACS", "C-FIND", "connection reset")


POLICY = RetryPolicy(attempts=4, total_time=100, initial_delay=1, multiplier=2, jitter=0.5)


def test_transient_errors_are_retried_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    fn = Flaky(lost(), lost(), DicomOperationError("PACS", "C-FIND", "busy", transient=True))
    delays: list[float] = []
    with caplog.at_level(logging.WARNING, logger="adit_core.dicom.retry"):
        assert retry_call(fn, policy=POLICY, sleep=delays.append, rand=lambda: 0.0) == "ok"
    assert fn.calls == 4
    assert delays == [1, 2, 4]
    records = [r for r in caplog.records if r.name == "adit_core.dicom.retry"]
    assert [r.attempt for r in records] == [1, 2, 3]  # type: ignore[attr-defined]
    assert {r.server for r in records} == {"PACS"}  # type: ignore[attr-defined]
    assert {r.operation for r in records} == {"C-FIND"}  # type: ignore[attr-defined]
    assert [r.delay for r in records] == [1, 2, 4]  # type: ignore[attr-defined]


def test_jitter_stretches_the_delay() -> None:
    delays: list[float] = []
    retry_call(Flaky(lost()), policy=POLICY, sleep=delays.append, rand=lambda: 0.999)
    assert 1.49 < delays[0] < 1.5


@pytest.mark.parametrize(
    "error",
    [
        DicomOperationError("PACS", "C-MOVE", "destination unknown", status=0xA801),
        DicomAssociationRejected("PACS", "C-ECHO", "called AE title not recognised"),
        ValueError("a bug"),
    ],
)
def test_permanent_errors_are_not_retried(error: Exception) -> None:
    fn = Flaky(error)
    with pytest.raises(type(error)):
        retry_call(fn, policy=POLICY, sleep=lambda _: None)
    assert fn.calls == 1


def test_attempts_are_bounded() -> None:
    fn = Flaky(*[lost() for _ in range(10)])
    with pytest.raises(DicomConnectionError):
        retry_call(fn, policy=POLICY, sleep=lambda _: None)
    assert fn.calls == POLICY.attempts


def test_total_time_is_bounded() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    policy = RetryPolicy(attempts=100, total_time=10, initial_delay=1, multiplier=2, jitter=0)
    fn = Flaky(*[lost() for _ in range(100)])
    with pytest.raises(DicomConnectionError):
        retry_call(fn, policy=policy, sleep=sleep, clock=lambda: now[0])
    # Waits 1 + 2 + 4 = 7 s; the next wait (8 s) would end past the 10 s budget.
    assert fn.calls == 4
    assert now[0] == 7


def test_cancel_ends_the_wait() -> None:
    cancel = threading.Event()
    cancel.set()
    fn = Flaky(lost(), lost())
    with pytest.raises(DicomCanceled):
        retry_call(fn, policy=POLICY, cancel=cancel)
    assert fn.calls == 1
