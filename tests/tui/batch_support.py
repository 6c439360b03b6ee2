"""The Batch mode under test: a small app with the screens' context and a recording `show_job`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.pilot import Pilot

from adit_core import registry
from adit_core.db.database import Database
from adit_core.dicom.server import Capability
from adit_core.registry import ServerSpec
from adit_tui.config import TuiConfig
from adit_tui.context import AppContext
from adit_tui.screens.batch import BatchScreen
from adit_tui.screens.batch_export import SaveFileModal
from adit_tui.services import Selection
from adit_tui.widgets.report_table import ReportTable
from tests.batch.files import write_csv, write_xlsx
from tests.waiting import wait_until

# Patient IDs and UIDs as the example files use them (text cells keep the leading zeros).
STUDY_1 = "1.2.826.0.1.3680043.10.1"
STUDY_2 = "1.2.826.0.1.3680043.10.2"
SERIES_1 = "1.2.826.0.1.3680043.10.1.1"


class BatchHarness(App[None]):
    """Pushes a BatchScreen over `directory`; `show_job` records the ids it is given."""

    TITLE = "ADIT"

    def __init__(self, db: Database, directory: Path) -> None:
        super().__init__()
        self.context = AppContext(db, TuiConfig.for_tests(), navigator=self)
        self.animation_level = "none"
        self.directory = directory
        self.shown_jobs: list[int] = []
        self.notices: list[tuple[str, str, str]] = []  # (severity, title, message)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.notices.append((severity, title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_mount(self) -> None:
        self.push_screen(BatchScreen(self.directory))

    def show_job(self, job_id: int) -> None:
        self.shown_jobs.append(job_id)

    def start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        raise AssertionError("the Batch mode never opens the Transfer mode")

    @property
    def batch(self) -> BatchScreen:
        screen = self.screen
        assert isinstance(screen, BatchScreen)
        return screen


def register_servers(db: Database, *names: str) -> None:
    """Registry rows on loopback ports nothing listens on (for choosing, never contacted)."""
    caps = frozenset({Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE})
    with db.session() as session:
        for i, name in enumerate(names):
            registry.add_server(
                session,
                ServerSpec(
                    name=name,
                    ae_title=name.upper()[:16],
                    host="127.0.0.1",
                    port=1 + i,
                    capabilities=caps,
                ),
            )


async def ready(pilot: Pilot[Any], app: BatchHarness, *, sources: int = 1) -> BatchScreen:
    """The screen with its file tree loaded and `sources` servers offered as source."""
    await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen), what="batch screen")
    screen = app.batch
    await wait_until(
        pilot,
        lambda: len(screen.files.root.children) > 0 and not screen.files.loading,
        what="file tree",
    )
    await wait_until(
        pilot,
        lambda: len(screen.query_one("#source")._options) >= sources + 1,  # type: ignore[attr-defined]
        what="sources listed",
    )
    return screen


async def wait_modal(pilot: Pilot[Any], app: App[Any], cls: type[SaveFileModal]) -> SaveFileModal:
    """The save modal on top, composed and with its path field focused."""

    def ready() -> bool:
        fields = app.screen.query("#path") if isinstance(app.screen, cls) else []
        return bool(fields) and app.focused is fields[0]

    await wait_until(pilot, ready, what=f"{cls.__name__} open")
    screen = app.screen
    assert isinstance(screen, cls)
    return screen


async def wait_checked(pilot: Pilot[Any], screen: BatchScreen) -> None:
    """The file checked and its whole report shown, wrapped to the tables' final width."""
    tables = screen.query(ReportTable)
    await wait_until(
        pilot,
        lambda: (
            not screen.activity and (screen.valid_batch is not None or screen.report is not None)
        ),
        what="the file checked",
    )
    await wait_until(pilot, lambda: all(t.complete for t in tables), what="the report shown")
    await pilot.pause()
    await wait_until(pilot, lambda: all(t.complete for t in tables), what="the report shown")


async def pick(pilot: Pilot[Any], screen: BatchScreen, name: str) -> None:
    """Choose a file as a user would: cursor down to it in the tree, then Enter."""
    tree = screen.files
    tree.focus()
    await pilot.press("home")
    for _ in range(len(list(tree.root.children)) + 1):
        node = tree.cursor_node
        if node is not None and node.data is not None and node.data.path.name == name:
            break
        await pilot.press("down")
    else:
        raise AssertionError(f"{name} is not in the file tree")
    await pilot.press("enter")


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()  # test-only introspection
    return "\n".join(strip.text.rstrip() for strip in strips)


def broken_query_file(folder: Path) -> Path:
    """A query file with problems of several kinds, each on a known line and column."""
    return write_xlsx(
        folder / "broken.xlsx",
        [
            ["PatientID", "PatientBirthDate", "Modality", "Modalitty"],
            [12345, "", "CT", ""],
            ["0012345", "31.02.2024", "CT", ""],
            ["", "", "MR", ""],
        ],
    )


def valid_query_file(folder: Path, name: str = "cohort.xlsx") -> Path:
    return write_xlsx(
        folder / name,
        [
            ["PatientID", "Modality", "Pseudonym"],
            ["0012345", "CT, MR", "SUBJ01"],
            ["0098765", "CT", "SUBJ02"],
            ["0098765", "CT", "SUBJ02"],
        ],
        text_columns=[0],
    )


def valid_transfer_file(folder: Path, name: str = "found.csv") -> Path:
    return write_csv(
        folder / name,
        "PatientID;StudyInstanceUID;SeriesInstanceUID;Pseudonym\n"
        f"0012345;{STUDY_1};{SERIES_1};SUBJ01\n"
        f"0012345;{STUDY_1};;SUBJ01\n"
        f"0098765;{STUDY_2};;SUBJ02\n",
    )
