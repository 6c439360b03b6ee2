"""Snapshots of the Jobs and Servers modes and their modals, through the real app.

Deterministic: the test config turns off the clock (and with it every time, elapsed time
and ETA), cursor blink and animation; every database is fresh, so job and task ids are
fixed; servers have fixed made-up addresses; nothing is shown that depends on the host,
the port of a test server, or the time. Review changes in snapshot_report.html, then
`pytest tests/tui/test_snapshots_jobs_servers.py --snapshot-update`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from textual.pilot import Pilot

from adit_core import registry
from adit_core.db.database import Database
from adit_core.dicom.server import Capability
from adit_core.registry import ServerSpec
from adit_tui.app import AditApp
from adit_tui.job_services import LiveState
from adit_tui.screens.confirm import ConfirmScreen
from adit_tui.screens.job_detail import JobDetailScreen
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.jobs_filter import StatusFilterScreen
from adit_tui.screens.jobs_log import TaskLogScreen
from adit_tui.screens.servers import ServersScreen
from adit_tui.screens.servers_form import FolderFormScreen, ServerFormScreen
from adit_tui.widgets.form_fields import FormField
from adit_tui.widgets.nav_table import NavTable
from tests.tui.jobs_support import app_in, make_job, register_fake_servers, set_tasks
from tests.waiting import wait_until

SMALL = (80, 24)
SIZE = (100, 30)
WIDE = (120, 36)

LOG = """\
C-FIND on pacs: 3 series, 120 instances expected
C-GET from pacs started (2 associations to research)
series 1/3: 40 of 40 instances
series 2/3: 0 of 60 instances: C-GET on pacs failed: association aborted
will retry (attempt 2 of 3)
"""


def seed_jobs(db: Database) -> dict[str, int]:
    """Four jobs in typical states, newest first: pending (urgent), success, failure,
    in progress (3 tasks)."""
    register_fake_servers(db, "pacs", "research")
    running = make_job(db, 3, source="pacs", destination="research", pseudonym="SUBJ01")
    set_tasks(
        db,
        running,
        [0],
        status="SUCCESS",
        instances_expected=100,
        instances_done=100,
        bytes_done=52_400_000,
        attempts=1,
        message="100 instances transferred.",
    )
    set_tasks(
        db,
        running,
        [1],
        status="IN_PROGRESS",
        instances_expected=120,
        instances_done=40,
        bytes_done=20_900_000,
        attempts=2,
        log=LOG,
        message="Retrying after: C-GET on pacs failed: association aborted",
    )
    failed = make_job(db, 1, source="pacs", destination="research")
    set_tasks(
        db,
        failed,
        status="FAILURE",
        attempts=3,
        instances_expected=12,
        instances_done=0,
        message="C-GET on pacs failed: association rejected (called AE title unknown)",
    )
    done = make_job(db, 2, source="research", destination="pacs")
    set_tasks(
        db, done, status="SUCCESS", instances_expected=30, instances_done=30, bytes_done=15_700_000
    )
    urgent = make_job(db, 1, source="pacs", destination="research", urgent=True)  # fmt: skip
    return {"running": running, "failed": failed, "done": done, "urgent": urgent}


def seed_registry(db: Database) -> None:
    dimse = frozenset({Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE})
    with db.session() as session:
        registry.add_server(
            session,
            ServerSpec("pacs", "PACS_MAIN", "pacs.example.org", 104, capabilities=dimse,
                       patient_root=True),
        )  # fmt: skip
        registry.add_server(
            session,
            ServerSpec(
                "web-archive", "ARCHIVE", "archive.example.org", 11112,
                capabilities=frozenset({Capability.QIDO, Capability.WADO, Capability.STOW}),
                dicomweb_root_url="https://archive.example.org/dicom-web",
                authorization_header="Bearer do-not-show",
            ),
        )  # fmt: skip
        registry.add_server(
            session,
            ServerSpec("orthanc", "ORTHANC", "10.0.0.7", 4242,
                       capabilities=frozenset({Capability.STORE})),
        )  # fmt: skip
        registry.add_folder(session, "research", "/srv/adit/research", quota_gb=Decimal("500"),
                            warn_size_gb=Decimal("400"))  # fmt: skip
        registry.add_folder(session, "teaching", "/srv/adit/teaching")


async def jobs_ready(pilot: Pilot[Any]) -> JobsScreen:
    app = pilot.app
    assert isinstance(app, AditApp)
    await app.switch_mode("jobs")
    screen = app.screen_stack[0]
    assert isinstance(screen, JobsScreen)
    await wait_until(
        pilot,
        lambda: screen.loaded_once and screen.listener_status.state is LiveState.LIVE,
        what="jobs live",
    )
    await wait_until(pilot, lambda: not screen._reloader.busy and screen._flush_timer is None)
    await pilot.pause()
    return screen


async def detail_ready(pilot: Pilot[Any], job_id: int) -> JobDetailScreen:
    screen = await jobs_ready(pilot)
    screen.open_job(job_id)
    app = pilot.app
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, JobDetailScreen) and app.screen.detail is not None,
        what="detail",
    )
    detail = app.screen
    assert isinstance(detail, JobDetailScreen)
    await wait_until(pilot, lambda: not detail._reloader.busy)
    await pilot.pause()
    return detail


async def servers_ready(pilot: Pilot[Any]) -> ServersScreen:
    app = pilot.app
    assert isinstance(app, AditApp)
    await app.switch_mode("servers")
    screen = app.screen_stack[0]
    assert isinstance(screen, ServersScreen)
    await wait_until(pilot, lambda: screen.loaded_once, what="registry")
    await pilot.pause()
    return screen


async def modal(pilot: Pilot[Any], kind: type) -> Any:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), what=kind.__name__)
    await pilot.pause()
    return pilot.app.screen


@pytest.fixture
def jobs(database: Database) -> dict[str, int]:
    return seed_jobs(database)


def test_jobs_list(database: Database, jobs: dict[str, int], snap_compare: Any) -> None:
    assert snap_compare(app_in(database, "servers"), terminal_size=SMALL, run_before=jobs_ready)


def test_jobs_list_everyone_wide(
    database: Database, jobs: dict[str, int], snap_compare: Any
) -> None:
    with database.session() as session:
        session.execute(text("UPDATE jobs SET owner = 'alice' WHERE id = :id"),
                        {"id": jobs["done"]})  # fmt: skip

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await jobs_ready(pilot)
        await pilot.press("a", "j", "j")
        await wait_until(pilot, lambda: screen.query_state.everyone and screen.loaded_once)
        await wait_until(pilot, lambda: not screen._reloader.busy)
        await pilot.pause()

    assert snap_compare(app_in(database, "servers"), terminal_size=WIDE, run_before=run_before)


def test_status_filter(database: Database, jobs: dict[str, int], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await jobs_ready(pilot)
        await pilot.press("f")
        await modal(pilot, StatusFilterScreen)
        await pilot.press("j", "space", "j", "j", "j", "j", "space")

    assert snap_compare(app_in(database, "servers"), terminal_size=SMALL, run_before=run_before)


def test_job_detail(database: Database, jobs: dict[str, int], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await detail_ready(pilot, jobs["running"])
        await pilot.press("j")

    assert snap_compare(app_in(database, "servers"), terminal_size=SIZE, run_before=run_before)


def test_job_detail_small_with_pages(database: Database, snap_compare: Any) -> None:
    register_fake_servers(database, "pacs", "research")
    job = make_job(database, 250, source="pacs", destination="research")
    set_tasks(
        database,
        job,
        list(range(100, 140)),
        status="SUCCESS",
        instances_expected=10,
        instances_done=10,
        bytes_done=5_000_000,
    )
    set_tasks(database, job, [140], status="IN_PROGRESS", instances_expected=10,
              instances_done=4, bytes_done=2_000_000)  # fmt: skip

    async def run_before(pilot: Pilot[Any]) -> None:
        detail = await detail_ready(pilot, job)
        await pilot.press("]")
        await wait_until(pilot, lambda: detail.page_offset == 100 and not detail._reloader.busy)
        detail.query_one("#tasks", NavTable).move_cursor(row=40, animate=False)
        await pilot.pause()

    assert snap_compare(app_in(database, "servers"), terminal_size=SMALL, run_before=run_before)


def test_cancel_confirmation(database: Database, jobs: dict[str, int], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await detail_ready(pilot, jobs["running"])
        await pilot.press("c")
        await modal(pilot, ConfirmScreen)

    assert snap_compare(app_in(database, "servers"), terminal_size=SMALL, run_before=run_before)


def test_task_log(database: Database, jobs: dict[str, int], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await detail_ready(pilot, jobs["running"])
        await pilot.press("j", "enter")
        screen = await modal(pilot, TaskLogScreen)
        await wait_until(pilot, lambda: screen.task_view is not None)
        await pilot.pause()

    assert snap_compare(app_in(database, "servers"), terminal_size=SIZE, run_before=run_before)


def test_servers(database: Database, snap_compare: Any) -> None:
    seed_registry(database)

    async def run_before(pilot: Pilot[Any]) -> None:
        await servers_ready(pilot)
        await pilot.press("G")

    assert snap_compare(app_in(database, "jobs"), terminal_size=SMALL, run_before=run_before)


def test_server_form_with_errors(database: Database, snap_compare: Any) -> None:
    seed_registry(database)

    async def run_before(pilot: Pilot[Any]) -> None:
        await servers_ready(pilot)
        await pilot.press("a")
        form = await modal(pilot, ServerFormScreen)
        values = {"name": "pacs", "ae_title": "A\\B", "host": "archive", "port": "0",
                  "capabilities": "find,qido"}  # fmt: skip
        for field, value in values.items():
            form.query_one(f"#{field}", FormField).input.value = value
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: form.query_one("#ae_title", FormField).error is not None)
        await pilot.pause()

    assert snap_compare(app_in(database, "jobs"), terminal_size=(100, 40), run_before=run_before)


def test_folder_form(database: Database, snap_compare: Any) -> None:
    seed_registry(database)

    async def run_before(pilot: Pilot[Any]) -> None:
        await servers_ready(pilot)
        await pilot.press("tab", "e")
        await modal(pilot, FolderFormScreen)

    assert snap_compare(app_in(database, "jobs"), terminal_size=SMALL, run_before=run_before)
