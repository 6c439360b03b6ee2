"""A table of a batch file's problems (or warnings and notes), each with line and column.

Messages are wrapped to the table's own width. The table re-wraps itself whenever its
width changes (a terminal resize, a scrollbar appearing on the screen), so what is shown
never depends on the moment the report arrived. Past the first rows, the rest are added
in chunks by a worker so a file with thousands of problems never freezes the screen.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import events, work
from textual.widgets import DataTable

from adit_core.batch import Problem

FIRST_ROWS = 200  # rows added at once; the rest follow in chunks
CHUNK_ROWS = 250
LINE_WIDTH = 5
COLUMN_WIDTH = 22
# Cell padding (1 each side of 3 columns), the border, and room for the scrollbar.
CHROME_WIDTH = 6 + 2 + 2
MIN_MESSAGE_WIDTH = 24

ReportRow = tuple[Text, Text, Text]


def report_row(problem: Problem, label: str = "", style: str = "") -> ReportRow:
    """Line, column and message of one problem; `label` (in `style`) starts the message."""
    message = Text.assemble((label, style), problem.message) if label else Text(problem.message)
    return (*where_cells(problem), message)


def where_cells(problem: Problem) -> tuple[Text, Text]:
    line = Text(str(problem.line) if problem.line is not None else "-", justify="right")
    if problem.column and problem.letter:
        column = f"{problem.column} ({problem.letter})"
    else:
        column = problem.column or problem.letter or "-"
    return line, Text(column, overflow="ellipsis", no_wrap=True)


class ReportTable(DataTable[object]):
    """Rows of a validation report under a heading (`title` names the message column)."""

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.title = title
        self.rows_shown: list[ReportRow] = []
        self.wrap_width = 0  # the message width the rows were wrapped to (0: not yet)

    def message_width(self) -> int:
        width = self.size.width or (self.screen.size.width if self.is_mounted else 0) or 100
        return max(MIN_MESSAGE_WIDTH, width - LINE_WIDTH - COLUMN_WIDTH - CHROME_WIDTH)

    def show(self, rows: list[ReportRow]) -> None:
        """Replace the rows (and wrap them to the current width)."""
        self.rows_shown = rows
        self._fill()

    def _fill(self) -> None:
        self.workers.cancel_group(self, "report-rows")
        width = self.wrap_width = self.message_width()
        self.clear(columns=True)
        self.add_column("Line", key="line", width=LINE_WIDTH)
        self.add_column("Column", key="column", width=COLUMN_WIDTH)
        self.add_column(self.title, key="message", width=width)
        self._add(self.rows_shown[:FIRST_ROWS], 0, width)
        if len(self.rows_shown) > FIRST_ROWS:
            self._add_rest(width)

    @property
    def complete(self) -> bool:
        """Every row is in the table, wrapped to the table's current width."""
        if self.row_count != len(self.rows_shown):
            return False
        # A hidden table (no width) is re-wrapped when it is shown again.
        return not self.size.width or self.wrap_width == self.message_width()

    def _add(self, rows: list[ReportRow], first: int, width: int) -> None:
        """Rows keyed by their index in the report, each as high as its wrapped message
        (measured here: DataTable's own auto height costs several times as much)."""
        console = self.app.console
        for index, cells in enumerate(rows, start=first):
            height = max(1, len(cells[2].wrap(console, width)))
            self.add_row(*cells, key=str(index), height=height)

    @work(exclusive=True, group="report-rows", exit_on_error=False,
          description="list the rest of the report")  # fmt: skip
    async def _add_rest(self, width: int) -> None:
        rows = self.rows_shown
        for offset in range(FIRST_ROWS, len(rows), CHUNK_ROWS):
            self._add(rows[offset : offset + CHUNK_ROWS], offset, width)
            await asyncio.sleep(0)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width and self.wrap_width and self.message_width() != self.wrap_width:
            self.call_after_refresh(self._refill)

    def _refill(self) -> None:
        if self.size.width and self.message_width() != self.wrap_width:
            self._fill()
