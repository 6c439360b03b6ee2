"""Snapshots of the Batch mode and the export modal at 100x30.

Nothing in them varies between runs: the file tree starts in the test's own folder and
shows paths relative to it, server names are fixed, there is no clock and no cursor blink.
Update after looking at the report: `uv run pytest tests/tui/test_snapshots_batch.py
--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Select

from adit_core import registry
from adit_core.db.database import Database
from adit_tui.screens.batch_export import ExportResultsModal
from tests.batch.files import write_csv
from tests.tui.batch_support import (
    STUDY_1,
    STUDY_2,
    BatchHarness,
    broken_query_file,
    pick,
    ready,
    register_servers,
    valid_query_file,
    wait_checked,
    wait_modal,
)

SIZE = (100, 30)
SnapCompare = Callable[..., bool]


def batch_app(database: Database, folder: Path) -> BatchHarness:
    register_servers(database, "pacs", "archive")
    with database.session() as session:
        registry.add_folder(session, "research", "/data/research")
    (folder / "2024").mkdir()
    broken_query_file(folder)
    valid_query_file(folder)
    write_csv(
        folder / "found.csv",
        "PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n"
        f"0012345;{STUDY_1};;SUBJ01\n"
        f"0098765;{STUDY_2};;SUBJ01\n",
    )
    return BatchHarness(database, folder)


def choosing(
    app: BatchHarness, name: str, kind_key: str = ""
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await ready(pilot, app, sources=2)
        if kind_key:
            await pilot.press(kind_key)
        await pick(pilot, screen, name)
        await wait_checked(pilot, screen)

    return run_before


def test_batch_screen_empty(snap_compare: SnapCompare, database: Database, tmp_path: Path) -> None:
    app = batch_app(database, tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot, app, sources=2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_batch_screen_with_problems(
    snap_compare: SnapCompare, database: Database, tmp_path: Path
) -> None:
    app = batch_app(database, tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=choosing(app, "broken.xlsx"))


def test_batch_screen_valid_transfer_file(
    snap_compare: SnapCompare, database: Database, tmp_path: Path
) -> None:
    """A valid file with a warning (one pseudonym for two patients); transfer options set."""
    app = batch_app(database, tmp_path)
    checked = choosing(app, "found.csv", kind_key="ctrl+b")

    async def run_before(pilot: Pilot[Any]) -> None:
        await checked(pilot)
        screen = app.batch
        screen.query_one("#source", Select).value = "pacs"
        await pilot.pause()
        screen.query_one("#destination", Select).value = "research"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_export_modal(snap_compare: SnapCompare, database: Database, tmp_path: Path) -> None:
    app = batch_app(database, tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(pilot, app, sources=2)
        app.push_screen(ExportResultsModal(7, base=tmp_path))
        await wait_modal(pilot, app, ExportResultsModal)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
