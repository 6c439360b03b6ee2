"""Snapshots of the Explorer and Transfer screens and their modals, at 80x24 and 100x30.

Deterministic: no clock, no cursor blink, no animation; the data comes from the bundled
pynetdicom PACS seeded with the standard corpus (names, dates and UIDs are fixed), and no
screen shows a host, port or time. Review changes in snapshot_report.html, then
`pytest tests/tui/test_snapshots_explorer_transfer.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from adit_core import registry
from adit_core.db.database import Database
from adit_core.dicom.server import Capability
from adit_core.registry import ServerSpec
from adit_dev.pynetdicom_pacs import PynetdicomPacs
from adit_dev.synthetic import Corpus
from adit_tui.app import AditApp
from adit_tui.screens.confirm_transfer import ConfirmTransferScreen
from adit_tui.screens.tags import TagsScreen
from adit_tui.services import InstanceRecord, SearchCriteria, SeriesRecord, StudyRecord
from tests.tui.app_support import add_folder, find_node, go_to, make_app
from tests.waiting import wait_until

SIZE_SMALL = (80, 24)
SIZE = (100, 30)


@pytest.fixture(scope="module")
def pacs(corpus: Corpus) -> Iterator[PynetdicomPacs]:
    server = PynetdicomPacs(ae_title="SNAP_PACS")
    server.upload_many(corpus.datasets())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(database: Database, pacs: PynetdicomPacs) -> AditApp:
    dimse = frozenset({Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE})
    with database.session() as session:
        for name in ("pacs", "research"):
            registry.add_server(
                session,
                ServerSpec(name, pacs.ae_title, "127.0.0.1", pacs.dicom_port, capabilities=dimse),
            )
    add_folder(database, "export", "/srv/export")
    return make_app(database)


async def settle(pilot: Pilot[Any]) -> None:
    browser = pilot.app.screen.browser  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: browser.form.server is not None)
    await wait_until(pilot, lambda: not browser.busy)
    await pilot.pause()


async def search_all(pilot: Pilot[Any]) -> None:
    browser = pilot.app.screen.browser  # type: ignore[attr-defined]
    await settle(pilot)
    browser.search("pacs", SearchCriteria())
    await wait_until(pilot, lambda: browser.server == "pacs" and not browser.busy)
    await pilot.pause()


async def open_ct_study(pilot: Pilot[Any]) -> None:
    """Search everything, open Müller's CT study and its first series."""
    await search_all(pilot)
    screen = pilot.app.screen
    tree = screen.browser.results  # type: ignore[attr-defined]
    study = find_node(tree, lambda d: isinstance(d, StudyRecord) and d.description == "CT Thorax")
    tree.focus()
    await go_to(pilot, tree, study)
    await pilot.press("l")
    await wait_until(pilot, lambda: study.id in tree.loaded)
    first = study.children[0]
    await go_to(pilot, tree, first)
    await pilot.press("l")
    await wait_until(pilot, lambda: first.id in tree.loaded)
    await go_to(pilot, tree, first.children[1])


def test_explorer_start(snap_compare: Any, app: AditApp) -> None:
    assert snap_compare(app, terminal_size=SIZE_SMALL, run_before=settle)


def test_explorer_drill_down(snap_compare: Any, app: AditApp) -> None:
    assert snap_compare(app, terminal_size=SIZE_SMALL, run_before=open_ct_study)


def test_tags_modal(snap_compare: Any, app: AditApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_ct_study(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, TagsScreen))
        screen = pilot.app.screen
        await wait_until(pilot, lambda: bool(screen.rows), timeout=20)  # type: ignore[attr-defined]
        await pilot.press("slash", *"patient")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def mark_for_transfer(pilot: Pilot[Any]) -> None:
    """Transfer mode: mark a whole study and one series of another, choose options."""
    await pilot.press("f2")
    await wait_until(pilot, lambda: hasattr(pilot.app.screen, "panel"))
    await search_all(pilot)
    screen = pilot.app.screen
    tree = screen.results  # type: ignore[attr-defined]
    tree.focus()
    abdomen = find_node(
        tree, lambda d: isinstance(d, StudyRecord) and d.description == "CT Abdomen"
    )
    await go_to(pilot, tree, abdomen)
    await pilot.press("space")
    study = find_node(tree, lambda d: isinstance(d, StudyRecord) and d.description == "CT Thorax")
    await go_to(pilot, tree, study)
    await pilot.press("l")
    await wait_until(pilot, lambda: study.id in tree.loaded)
    series = find_node(tree, lambda d: isinstance(d, SeriesRecord) and d.number == 2)
    await go_to(pilot, tree, series)
    await pilot.press("space")
    select = screen.query_one("#destination", Select)
    await wait_until(pilot, lambda: len(select._options) > 2)
    select.value = "export"
    screen.query_one("#pseudonym", Input).value = "SUBJ\\01"
    screen.query_one("#trial_protocol_id", Input).value = "TRIAL-7"
    await pilot.pause()


def test_transfer_marked_with_a_field_error(snap_compare: Any, app: AditApp) -> None:
    assert snap_compare(app, terminal_size=SIZE_SMALL, run_before=mark_for_transfer)


def test_transfer_confirm_modal(snap_compare: Any, app: AditApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await mark_for_transfer(pilot)
        pilot.app.screen.query_one("#pseudonym", Input).value = "SUBJ01"
        pilot.app.screen.query_one("#urgent").value = True
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmTransferScreen))

    assert snap_compare(app, terminal_size=SIZE_SMALL, run_before=run_before)


def test_instance_record_names_its_class() -> None:
    record = InstanceRecord("1", "2", "3", "1.2.840.10008.5.1.4.1.1.2", 1)
    assert record.sop_class_name == "CT Image Storage"
