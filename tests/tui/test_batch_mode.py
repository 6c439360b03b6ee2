"""Batch mode: choose a file, read its report, start batch query and transfer jobs, export.

Real PostgreSQL (a fresh database per test) and real files written with openpyxl or as
literal CSV; the end-to-end export runs a batch query against Orthanc with a worker.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static

from adit_core import registry
from adit_core.batch import (
    ValidationReport,
    export_results,
    task_lines,
    validate_file,
)
from adit_core.db.database import Database
from adit_core.jobs.read import job_summary, job_tasks
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from adit_tui.commands import screen_commands
from adit_tui.screens.batch import BatchFileTree, BatchScreen, TemplateModal
from adit_tui.screens.batch_export import ExportResultsModal, SaveFileModal
from tests.batch.files import read_xlsx, write_csv, write_xlsx
from tests.tui.batch_support import (
    SERIES_1,
    STUDY_1,
    STUDY_2,
    BatchHarness,
    broken_query_file,
    pick,
    ready,
    register_servers,
    screen_text,
    valid_query_file,
    valid_transfer_file,
    wait_checked,
    wait_modal,
)
from tests.waiting import wait_until
from tests.worker.support import register_orthanc, run_until_final


def job_count(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(text("SELECT count(*) FROM jobs")).scalar_one())


def job_row(db: Database, job_id: int) -> tuple[str, bool, dict[str, Any]]:
    with db.session() as session:
        kind, urgent, options = session.execute(
            text("SELECT kind, urgent, options FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
    return kind, urgent, options


def rows_of(table: DataTable[Any]) -> list[tuple[str, str, str]]:
    return [
        tuple(str(cell) for cell in table.get_row_at(index))  # type: ignore[misc]
        for index in range(table.row_count)
    ]


async def type_path(pilot: Pilot[Any], screen: BatchScreen, value: str) -> None:
    """ctrl+l, the path (set at once: typing it key by key only slows the test), Enter."""
    await pilot.press("ctrl+l")
    assert screen.path_input.has_focus
    screen.path_input.value = value
    await pilot.press("enter")


async def test_broken_file_lists_every_problem_and_cannot_start(
    database: Database, tmp_path: Path
) -> None:
    register_servers(database, "pacs")
    broken = broken_query_file(tmp_path)
    expected = validate_file(broken, "query")
    assert isinstance(expected, ValidationReport)
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        assert screen.query_one("#source", Select).value == "pacs"  # the only source
        assert "broken.xlsx" in screen_text(app)
        await pick(pilot, screen, "broken.xlsx")
        await wait_checked(pilot, screen)
        assert screen.path_input.value == "broken.xlsx"

        rows = rows_of(screen.query_one("#problems", DataTable))
        assert len(rows) == len(expected.problems) == 4
        assert [(line.strip(), column) for line, column, _ in rows] == [
            ("1", "Modalitty (D)"),
            ("2", "PatientID (A)"),
            ("3", "PatientBirthDate (B)"),
            ("4", "-"),
        ]
        assert [message for *_, message in rows] == [p.message for p in expected.problems]
        assert "did you mean Modality" in rows[0][2]
        assert "stored as a number" in rows[1][2]
        summary = str(screen.query_one("#summary", Static).render())
        assert "not a valid batch query file: 4 problems" in summary
        assert screen.query_one("#warnings").has_class("-empty")

        # Start is disabled, greyed in the footer, and neither its key nor a click on it
        # (nor the action run directly) creates anything.
        assert screen.query_one("#start", Button).disabled
        assert screen.check_action("start", ()) is None
        await pilot.press("ctrl+s")
        await pilot.click("#start")
        screen.action_start()
        await pilot.pause()
        assert ("warning", "Nothing to start") in [(s, t) for s, t, _ in app.notices]
        # As a transfer file the same file has other problems; still nothing to start.
        await pilot.press("ctrl+b")
        await wait_checked(pilot, screen)
        assert "valid batch transfer file" in str(screen.query_one("#summary", Static).render())
        assert any(
            "missing column StudyInstanceUID" in m
            for *_, m in rows_of(screen.query_one("#problems", DataTable))
        )
        await pilot.press("ctrl+s")
        await pilot.pause()

        # Hundreds of problems: the first rows at once, the rest follow in chunks, all listed.
        lines = "".join(f"12\\\\{i},CT\n" for i in range(450))
        write_csv(tmp_path / "many.csv", "PatientID,Modality\n" + lines)
        await pilot.press("ctrl+b")
        await wait_checked(pilot, screen)
        await type_path(pilot, screen, "many.csv")
        await wait_checked(pilot, screen)
        problems = screen.query_one("#problems", DataTable)
        assert problems.row_count >= 200
        await wait_until(pilot, lambda: problems.row_count == 450, what="every problem listed")
        assert problems.border_title == "Problems (450)"
        last = [str(cell) for cell in problems.get_row_at(449)]
        assert [last[0].strip(), last[1]] == ["451", "PatientID (A)"] and "backslash" in last[2]
    assert job_count(database) == 0
    assert app.shown_jobs == []


async def test_valid_query_file_creates_a_batch_query_job_and_shows_it(
    database: Database, tmp_path: Path
) -> None:
    register_servers(database, "pacs", "other")
    cohort = valid_query_file(tmp_path)
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app, sources=2)
        await type_path(pilot, screen, "cohort.xlsx")
        await wait_checked(pilot, screen)
        summary = str(screen.query_one("#summary", Static).render())
        assert "✓ cohort.xlsx is a valid batch query file: 3 lines, one search each" in summary
        assert screen.query_one("#problems", DataTable).row_count == 0
        # The repeated line is a warning, in its own table; it does not block the job.
        warnings = screen.query_one("#warnings", DataTable)
        assert not warnings.has_class("-empty")
        assert [(line.strip(), message) for line, _, message in rows_of(warnings)] == [
            ("4", "warning: repeats line 3; it will be queried twice")
        ]
        assert not screen.query_one("#start", Button).disabled

        # Two sources: none is preselected, and Start says so beside the field.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Choose the server" in str(screen.query_one("#source-error", Static).render())
        assert job_count(database) == 0
        await pilot.press("ctrl+g")
        screen.query_one("#source", Select).value = "pacs"
        screen.query_one("#urgent", Checkbox).value = True
        await pilot.pause()
        assert screen.query_one("#source-error").has_class("-ok")

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.shown_jobs != [], what="show_job called")
        [job_id] = app.shown_jobs
        assert ("information", "Batch query job created") in [(s, t) for s, t, _ in app.notices]
        assert f"Job {job_id} created from cohort.xlsx" in str(
            screen.query_one("#summary", Static).render()
        )
        # Started once: a second ctrl+s needs the file checked again.
        assert screen.query_one("#start", Button).disabled
    kind, urgent, options = job_row(database, job_id)
    assert (kind, urgent) == ("batch_query", True)
    assert options == {"source": "pacs", "file": cohort.name, "rows": 3}
    assert job_count(database) == 1
    with database.session() as session:
        tasks = job_tasks(session, job_id)
    assert [t.patient_id for t in tasks] == ["0012345", "0098765", "0098765"]
    assert cohort.exists()


async def test_valid_transfer_file_with_a_folder_destination_creates_a_batch_transfer_job(
    database: Database, tmp_path: Path
) -> None:
    register_servers(database, "pacs", "archive")
    with database.session() as session:
        registry.add_folder(session, "research", str(tmp_path / "out"))
    valid_transfer_file(tmp_path)
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app, sources=2)
        # Transfer options only show for a transfer.
        assert not screen.query_one("#destination").parent.display  # type: ignore[union-attr]
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert screen.query_one("#destination").parent.display  # type: ignore[union-attr]
        await pick(pilot, screen, "found.csv")
        await wait_checked(pilot, screen)
        summary = str(screen.query_one("#summary", Static).render())
        assert "valid batch transfer file: 3 lines → 2 studies (2 pseudonymized, 0 unchanged)" in (
            summary
        )
        screen.query_one("#source", Select).value = "pacs"
        await pilot.pause()
        destination = screen.query_one("#destination", Select)
        offered = [value for _label, value in destination._options]  # type: ignore[attr-defined]
        assert "pacs" not in offered and {"archive", "research"} <= set(offered)

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Choose where" in str(screen.query_one("#destination-error", Static).render())
        destination.value = "research"
        trial = screen.query_one("#trial_protocol_id", Input)
        trial.focus()
        await pilot.press(*"P\\7")
        assert "backslash" in str(screen.query_one("#trial_protocol_id-error", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert job_count(database) == 0
        await pilot.press("backspace", "backspace", "7")
        assert screen.query_one("#trial_protocol_id-error").has_class("-ok")
        screen.query_one("#trial_protocol_name", Input).value = "Knee study"

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.shown_jobs != [], what="show_job called")
        [job_id] = app.shown_jobs

        # A transfer job has no results to export: the modal says why and stays open.
        app.push_screen(ExportResultsModal(job_id, base=tmp_path))
        await wait_modal(pilot, app, ExportResultsModal)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: not app.screen.query_one("#path-error").has_class("-ok"), what="error"
        )
        assert "only batch query jobs have results to export" in str(
            app.screen.query_one("#path-error", Static).render()
        )
        assert isinstance(app.screen, ExportResultsModal)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen))
    assert not list(tmp_path.glob("batch_query_job_*"))
    with database.session() as session:
        summary_row = job_summary(session, job_id)
        tasks = job_tasks(session, job_id)
        lines = task_lines(session, job_id)
    kind, urgent, options = job_row(database, job_id)
    assert (kind, urgent) == ("batch_transfer", False)
    assert summary_row.destination == "research"
    assert options["trial_protocol_id"] == "P7"
    assert options["trial_protocol_name"] == "Knee study"
    assert [(t.study_uid, t.series_uids, t.pseudonym) for t in tasks] == [
        (STUDY_1, [], "SUBJ01"),  # one of its lines names no series: the whole study
        (STUDY_2, [], "SUBJ02"),
    ]
    assert list(lines.values()) == [[2, 3], [4]]
    assert SERIES_1  # the series line merged into the whole study


async def test_path_field_checks_what_is_typed_and_browses_folders(
    database: Database, tmp_path: Path
) -> None:
    register_servers(database, "pacs")
    sub = tmp_path / "lists"
    sub.mkdir()
    valid_query_file(sub, "deep.xlsx")
    valid_query_file(tmp_path)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "~$cohort.xlsx").write_bytes(b"lock")
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        shown = screen_text(app)
        assert "old.xls" not in shown and "~$" not in shown and "lists" in shown

        await type_path(pilot, screen, "missing.xlsx")
        error = screen.query_one("#path-error", Static)
        assert "No such file or folder: missing.xlsx" in str(error.render())
        assert screen.chosen is None and job_count(database) == 0
        await type_path(pilot, screen, "old.xls")
        assert "old Excel format" in str(error.render())

        # A folder typed and entered becomes the tree's root; Backspace goes back up.
        await type_path(pilot, screen, "lists")
        await wait_until(pilot, lambda: screen.files.folder == sub, what="tree in lists")
        await wait_until(pilot, lambda: len(screen.files.root.children) == 1)
        assert screen.files.has_focus
        assert "lists" in str(screen.files.render_label(screen.files.root, *_styles()))
        await pick(pilot, screen, "deep.xlsx")
        await wait_checked(pilot, screen)
        assert screen.path_input.value == "lists/deep.xlsx"
        assert screen.valid
        await pilot.press("backspace")
        await wait_until(pilot, lambda: screen.files.folder == tmp_path, what="tree back up")

        # Editing the path after a check: the old result no longer counts.
        await pilot.press("ctrl+l")  # selects the whole path: typing replaces it
        assert screen.path_input.selected_text == "lists/deep.xlsx"
        await pilot.press("end", "backspace")
        assert not screen.valid and screen.query_one("#start", Button).disabled
        await pilot.press("enter")
        assert "No such file or folder: lists/deep.xls" in str(error.render())
        await pilot.press("x", "enter")
        await wait_checked(pilot, screen)
        assert screen.valid


def _styles() -> tuple[Any, Any]:
    from rich.style import Style

    return Style(), Style()


async def test_keys_palette_and_template(database: Database, tmp_path: Path) -> None:
    """Every key has an id and a tooltip and is a palette command; the template key
    writes an example file that checks as valid."""
    for cls in (BatchScreen, BatchFileTree, SaveFileModal):
        for binding in cls.BINDINGS:
            assert binding.id and binding.tooltip, binding  # type: ignore[union-attr]
    register_servers(database, "pacs")
    valid_query_file(tmp_path)
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        titles = {title for title, *_ in screen_commands(screen)}
        assert {"Path", "Query/Transfer", "Check", "Start", "Template…", "Up a folder"} <= titles
        assert "Cancel" not in titles  # nothing is being checked

        # The palette runs them: "Template…" opens the template modal (Esc closes it).
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"templ")

        def offered() -> list[str]:
            hits = app.screen.query_one(CommandList)
            return [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]

        await wait_until(
            pilot, lambda: any("Template" in o for o in offered()), what="the command offered"
        )
        assert offered()[0].startswith("Template…")
        await pilot.press("enter")
        await wait_modal(pilot, app, TemplateModal)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, what="template modal closed")
        assert not list(tmp_path.glob("batch_*"))

        await pilot.press("ctrl+b", "ctrl+n")
        await wait_modal(pilot, app, TemplateModal)
        modal = app.screen
        assert isinstance(modal, TemplateModal)
        field = modal.query_one("#path", Input)
        assert field.value == "batch_transfer_template.xlsx"
        await pilot.press("ctrl+t")  # .xlsx ↔ .csv
        assert field.value == "batch_transfer_template.csv"
        assert modal.query_one("#csv").value
        await pilot.press("ctrl+t")
        assert field.value == "batch_transfer_template.xlsx"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="modal closed")
        await wait_until(
            pilot,
            lambda: "batch_transfer_template.xlsx" in screen_text(app),
            what="template in the tree",
        )
        written = tmp_path / "batch_transfer_template.xlsx"
        assert any("Wrote" in m and str(written) in m for *_, m in app.notices)
        await pick(pilot, screen, written.name)
        await wait_checked(pilot, screen)
        assert screen.valid  # the example rows are a valid transfer file
    assert read_xlsx(written)[0][:2] == ["PatientID", "StudyInstanceUID"]


async def test_failures_are_notified_with_their_cause(database: Database, tmp_path: Path) -> None:
    register_servers(database, "pacs")
    cohort = valid_query_file(tmp_path)
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        await pick(pilot, screen, "cohort.xlsx")
        await wait_checked(pilot, screen)
        # The server disappears between choosing and starting (another user removed it).
        with database.session() as session:
            registry.remove_node(session, "pacs", "server")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not screen.activity, what="start finished")
        await wait_until(pilot, lambda: any(s == "error" for s, *_ in app.notices))
        _severity, title, message = app.notices[-1]
        assert title == "The job was not created"
        assert "no server named 'pacs'" in message
        assert "The job was not created: no server named 'pacs'" in str(
            screen.query_one("#summary", Static).render()
        )

        # The file changed since it was checked: checked again by Start, nothing queued.
        register_servers(database, "pacs")
        write_xlsx(cohort, [["PatientID", "Modality"], ["0012345", "X-RAY"]], text_columns=[0])
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: screen.report is not None, what="new report")
        assert "changed since it was checked" in app.notices[-1][2]
        assert not screen.valid

        # An unreadable file (a folder named like a spreadsheet) is reported, not raised.
        (tmp_path / "folder.xlsx").mkdir()
        screen.chosen = tmp_path / "folder.xlsx"
        await pilot.press("ctrl+r")
        await wait_checked(pilot, screen)
        assert screen.report is not None and screen.report.problems
    assert job_count(database) == 0
    assert app.shown_jobs == []


@pytest.mark.orthanc
async def test_export_modal_writes_the_results_of_a_batch_query(
    database: Database, orthanc_a: OrthancServer, corpus: Corpus, tmp_path: Path
) -> None:
    """A batch query from the app, run by a worker; the modal writes .xlsx and .csv."""
    register_orthanc("orthanc_a", orthanc_a, "find,get")
    write_xlsx(
        tmp_path / "query.xlsx",
        [["PatientID", "Modality", "Pseudonym"],
         ["0012345", "CT, MR", "SUBJ01"],
         ["0098765", "CT", "SUBJ02"],
         ["9999999", "CT", "SUBJ03"]],
        text_columns=[0],
    )  # fmt: skip
    app = BatchHarness(database, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await ready(pilot, app)
        await pick(pilot, screen, "query.xlsx")
        await wait_checked(pilot, screen)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.shown_jobs != [], what="job created")
        [job_id] = app.shown_jobs
        status = await asyncio.to_thread(run_until_final, database, job_id)
        assert status == "FAILURE"  # 9999999 is not on the source

        results: list[Path | None] = []
        app.push_screen(ExportResultsModal(job_id, base=tmp_path), results.append)
        await wait_modal(pilot, app, ExportResultsModal)
        field = app.screen.query_one("#path", Input)
        assert field.value == f"batch_query_job_{job_id}_results.xlsx"
        await pilot.press("enter")
        await wait_until(pilot, lambda: results != [], what="xlsx written")
        xlsx = tmp_path / f"batch_query_job_{job_id}_results.xlsx"
        assert results == [xlsx]
        assert any(
            m.startswith(f"Wrote 4 rows to {xlsx}.") and "1 lines of the query failed" in m
            for *_, m in app.notices
        )

        app.push_screen(ExportResultsModal(job_id, base=tmp_path), results.append)
        await wait_modal(pilot, app, ExportResultsModal)
        await pilot.press("ctrl+t", "enter")  # CSV
        await wait_until(pilot, lambda: len(results) == 2, what="csv written")
        assert results[1] == xlsx.with_suffix(".csv")

    # The rows are the job's results, exactly as `adit jobs export` writes them.
    reference = tmp_path / "reference.xlsx"
    with database.session() as session:
        export_results(session, job_id, reference)
    rows = read_xlsx(xlsx)
    assert rows == read_xlsx(reference)
    ct, mr = corpus.studies_of("0012345")
    [nguyen] = corpus.studies_of("0098765")
    header = rows[0]
    found = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [
        (r["Pseudonym"], r["PatientID"], r["StudyInstanceUID"], r["Status"]) for r in found
    ] == [
        ("SUBJ01", "0012345", ct.study_uid, "SUCCESS"),
        ("SUBJ01", "0012345", mr.study_uid, "SUCCESS"),
        ("SUBJ02", "0098765", nguyen.study_uid, "SUCCESS"),
        ("SUBJ03", "9999999", None, "FAILURE"),
    ]
    with results[1].open(encoding="utf-8-sig", newline="") as handle:
        csv_rows = list(csv.reader(handle))
    assert csv_rows[0] == header
    assert [(r[1], r[header.index("StudyInstanceUID")]) for r in csv_rows[1:]] == [
        ("0012345", ct.study_uid),
        ("0012345", mr.study_uid),
        ("0098765", nguyen.study_uid),
        ("9999999", ""),
    ]
