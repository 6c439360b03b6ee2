"""Progress of one job: tasks, instances and bytes as bars, plus elapsed time and ETA."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from adit_core.jobs.read import JobSummary
from adit_core.jobs.status import FINAL, Status
from adit_tui.job_services import (
    eta_seconds,
    expected_bytes,
    expected_instances,
    fmt_bytes,
    fmt_duration,
)


class _Meter(Horizontal):
    DEFAULT_CSS = """
    _Meter {
        height: 1;
    }
    _Meter > .meter-name {
        width: 11;
        color: $text-muted;
    }
    _Meter > ProgressBar {
        width: auto;
    }
    _Meter > ProgressBar Bar {
        width: 24;
    }
    _Meter > .meter-value {
        width: 1fr;
        padding-left: 1;
    }
    """

    def __init__(self, name: str, *, id: str) -> None:
        super().__init__(id=id)
        self._title = name

    def compose(self) -> ComposeResult:
        yield Label(self._title, classes="meter-name")
        yield ProgressBar(total=1, show_eta=False)
        yield Label("", classes="meter-value")

    def set(self, done: float, total: float | None, text: str) -> None:
        bar = self.query_one(ProgressBar)
        # An unknown total shows an empty bar, never the animated indeterminate one.
        bar.update(total=max(total or 1, 1), progress=done if total else 0)
        # Without a total there is no percentage to speak of (the space stays: no jumping).
        bar.query_one("#percentage").styles.visibility = "visible" if total else "hidden"
        self.query_one(".meter-value", Label).update(text)


class JobProgress(Vertical):
    """Bars for tasks, instances (done/expected) and bytes, and a line with the timing."""

    DEFAULT_CSS = """
    JobProgress {
        height: auto;
        padding: 0 1;
    }
    JobProgress > #timing {
        height: 1;
        color: $text-muted;
    }
    """

    def __init__(self, *, show_times: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_times = show_times
        self.summary: JobSummary | None = None

    def compose(self) -> ComposeResult:
        yield _Meter("Tasks", id="meter-tasks")
        yield _Meter("Instances", id="meter-instances")
        yield _Meter("Data", id="meter-bytes")
        yield Label("", id="timing")

    def on_mount(self) -> None:
        self.query_one("#timing").display = self.show_times
        if self.show_times:
            self.set_interval(1.0, self._tick)  # elapsed and ETA move with the clock

    def _tick(self) -> None:
        if self.summary is not None and self.summary.status == Status.IN_PROGRESS:
            self._show_timing(self.summary)

    def show(self, job: JobSummary, tasks_counted: int | None = None) -> None:
        """`tasks_counted`: how many tasks know their instance count (None: all)."""
        self.summary = job
        failed = f", {job.tasks_failed} failed" if job.tasks_failed else ""
        self.query_one("#meter-tasks", _Meter).set(
            job.tasks_done, job.tasks_total, f"{job.tasks_done:,}/{job.tasks_total:,} done{failed}"
        )
        counted = job.tasks_total if tasks_counted is None else tasks_counted
        total = expected_instances(job, counted)
        if total is None:
            text = f"{job.instances_done:,} (expected count not known yet)"
        elif counted >= job.tasks_total:
            text = f"{job.instances_done:,}/{job.instances_expected:,}"
        else:
            text = (
                f"{job.instances_done:,} of ~{total:,.0f} "
                f"({counted:,} of {job.tasks_total:,} tasks counted)"
            )
        if job.instances_failed:
            text += f", {job.instances_failed:,} failed"
        self.query_one("#meter-instances", _Meter).set(
            job.instances_done + job.instances_failed, total, text
        )
        total_bytes = expected_bytes(job)
        if total_bytes is not None and Status(job.status) not in FINAL:
            text = f"{fmt_bytes(job.bytes_done)} of ~{fmt_bytes(total_bytes)}"
        else:
            text = fmt_bytes(job.bytes_done)
        finished = Status(job.status) in FINAL and job.bytes_done > 0
        self.query_one("#meter-bytes", _Meter).set(
            job.bytes_done,
            job.bytes_done if finished else total_bytes,
            text,
        )
        if self.show_times:
            self._show_timing(job)

    def _show_timing(self, job: JobSummary) -> None:
        now = datetime.now(UTC)
        parts: list[str] = [f"created {job.created_at.astimezone():%Y-%m-%d %H:%M:%S}"]
        if job.started_at is not None:
            end = job.finished_at or now
            elapsed = (end - job.started_at).total_seconds()
            parts.append(("took " if job.finished_at else "running for ") + fmt_duration(elapsed))
            if job.bytes_done and elapsed > 0:
                parts.append(f"{fmt_bytes(job.bytes_done / elapsed)}/s")
        eta = eta_seconds(job, now)
        if eta is not None:
            parts.append(f"ETA {fmt_duration(eta)}")
        self.query_one("#timing", Label).update(" · ".join(parts))
