"""Explorer against a real Orthanc: search, drill-down, tags, truncation, cancel, errors."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Tree

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from adit_tui.screens.explorer import ExplorerScreen
from adit_tui.screens.tags import TagsScreen
from adit_tui.screens.transfer import TransferScreen
from adit_tui.services import (
    InstanceRecord,
    PatientRecord,
    SearchCriteria,
    SeriesRecord,
    StudyRecord,
)
from adit_tui.widgets.dicom_browser import DicomBrowser, Note
from tests.tui.app_support import SOURCE, find_node, make_app, register_pair
from tests.waiting import wait_until

pytestmark = pytest.mark.orthanc


@pytest.fixture
def servers(database: Database, orthanc_a: OrthancServer, orthanc_b: OrthancServer) -> None:
    register_pair(orthanc_a, orthanc_b)


def idle(browser: DicomBrowser) -> bool:
    return not browser.busy


async def test_search_and_drill_down(database: Database, servers: None, corpus: Corpus) -> None:
    app = make_app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, ExplorerScreen)
        browser = screen.browser
        await wait_until(pilot, lambda: browser.form.server == SOURCE, what="servers listed")
        # Type as a user would: PatientID, then Enter.
        await pilot.click("#patient_id")
        await pilot.press(*"0012345", "enter")
        await wait_until(pilot, lambda: browser.server == SOURCE and idle(browser))
        tree = browser.results
        patients = [n for n in tree.root.children if isinstance(n.data, PatientRecord)]
        assert [p.data.patient_id for p in patients] == ["0012345"]
        studies = corpus.studies_of("0012345")
        shown = [n.data.study_uid for n in patients[0].children]
        # newest first
        assert shown == [s.study_uid for s in sorted(studies, key=lambda s: s.study_date)][::-1]
        assert "2 studies of 1 patient" in str(browser.query_one("#status").render())

        # Open the CT study: its series load lazily.
        ct = next(s for s in studies if "CT" in s.modalities)
        study_node = find_node(
            tree, lambda d: isinstance(d, StudyRecord) and d.study_uid == ct.study_uid
        )
        tree.focus()
        tree.move_cursor(study_node)
        await pilot.press("l")
        await wait_until(pilot, lambda: idle(browser) and study_node.id in tree.loaded)
        series = [c.data for c in study_node.children]
        assert all(isinstance(s, SeriesRecord) for s in series)
        assert {s.series_uid for s in series} == {s.series_uid for s in ct.series}
        assert [s.number for s in series] == sorted(s.number for s in series)

        # Then one series' instances.
        first = study_node.children[0]
        tree.move_cursor(first)
        await pilot.press("right")
        await wait_until(pilot, lambda: idle(browser) and first.id in tree.loaded)
        spec = next(s for s in ct.series if s.series_uid == first.data.series_uid)
        instances = [c.data for c in first.children]
        assert {i.sop_uid for i in instances} == set(spec.instance_uids)
        assert all(isinstance(i, InstanceRecord) for i in instances)

        # Enter on an instance shows its tags, fetched on demand.
        tree.move_cursor(first.children[0])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TagsScreen))
        tags = app.screen
        table = tags.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count > 0, what="tags loaded")
        values = {row.keyword: row.value for row in tags.rows}
        assert values["SOPInstanceUID"] == instances[0].sop_uid
        assert values["PatientID"] == "0012345"
        # The filter narrows the rows.
        await pilot.press("slash", *"PatientName")
        await wait_until(pilot, lambda: 0 < table.row_count < len(tags.rows))
        assert all(
            "patientname" in str(table.get_row_at(i)).lower() for i in range(table.row_count)
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ExplorerScreen))

        # x on a series: the Transfer mode opens with that series of its study marked.
        tree.move_cursor(first)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, TransferScreen))
        transfer = app.screen
        await wait_until(pilot, lambda: bool(transfer.results.selection), what="marked")
        chosen = transfer.results.selection[ct.study_uid]
        assert list(chosen.series) == [first.data.series_uid]
        assert transfer.browser.server == SOURCE


async def test_criteria_field_errors_and_truncation(
    database: Database, orthanc_a: OrthancServer
) -> None:
    from tests.cli import adit
    from tests.worker.support import register_orthanc

    register_orthanc(SOURCE, orthanc_a, "find,get")
    register_orthanc("capped", orthanc_a, "find,get")
    assert adit("server", "edit", "capped", "--max-search-results", "2").exit_code == 0
    app = make_app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        browser = app.screen.browser
        await wait_until(pilot, lambda: browser.form.server == "capped")
        # A field that is wrong says so beside the form, and nothing is searched.
        await pilot.click("#birth_date")
        await pilot.press(*"03/12/1965")
        message = str(browser.query_one("#form-message").render())
        assert "Born:" in message and "YYYY-MM-DD" in message
        assert browser.query_one("#birth_date", Input).has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        assert browser.server is None
        browser.query_one("#birth_date", Input).value = ""

        # A capped server: "showing N of more".
        browser.search("capped", SearchCriteria())
        await wait_until(pilot, lambda: browser.server == "capped" and idle(browser))
        studies = [s for p in browser.results.root.children for s in p.children]
        assert len(studies) == 2
        note = browser.results.root.children[-1].data
        assert isinstance(note, Note) and "showing 2 of more" in note.text
        assert "showing 2 of more" in str(browser.query_one("#status").render())

        # "Last, First" with accents, fuzzy.
        browser.search(SOURCE, SearchCriteria(patient_name="Ødegård"))
        await wait_until(pilot, lambda: browser.server == SOURCE and idle(browser))
        ids = [n.data.patient_id for n in browser.results.root.children]
        assert ids == ["000042"]
        # Modality and study date range (two date spellings): the CT studies of 2023.
        browser.search(
            SOURCE,
            SearchCriteria(
                modalities="ct", study_date_from="2023-01-01", study_date_to="31.12.2023"
            ),
        )
        await wait_until(pilot, lambda: idle(browser))
        studies = [s.data for p in browser.results.root.children for s in p.children]
        assert {s.patient_id for s in studies} == {"0012345", "0098765"}
        assert all("CT" in s.modalities for s in studies)


async def test_errors_name_the_server_and_esc_cancels(database: Database) -> None:
    """A server that does not answer: the search can be cancelled with Esc at once, and a
    failure is a notification naming the server."""
    import socket
    import threading

    # A TCP listener that accepts and never answers: the association hangs.
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)
    port = sink.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sink.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sink.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    from tests.cli import adit

    result = adit("server", "add", "silent", "--ae-title", "SILENT", "--host", "127.0.0.1",
                  "--port", str(port))  # fmt: skip
    assert result.exit_code == 0, result.output
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    result = adit("server", "add", "down", "--ae-title", "DOWN", "--host", "127.0.0.1",
                  "--port", str(dead_port))  # fmt: skip
    assert result.exit_code == 0, result.output
    try:
        app = make_app(database)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            browser = screen.browser
            await wait_until(pilot, lambda: browser.form.server is not None)
            browser.search("silent", SearchCriteria(patient_id="1"))
            await wait_until(pilot, lambda: browser.busy)
            assert browser.results.loading
            await pilot.press("escape")
            await wait_until(pilot, lambda: not browser.busy, timeout=2)
            assert not browser.results.loading
            assert "cancelled" in str(browser.query_one("#status").render())

            browser.search("down", SearchCriteria(patient_id="1"))
            await wait_until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
            errors = [n for n in app._notifications if n.severity == "error"]
            assert errors[0].title == "Server down"
            assert "C-FIND on down failed" in errors[0].message
            assert "failed" in str(browser.query_one("#status").render())
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sink.close()


def test_tree_is_keyboard_only() -> None:
    """j/k/h/l/g/G aliases exist on the tree (the footer and palette list them)."""
    from adit_tui.widgets.dicom_browser import DicomTree

    keys = {b.key for b in DicomTree.BINDINGS}  # type: ignore[union-attr]
    assert {"j", "k", "g,home", "G,end", "l,right", "h,left"} <= keys
    assert issubclass(DicomTree, Tree)
