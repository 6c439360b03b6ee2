"""The Jobs mode against a real PostgreSQL: list, filters, detail, paging, actions, logs.

Workers are not needed here: task rows are changed directly, as a worker would, and the
triggers derive job states and send the NOTIFYs the screen listens to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from textual.notifications import Notify
from textual.widgets import Log

from adit_core.db.database import Database
from adit_core.jobs import control
from adit_core.jobs.actions import JOB_ACTIONS
from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary, job_summary
from adit_tui.job_services import (
    eta_seconds,
    expected_bytes,
    fmt_bytes,
    fmt_duration,
    load_task,
)
from adit_tui.screens.confirm import ConfirmScreen
from adit_tui.screens.job_detail import JobDetailScreen
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.jobs_filter import StatusFilterScreen
from adit_tui.screens.jobs_log import TaskLogScreen
from adit_tui.widgets.nav_table import NavTable
from tests.tui.jobs_support import (
    Harness,
    job_status,
    make_job,
    register_fake_servers,
    screen_text,
    set_tasks,
    shows,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def db(database: Database) -> Database:
    register_fake_servers(database, "src", "dst")
    return database


async def ready(pilot: Any) -> JobsScreen:
    screen = pilot.app.jobs_screen()
    await wait_until(
        pilot,
        lambda: screen.loaded_once and screen.listener_status.state.value == "live",
        what="job list loaded and live",
    )
    return screen


COLUMNS = ("id", "status", "kind", "route", "tasks", "instances", "bytes", "owner", "message")


def rows(screen: JobsScreen) -> dict[int, dict[str, str]]:
    """Every row of the job list, by job id: the cells by column (shown or not)."""
    table = screen.query_one("#jobs", NavTable)
    return {
        int(key): {column: table.cell_text(key, column) for column in COLUMNS}
        for key in table.keys_in_order()
    }


def footer(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


def notes(messages: list[Any]) -> list[tuple[str, str, str]]:
    return [
        (m.notification.severity, m.notification.title, m.notification.message)
        for m in messages
        if isinstance(m, Notify)
    ]


async def test_the_list_shows_my_jobs_newest_first_and_updates_rows_in_place(
    db: Database,
) -> None:
    first = make_job(db, 2)
    second = make_job(db, 1, pseudonym="P1")
    set_tasks(db, second, status="SUCCESS", instances_expected=10, instances_done=10,
              bytes_done=5_300_000)  # fmt: skip
    app = Harness(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        table = screen.query_one("#jobs", NavTable)
        shown = rows(screen)
        assert list(shown) == [second, first]
        assert [shown[second][c] for c in COLUMNS[1:7]] == [
            "SUCCESS", "transfer", "src → dst", "1/1", "10/10", "5.3 MB"
        ]  # fmt: skip
        assert shown[first]["status"] == "PENDING"
        await shows(pilot, "Your jobs · all states · 2 jobs")
        await shows(pilot, "● live")

        # Live: progress of a running task changes cells in place; no clear, no re-add.
        calls: dict[str, int] = {"clear": 0, "add_row": 0, "update_cell": 0}
        for name in calls:
            original = getattr(table, name)

            def spy(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
                calls[_name] += 1
                return _original(*args, **kw)

            setattr(table, name, spy)
        await pilot.press("j")  # cursor on the older job; it must stay there
        set_tasks(db, first, [0], status="IN_PROGRESS", instances_expected=40, instances_done=7)
        await wait_until(pilot, lambda: rows(screen)[first]["status"] == "IN PROGRESS")
        set_tasks(db, first, [0], instances_done=25, bytes_done=1_000_000)
        await wait_until(
            pilot, lambda: rows(screen)[first]["instances"] == "25/40", what="progress"
        )
        assert calls == {"clear": 0, "add_row": 0, "update_cell": calls["update_cell"]}
        assert calls["update_cell"] >= 3

        # A new job appears on top at once; the cursor stays on the job it was on.
        third = make_job(db, 3)
        await wait_until(pilot, lambda: third in rows(screen), what="new job")
        assert list(rows(screen)) == [third, second, first]
        assert table.cursor_key == str(first)
        assert calls["clear"] == 0 and calls["add_row"] == 1

        # A deleted job disappears.
        with db.session() as session:
            control.delete(session, third)
        await wait_until(pilot, lambda: third not in rows(screen), what="deleted job gone")


async def test_everyone_toggle_and_status_filter(db: Database) -> None:
    mine_pending = make_job(db, 1)
    mine_done = make_job(db, 1)
    set_tasks(db, mine_done, status="SUCCESS")
    theirs = make_job(db, 1)
    with db.session() as session:
        session.execute(text("UPDATE jobs SET owner = 'alice' WHERE id = :id"), {"id": theirs})
    app = Harness(db)
    async with app.run_test(size=(120, 24)) as pilot:
        screen = await ready(pilot)
        assert set(rows(screen)) == {mine_pending, mine_done}

        await pilot.press("a")
        await wait_until(pilot, lambda: theirs in rows(screen), what="everyone's jobs")
        assert rows(screen)[theirs]["owner"] == "alice"
        assert rows(screen)[mine_done]["owner"] == "you"
        await shows(pilot, "Owner")  # the owner column appears
        await shows(pilot, "All users' jobs")

        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, StatusFilterScreen))
        await pilot.press("j", "j", "j", "j", "space", "a")  # PENDING… → SUCCESS, toggle
        await wait_until(pilot, lambda: set(rows(screen)) == {mine_done}, what="only SUCCESS")
        await shows(pilot, "success · 1 job")

        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, StatusFilterScreen))
        await pilot.press("o")  # active jobs only
        await wait_until(pilot, lambda: set(rows(screen)) == {mine_pending, theirs})

        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, StatusFilterScreen))
        await pilot.press("escape")  # unchanged
        await pilot.pause()
        assert screen.query_state.statuses == {"PENDING", "IN_PROGRESS", "CANCELING"}

        await pilot.press("a", "f")
        await wait_until(pilot, lambda: isinstance(app.screen, StatusFilterScreen))
        await pilot.press("p")  # problems: nothing of mine
        await wait_until(
            pilot, lambda: not rows(screen) and "No jobs in the chosen" in screen_text(app)
        )


async def test_actions_are_offered_only_when_allowed_and_ask_first(db: Database) -> None:
    job = make_job(db, 2)
    messages: list[Any] = []
    app = Harness(db)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await ready(pilot)
        allowed = {a: screen.check_action(f"{a}_job", ()) for a in JOB_ACTIONS}
        assert allowed == {"cancel": True, "resume": False, "retry": False, "restart": False,
                           "delete": True}  # fmt: skip
        await wait_until(pilot, lambda: "Cancel" in footer(app), what="footer")
        assert "Delete" in footer(app) and "Resume" not in footer(app)

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await shows(pilot, f"Delete job {job}?")
        await pilot.press("n")
        await pilot.pause()
        assert job_status(db, job) == "PENDING"

        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "CANCELED", what="canceled")
        assert job_status(db, job) == "CANCELED"
        assert screen.check_action("resume_job", ()) is True
        assert screen.check_action("cancel_job", ()) is False
        await wait_until(pilot, lambda: "Resume" in footer(app), what="footer")

        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "PENDING", what="resumed")

        # Failed tasks: retry; any finished job: restart.
        set_tasks(db, job, [0], status="FAILURE", message="C-GET on src failed")
        set_tasks(db, job, [1], status="SUCCESS")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "FAILURE")
        assert screen.check_action("retry_job", ()) is True
        assert screen.check_action("delete_job", ()) is False
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "IN PROGRESS")
        set_tasks(db, job, status="SUCCESS")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "SUCCESS")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: rows(screen)[job]["status"] == "PENDING", what="restarted")
        assert any("2 tasks queued again" in n[2] for n in notes(messages))

        # A refusal from the job engine (here: the state moved on) becomes an error toast.
        screen.run_job_action("resume", job)
        await wait_until(pilot, lambda: any(n[0] == "error" for n in notes(messages)))
        _, title, message = next(n for n in notes(messages) if n[0] == "error")
        assert title == f"Resume: job {job}"
        assert message == f"job {job} is PENDING; only canceled jobs can be resumed"


async def test_ten_thousand_tasks_open_and_page_quickly(db: Database) -> None:
    started = time.monotonic()
    job = make_job(db, 10_000)
    created = time.monotonic() - started
    app = Harness(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        t0 = time.monotonic()
        app.show_job(job)
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        await wait_until(pilot, lambda: detail.detail is not None, what="detail")
        table = detail.query_one("#tasks", NavTable)
        opened = time.monotonic() - t0
        assert table.row_count == 100
        assert table.border_title == "Tasks 1-100 of 10,000"
        await shows(pilot, "0/10,000 done")

        async def turn(*keys: str, offset: int) -> float:
            t = time.monotonic()
            await pilot.press(*keys)
            await wait_until(pilot, lambda: detail.page_offset == offset and not table.loading)
            await wait_until(pilot, lambda: table.row_count and detail.detail.offset == offset)
            return time.monotonic() - t

        timings = [
            await turn("G", offset=9_900),  # last task of the job
            await turn("g", offset=0),
            await turn("]", offset=100),
            await turn("k", offset=0),  # up from the first row: previous page, last row
        ]
        assert table.cell_text(table.cursor_key, "position") == "100"
        timings.append(await turn("j", offset=100))  # down from the last row: next page
        assert table.cell_text(table.cursor_key, "position") == "101"
        await pilot.press("G")
        await wait_until(pilot, lambda: detail.page_offset == 9_900)
        await wait_until(
            pilot, lambda: table.cell_text(table.cursor_key or "", "position") == "10,000"
        )
        assert table.border_title == "Tasks 9,901-10,000 of 10,000"
        assert max(table.row_count, 0) == 100

        # Live updates reach the page on screen.
        set_tasks(db, job, [9_999], status="IN_PROGRESS", instances_expected=7, instances_done=3)
        await wait_until(
            pilot, lambda: table.cell_text(table.cursor_key or "", "instances") == "3/7"
        )
        await wait_until(pilot, lambda: "IN PROGRESS" in screen_text(app).splitlines()[0])
    print(f"10,000 tasks: created in {created:.2f} s, opened in {opened:.2f} s, "
          f"page turns {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")  # fmt: skip
    # Generous bounds (shared CI machines); typically ~0.5 s to open and 0.2-0.5 s per page.
    assert opened < 5.0
    assert max(timings) < 3.0


async def test_detail_progress_messages_and_the_task_log(db: Database) -> None:
    job = make_job(db, 2, pseudonym="SUBJ01")
    set_tasks(db, job, [0], status="IN_PROGRESS", instances_expected=200, instances_done=50,
              bytes_done=25_000_000, log="12:00:01 C-FIND: 200 instances expected\n")  # fmt: skip
    app = Harness(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.show_job(job)
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        detail = app.screen
        await wait_until(pilot, lambda: detail.detail is not None)
        shown = await shows(
            pilot,
            f"Job {job} · transfer · IN PROGRESS",
            "src → dst · pseudonym SUBJ01\n",
            "12% 50 of ~400 (1 of 2 tasks counted)",  # task 2 has not counted yet
            "log: 12:00:01 C-FIND: 200 instances expected",
        )
        # No finished task to estimate the total data from: no percentage, no estimate.
        assert "25.0 MB\n" in shown and "% 25.0 MB" not in shown
        assert "ETA" not in shown and "created" not in shown  # clocks are off in tests

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskLogScreen))
        log_screen = app.screen
        log = log_screen.query_one(Log)
        await wait_until(pilot, lambda: log.line_count >= 1 and not log.loading)
        assert log.lines[0] == "12:00:01 C-FIND: 200 instances expected"

        # The viewer follows the log as the worker appends to it.
        with db.session() as session:
            session.execute(
                text("UPDATE tasks SET log = log || :more, instances_done = 120 "
                     "WHERE job_id = :job AND position = 0"),
                {"more": "12:00:05 C-GET: 120 of 200 instances\n", "job": job},
            )  # fmt: skip
        await wait_until(pilot, lambda: "12:00:05 C-GET: 120 of 200 instances" in log.lines)
        await shows(pilot, "120/200 instances")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is detail)
        await wait_until(pilot, lambda: "30% 120 of ~400" in screen_text(app))
        set_tasks(db, job, [1], instances_expected=100)  # now every task has counted
        await wait_until(pilot, lambda: "40% 120/300" in screen_text(app))

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen))


async def test_palette_commands_and_deleting_from_the_detail(db: Database) -> None:
    job = make_job(db, 1)
    messages: list[Any] = []
    app = Harness(db)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await ready(pilot)
        # The palette offers the screen's commands that apply now: searching for Resume
        # finds nothing while the job is pending (and finds it once a job is canceled, below).
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"resume")
        await shows(pilot, "No matches found")
        assert "Resume" not in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen), what="palette closed")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"cancel")
        await wait_until(pilot, lambda: "Cancel" in screen_text(app), what="palette hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await shows(pilot, f"Cancel job {job}?")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen))
        assert job_status(db, job) == "PENDING"

        # Deleting the job shown returns to the list.
        app.show_job(job)
        await wait_until(
            pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.detail is not None
        )
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen), what="back to list")
        assert ("information", "Delete", f"Job {job} deleted.") in notes(messages)
        await wait_until(pilot, lambda: job not in rows(pilot.app.jobs_screen()))

        canceled = make_job(db, 1)
        with db.session() as session:
            control.cancel(session, canceled)
        await wait_until(pilot, lambda: rows(screen).get(canceled, {}).get("status") == "CANCELED")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"resume")
        await wait_until(pilot, lambda: "Resume" in screen_text(app), what="Resume offered")


def test_job_action_rules_match_the_job_engine(db: Database) -> None:
    """Every action the screens offer is accepted by adit_core, and vice versa."""
    cases = {
        "pending": [],
        "running": [(0, "IN_PROGRESS")],
        "failed": [(0, "FAILURE"), (1, "SUCCESS")],
        "succeeded": [(0, "SUCCESS"), (1, "SUCCESS")],
        "canceled": "cancel",
    }
    for name, setup in cases.items():
        for action in JOB_ACTIONS.values():
            job = make_job(db, 2)
            if setup == "cancel":
                with db.session() as session:
                    control.cancel(session, job)
            else:
                for position, status in setup:
                    set_tasks(db, job, [position], status=status)
            with db.session() as session:
                summary = job_summary(session, job)
            offered = action.allowed(summary)
            try:
                with db.session() as session:
                    getattr(control, action.name)(session, job)
                accepted = True
            except JobError:
                accepted = False
            assert offered == accepted, (name, action.name)


def test_presentation_helpers() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    job = JobSummary(
        id=1, kind="selective_transfer", owner="u", status="IN_PROGRESS", urgent=False,
        message="", source="a", destination="b", created_at=now - timedelta(minutes=2),
        started_at=now - timedelta(seconds=60), finished_at=None, tasks_total=1, tasks_done=0,
        tasks_failed=0, instances_expected=400, instances_done=100, instances_failed=0,
        bytes_done=50_000_000,
    )  # fmt: skip
    assert eta_seconds(job, now) == pytest.approx(180)
    assert expected_bytes(job) == pytest.approx(200_000_000)
    assert fmt_bytes(999) == "999 B" and fmt_bytes(1_234_567) == "1.2 MB"
    assert (
        fmt_duration(59) == "59s" and fmt_duration(61) == "1m01s" and fmt_duration(3700) == "1h01m"
    )


def test_load_task_finds_a_task_among_many(db: Database) -> None:
    job = make_job(db, 300)
    with db.session() as session:
        task_id = session.execute(
            text("SELECT id FROM tasks WHERE job_id = :j AND position = 211"), {"j": job}
        ).scalar_one()
    task = load_task(db, task_id)
    assert task is not None and task.position == 211 and task.id == task_id
    assert load_task(db, 10**9) is None


async def test_in_the_app_jobs_and_servers_are_one_key_away_and_show_job_lands_on_it(
    db: Database,
) -> None:
    from adit_tui.screens.servers import ServersScreen
    from tests.tui.jobs_support import app_in

    job = make_job(db, 2)
    app = app_in(db, "servers")  # the real app (the Explorer is slow to compose)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ServersScreen), what="servers")
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen), what="jobs mode")
        await shows(pilot, "Your jobs · all states · 1 job", "● live", "F3 Jobs")
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, ServersScreen), what="servers")
        await shows(pilot, "DICOM servers (2)", "src", "dst")
        app.show_job(job)  # what the Transfer mode calls after creating a job
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, f"Job {job} · transfer · PENDING", "Tasks (2)")
        await pilot.press("4", "3")  # each mode keeps its own stack
        await wait_until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen))
