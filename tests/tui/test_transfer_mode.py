"""Selective transfer from the app: mark, choose, confirm; a worker completes the job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text as text_sql
from textual.widgets import Input, Select

from adit_core.db.database import Database
from adit_core.jobs.read import job_summary, job_tasks
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from adit_tui.screens.confirm_transfer import ConfirmTransferScreen
from adit_tui.screens.transfer import TransferScreen
from adit_tui.services import SeriesRecord, StudyRecord
from tests.tui.app_support import (
    DESTINATION,
    SOURCE,
    add_folder,
    find_node,
    go_to,
    make_app,
    register_pair,
)
from tests.waiting import wait_until
from tests.worker.support import run_until_final

pytestmark = pytest.mark.orthanc


async def open_transfer(pilot, app) -> TransferScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(app.screen, TransferScreen))
    screen = app.screen
    await wait_until(pilot, lambda: screen.browser.form.server == SOURCE, what="sources listed")
    return screen


async def test_selective_transfer_creates_a_job_a_worker_completes(
    database: Database, orthanc_a: OrthancServer, empty_b: OrthancServer, corpus: Corpus
) -> None:
    register_pair(orthanc_a, empty_b)
    whole = next(s for s in corpus.studies if s.patient_id == "0098765")
    partial = next(s for s in corpus.studies if s.patient_id == "0012345" and "CT" in s.modalities)
    app = make_app(database)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_transfer(pilot, app)
        # Search everything on the source, then mark with space.
        await pilot.click("#search-button")
        await wait_until(pilot, lambda: screen.browser.server == SOURCE and not screen.browser.busy)
        tree = screen.results
        tree.focus()
        await go_to(
            pilot,
            tree,
            find_node(
                tree, lambda d: isinstance(d, StudyRecord) and d.study_uid == whole.study_uid
            ),
        )
        await pilot.press("space")
        study_node = find_node(
            tree, lambda d: isinstance(d, StudyRecord) and d.study_uid == partial.study_uid
        )
        await go_to(pilot, tree, study_node)
        await pilot.press("l")
        await wait_until(pilot, lambda: study_node.id in tree.loaded and not screen.browser.busy)
        second = study_node.children[1]
        assert isinstance(second.data, SeriesRecord)
        await go_to(pilot, tree, second)
        await pilot.press("space")
        assert set(tree.selection) == {whole.study_uid, partial.study_uid}
        assert list(tree.selection[partial.study_uid].series) == [second.data.series_uid]
        assert "[~]" in str(study_node.label) and "[x]" in str(second.label)
        assert "2 studies marked, 1 with some series only" in str(
            screen.query_one("#selection-summary").render()
        )

        # No destination yet: ctrl+t says so next to the field.
        await pilot.press("ctrl+t")
        assert "Choose where" in str(screen.query_one("#destination-error").render())
        await wait_until(pilot, lambda: len(screen.query_one("#destination", Select)._options) > 1)
        screen.query_one("#destination", Select).value = DESTINATION
        await pilot.pause()
        assert SOURCE not in [v for _, v in screen.query_one("#destination", Select)._options]

        # A bad trial protocol id is explained beside the field and blocks the job.
        screen.query_one("#trial_protocol_id", Input).focus()
        await pilot.press(*"A\\B")
        assert "backslash" in str(screen.query_one("#trial_protocol_id-error").render())
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmTransferScreen)
        await pilot.press("backspace", "backspace", "backspace", *"TRIAL-7")
        assert screen.query_one("#trial_protocol_id-error").has_class("-ok")

        screen.query_one("#urgent").value = True
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmTransferScreen))
        text = str(app.screen.query_one("#confirm-details").render())
        assert "whole study" in text and "1 series" in text and "TRIAL-7" in text
        assert "urgent" in text and "Not pseudonymized" in text
        # Back creates nothing...
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, TransferScreen))
        with database.session() as session:
            assert session.execute(text_sql("SELECT count(*) FROM jobs")).scalar() == 0
        # ...and confirming creates the job.
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmTransferScreen))
        await pilot.press("y")
        # The job is created and the user lands on it in the Jobs mode.
        await wait_until(pilot, lambda: app.current_mode == "jobs", what="jobs mode")
        await wait_until(
            pilot, lambda: getattr(app.screen, "job_id", None) is not None, what="job detail"
        )
        job_id = app.screen.job_id
        assert tree.selection == {}
        with database.session() as session:
            tasks = job_tasks(session, job_id)
        assert {t.study_uid for t in tasks} == {whole.study_uid, partial.study_uid}
        by_study = {t.study_uid: t for t in tasks}
        assert by_study[partial.study_uid].series_uids == [second.data.series_uid]
        assert by_study[whole.study_uid].series_uids == []
        with database.session() as session:
            summary = job_summary(session, job_id)
        assert summary.urgent and summary.destination == DESTINATION

    status = await asyncio.to_thread(run_until_final, database, job_id)
    assert status == "SUCCESS"
    series = next(s for s in partial.series if s.series_uid == second.data.series_uid)
    expected = whole.instance_uids() | set(series.instance_uids)
    assert empty_b.instance_uids() == expected


def test_destinations_are_servers_that_store_and_folders(
    database: Database, orthanc_a: OrthancServer, orthanc_b: OrthancServer, tmp_path: Path
) -> None:
    from adit_core import node_roles
    from adit_tui import services
    from tests.worker.support import register_orthanc

    register_pair(orthanc_a, orthanc_b)
    register_orthanc("find-only", orthanc_b, "find")
    add_folder(database, "research", str(tmp_path))
    names = [n.label for n in services.list_destinations(database, exclude=SOURCE)]
    assert names == [DESTINATION, "research (folder)"]
    sources = [n.name for n in services.list_sources(database, node_roles.TRANSFER_SOURCE)]
    assert sources == [SOURCE, DESTINATION]
