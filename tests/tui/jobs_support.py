"""Helpers for the Jobs and Servers screen tests: a small harness app and data builders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from adit_core import registry
from adit_core.db.database import Database
from adit_core.dicom.server import Capability
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.registry import ServerSpec
from adit_tui.app import AditApp
from adit_tui.config import TuiConfig
from adit_tui.context import AppContext
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.servers import ServersScreen
from adit_tui.services import Selection
from tests.waiting import wait_until


def app_in(db: Database, mode: str) -> AditApp:
    """The real app opening in `mode` instead of the Explorer (much faster to start). The
    tests then switch to the mode they show, as a user would (which adds the mode header)."""
    # Same module as AditApp, so its CSS_PATH still resolves next to adit_tui/app.py.
    cls = type(
        f"AditAppIn{mode.title()}",
        (AditApp,),
        {"DEFAULT_MODE": mode, "__module__": AditApp.__module__},
    )
    return cls(db, config=TuiConfig.for_tests())


class Harness(App[None]):
    """The two modes under test, with the context the real app gives its screens."""

    MODES = {"jobs": JobsScreen, "servers": ServersScreen}

    def __init__(self, db: Database, *, mode: str = "jobs", config: TuiConfig | None = None):
        super().__init__()
        self.context = AppContext(db, config or TuiConfig.for_tests(), navigator=self)
        self.animation_level = "none"
        self._start_mode = mode

    def on_mount(self) -> None:
        self.switch_mode(self._start_mode)

    def jobs_screen(self) -> JobsScreen:
        screen = self._screen_stacks["jobs"][0]  # test-only: the jobs mode's base screen
        assert isinstance(screen, JobsScreen)
        return screen

    def show_job(self, job_id: int) -> None:
        self.run_worker(self._show_job(job_id))

    async def _show_job(self, job_id: int) -> None:
        await self.switch_mode("jobs")
        self.jobs_screen().open_job(job_id)

    def start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        raise AssertionError("the Jobs and Servers modes never open the Transfer mode")


def no_blink(app: App[Any]) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


def register_fake_servers(db: Database, *names: str) -> None:
    """Registry rows with fixed addresses (nothing listens there: for list and form tests)."""
    with db.session() as session:
        for i, name in enumerate(names):
            registry.add_server(
                session,
                ServerSpec(
                    name=name,
                    ae_title=name.upper()[:16],
                    host=f"{name}.example.org",
                    port=11112 + i,
                    capabilities=frozenset(
                        {Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE}
                    ),
                ),
            )


def make_job(
    db: Database,
    n_tasks: int = 1,
    *,
    source: str = "src",
    destination: str = "dst",
    pseudonym: str = "",
    urgent: bool = False,
) -> int:
    items = [
        TransferItem(study_uid=f"1.2.826.0.1.3680043.10.{i + 1}", patient_id=f"{i + 1:07d}")
        for i in range(n_tasks)
    ]
    with db.session() as session:
        job = create_transfer_job(
            session,
            source=source,
            destination=destination,
            items=items,
            options=TransferOptions(pseudonym=pseudonym, urgent=urgent),
        )
        return job.id


def set_tasks(
    db: Database, job_id: int, positions: Sequence[int] | None = None, **values: Any
) -> None:
    """Change task rows directly (as a worker would); triggers re-derive the job state."""
    columns = ", ".join(f"{k} = :{k}" for k in values)
    where = "job_id = :job"
    params: dict[str, Any] = {"job": job_id, **values}
    if positions is not None:
        where += " AND position = ANY(:positions)"
        params["positions"] = list(positions)
    with db.session() as session:
        session.execute(text(f"UPDATE tasks SET {columns} WHERE {where}"), params)


def job_status(db: Database, job_id: int) -> str:
    with db.session() as session:
        return str(
            session.execute(text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
        )


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()  # test-only introspection
    return "\n".join(strip.text.rstrip() for strip in strips)


async def shows(pilot: Pilot[Any], *texts: str, timeout: float = 10.0) -> str:
    """Wait until the screen shows every one of `texts`; returns the screen's text."""
    await wait_until(
        pilot,
        lambda: all(t in screen_text(pilot.app) for t in texts),
        timeout=timeout,
        what=f"the screen to show {texts}",
    )
    return screen_text(pilot.app)
