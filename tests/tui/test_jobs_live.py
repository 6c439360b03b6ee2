"""The live job monitor with real parts: a worker moving studies between real Orthanc
servers while the screen follows through LISTEN/NOTIFY alone (no manual refresh), cancel
from the screen, and the listener reconnecting after its backend is killed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from adit_core.db.database import Database
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.read import job_tasks
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus, StudySpec
from adit_tui.job_services import LiveState
from adit_tui.screens.confirm import ConfirmScreen
from adit_tui.screens.job_detail import JobDetailScreen
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.jobs_common import JobEventReceived, ListenerStatusChanged
from adit_tui.widgets.jobs_live import LiveIndicator
from adit_tui.widgets.nav_table import NavTable
from adit_worker.app import run_worker
from tests.tui.jobs_support import (
    Harness,
    job_status,
    make_job,
    register_fake_servers,
    screen_text,
    shows,
)
from tests.waiting import wait_until
from tests.worker.support import WorkerProcess, register_orthanc

pytestmark = pytest.mark.timeout(120)


@contextmanager
def worker_thread(db: Database) -> Iterator[threading.Thread]:
    """A burst worker in a thread of its own: runs the queue empty, then stops."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                run_worker(
                    db,
                    burst=True,
                    install_signal_handlers=False,
                    runner_options={"store_associations": 2, "move_destination": None},
                )
            )
        except BaseException as exc:  # surfaced in the test below
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-worker", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(60)
        assert not thread.is_alive(), "the worker did not stop"
        if errors:
            raise errors[0]


def create_job(db: Database, studies: list[StudySpec], pseudonym: str = "") -> int:
    with db.session() as session:
        job = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=s.study_uid, patient_id=s.patient_id) for s in studies],
            options=TransferOptions(pseudonym=pseudonym),
        )
        return job.id


async def live(pilot: Any) -> JobsScreen:
    screen = pilot.app.jobs_screen()
    await wait_until(
        pilot,
        lambda: screen.loaded_once and screen.listener_status.state is LiveState.LIVE,
        what="live job list",
    )
    return screen


async def open_detail(pilot: Any, job_id: int) -> JobDetailScreen:
    app = pilot.app
    app.show_job(job_id)
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, JobDetailScreen) and app.screen.detail is not None,
        what="job detail",
    )
    return app.screen


def job_cell(app: Harness, job_id: int, column: str) -> str:
    return app.jobs_screen().query_one("#jobs", NavTable).cell_text(str(job_id), column)


@pytest.mark.orthanc
async def test_the_monitor_follows_a_worker_to_success_without_refreshing(
    database: Database, orthanc_a: OrthancServer, empty_b: OrthancServer, corpus: Corpus
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    studies = corpus.studies[:2]
    expected = sum(s.instance_count for s in studies)
    job_id = create_job(database, studies, pseudonym="LIVE1")
    messages: list[Any] = []
    app = Harness(database)
    async with app.run_test(size=(100, 24), message_hook=messages.append) as pilot:
        await live(pilot)
        detail = await open_detail(pilot, job_id)
        assert detail.detail.summary.status == "PENDING"
        reloads = {"manual": 0}
        original = detail.action_reload

        def counted() -> None:
            reloads["manual"] += 1
            original()

        detail.action_reload = counted  # type: ignore[method-assign]
        seen: list[str] = []

        def status_now() -> str:
            current = detail.detail.summary.status if detail.detail else ""
            if not seen or seen[-1] != current:
                seen.append(current)
            return current

        with worker_thread(database):
            await wait_until(pilot, lambda: status_now() == "SUCCESS", timeout=90, what="SUCCESS")
        summary = detail.detail.summary
        assert (summary.instances_done, summary.instances_expected) == (expected, expected)
        assert summary.tasks_done == 2
        assert "IN_PROGRESS" in seen  # the screen saw the job running, not only its end
        await shows(
            pilot,
            f"Job {job_id} · transfer · SUCCESS",
            f"100% {expected}/{expected}",
            "All 2 tasks succeeded.",
        )
        table = detail.query_one("#tasks", NavTable)
        statuses = [table.cell_text(k, "status") for k in table.keys_in_order()]
        assert statuses == ["SUCCESS", "SUCCESS"]
        assert reloads["manual"] == 0
        events = [m for m in messages if isinstance(m, JobEventReceived)]
        assert len(events) >= 4  # task status and progress changes arrived as NOTIFY

        await pilot.press("escape")
        await wait_until(pilot, lambda: job_cell(app, job_id, "status") == "SUCCESS")
        assert job_cell(app, job_id, "tasks") == "2/2"
        assert job_cell(app, job_id, "instances") == f"{expected}/{expected}"
    assert len(empty_b.instance_uids()) == expected


@pytest.mark.orthanc
async def test_cancel_from_the_screen_stops_a_running_transfer(
    database: Database, orthanc_c: OrthancServer, empty_b: OrthancServer, long_study: StudySpec
) -> None:
    register_orthanc("src", orthanc_c, "find,get")
    register_orthanc("dst", empty_b, "store")
    job_id = create_job(database, [long_study])
    app = Harness(database)
    async with app.run_test(size=(100, 24)) as pilot:
        await live(pilot)
        detail = await open_detail(pilot, job_id)
        # The worker runs in a process of its own, as it does in production. In this
        # process it would keep the CPU busy, and Pilot.press waits up to a second, twice
        # per key, for the process to go idle: the cancel arrived after the 300 instances.
        worker = WorkerProcess(database, "--burst", "--pseudonymize-processes", "0")
        try:
            await wait_until(
                pilot,
                lambda: detail.detail.summary.instances_done >= 10,
                timeout=60,
                what="the transfer under way",
            )
            assert detail.check_action("cancel_job", ()) is True
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: detail.detail.summary.status == "CANCELED",
                timeout=30,
                what="CANCELED on screen",
            )
            assert worker.wait() == 0  # a burst worker exits once the queue is empty
        finally:
            worker.stop()
        assert job_status(database, job_id) == "CANCELED"
        with database.session() as session:
            [task] = job_tasks(session, job_id)
        assert task.status == "CANCELED"
        assert 10 <= task.instances_done < long_study.instance_count
        await wait_until(pilot, lambda: "CANCELED" in screen_text(app).splitlines()[0])
        await wait_until(pilot, lambda: detail.check_action("resume_job", ()) is True)


async def test_the_listener_reconnects_and_resyncs_after_its_backend_is_killed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_fake_servers(database, "src", "dst")
    before = make_job(database, 1)
    monkeypatch.setattr(JobsScreen, "poll_seconds", 60.0)  # only the reconnect may resync
    statuses: list[LiveState] = []

    def hook(message: Any) -> None:
        if isinstance(message, ListenerStatusChanged):
            statuses.append(message.status.state)

    app = Harness(database)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        screen = await live(pilot)
        indicator = screen.query_one(LiveIndicator)
        await shows(pilot, "● live")
        pid = screen.listener_status.backend_pid
        assert pid is not None
        with psycopg.connect(database.url, autocommit=True) as conn:
            assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        await wait_until(
            pilot, lambda: indicator.has_class("-reconnecting"), what="reconnecting shown"
        )
        await shows(pilot, "⟳ reconnecting…")
        missed = make_job(database, 1)  # its NOTIFY is sent while nobody listens
        await wait_until(pilot, lambda: indicator.has_class("-live"), what="live again")
        await wait_until(
            pilot,
            lambda: str(missed) in screen.query_one("#jobs", NavTable).keys_in_order(),
            what="resync brings the missed job",
        )
        assert screen.listener_status.backend_pid not in (None, pid)
        assert statuses[:2] == [LiveState.CONNECTING, LiveState.LIVE]
        assert LiveState.RECONNECTING in statuses[2:]
        assert statuses[-1] is LiveState.LIVE
        assert str(before) in screen.query_one("#jobs", NavTable).keys_in_order()
