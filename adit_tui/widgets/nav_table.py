"""The app's table of rows: vim keys, columns that fit the terminal, keyed in-place updates
(the job list, a job's tasks, the servers and folders)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


@dataclass(frozen=True)
class Column:
    """A table column. `width` None: the column takes the width the others leave (at least
    `width_min`). `drop`: 0 = always shown; otherwise the column is shown only when it fits,
    and columns with a higher `drop` go first when the terminal is narrow."""

    key: str
    label: str
    width: int | None = None
    drop: int = 0
    width_min: int = 12


class NavTable(DataTable[Any]):
    """A row-cursor DataTable with vim aliases (j/k, g/G), keyed rows and fitting columns.

    `sync_rows` is the only way rows change during live updates: stale rows are removed,
    changed cells are updated in place (`update_cell`), new rows are added, and the order is
    restored with `sort`, all in one batch. The cursor stays on the same key. Columns that
    do not fit the width are left out (rebuilt only when the terminal is resized).
    """

    DEFAULT_CSS = """
    NavTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down",
                tooltip="Move the cursor down (vim alias of ↓)"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up",
                tooltip="Move the cursor up (vim alias of ↑)"),
        Binding("g", "first", "First", show=False, id="table.first",
                tooltip="Go to the first row"),
        Binding("G", "last", "Last", show=False, id="table.last",
                tooltip="Go to the last row"),
    ]  # fmt: skip

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.spec: list[Column] = []
        self.shown: list[Column] = []
        self._data_rows: dict[str, Mapping[str, Any]] = {}
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._order: list[str] = []

    # -- columns --------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Define the columns (all of them; `drop` decides which fit)."""
        self.spec = list(columns)
        self._layout(force=True)

    def _room(self) -> int:
        width = self.size.width
        if width <= 0:
            return 0
        return width - self.styles.scrollbar_size_vertical

    def _fitting(self) -> list[Column]:
        room = self._room()
        pad = 2 * self.cell_padding

        def need(column: Column) -> int:
            return (column.width if column.width is not None else column.width_min) + pad

        chosen = [c for c in self.spec if c.drop == 0]
        used = sum(need(c) for c in chosen)
        for column in sorted((c for c in self.spec if c.drop), key=lambda c: c.drop):
            if not room or used + need(column) > room:
                break  # strictly by priority: never a minor column instead of a major one
            chosen.append(column)
            used += need(column)
        return [c for c in self.spec if c in chosen]

    def _layout(self, *, force: bool = False) -> None:
        fitting = self._fitting()
        if force or fitting != self.shown:
            keep = self.cursor_key
            self.shown = fitting
            with self.app.batch_update():
                self.clear(columns=True)
                self._cells.clear()
                for column in fitting:
                    self.add_column(column.label, width=column.width, key=column.key)
                for key in self._order:
                    values = self._values(self._data_rows[key])
                    self.add_row(*values, key=key)
                    self._cells[key] = values
                if keep is not None and keep in self._cells:
                    self.move_cursor(row=self.get_row_index(keep), animate=False)
        self._fit_fill_column()

    def _fit_fill_column(self) -> None:
        fill = next((c for c in self.shown if c.width is None), None)
        if fill is None:
            return
        column = self.columns.get(ColumnKey(fill.key))
        if column is None or self._room() <= 0:
            return
        others = sum(c.get_render_width(self) for c in self.columns.values() if c is not column)
        width = max(fill.width_min, self._room() - others - 2 * self.cell_padding)
        if column.auto_width or column.width != width:
            column.auto_width = False
            column.width = width
            self._require_update_dimensions = True
            self.refresh()

    def on_resize(self) -> None:
        self._layout()

    def _values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(c.key, "") for c in self.shown)

    # -- rows -----------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def keys_in_order(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def cell_text(self, key: str, column: str) -> str:
        """One cell's plain text, shown or not."""
        return _plain(self._data_rows.get(key, {}).get(column, ""))

    def sync_rows(
        self, rows: Sequence[tuple[str, Mapping[str, Any]]], *, cursor_to: str | None = None
    ) -> None:
        """Make the table show exactly `rows` (key, cells by column key) in this order.

        The first column must tell rows apart (an id, a position or a name).
        """
        keep = cursor_to or self.cursor_key
        wanted = [key for key, _ in rows]
        wanted_set = set(wanted)
        columns = list(self.columns)
        with self.app.batch_update():
            for stale in [k for k in self._cells if k not in wanted_set]:
                del self._cells[stale]
                self._data_rows.pop(stale, None)
                with contextlib.suppress(RowDoesNotExist):
                    self.remove_row(stale)
            for key, data in rows:
                self._data_rows[key] = data
                values = self._values(data)
                old = self._cells.get(key)
                if old is None:
                    self.add_row(*values, key=key)
                else:
                    for column, before, after in zip(columns, old, values, strict=False):
                        if before != after:
                            self.update_cell(key, column, after)
                self._cells[key] = values
            self._order = wanted
            if self.keys_in_order() != wanted:
                self._sort_by({key: i for i, key in enumerate(wanted)})
            self._fit_fill_column()
            if keep is not None and keep in self._cells:
                self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _sort_by(self, order: dict[str, int]) -> None:
        # DataTable.sort hands the key function cell values, not row keys; the first column
        # is unique per row (id, position or name), so map its text back to the row key.
        first = next(iter(self.columns))
        by_label = {_plain(cells[0]): key for key, cells in self._cells.items() if cells}
        self.sort(first, key=lambda cell: order.get(by_label.get(_plain(cell), ""), 0))

    # -- paging hooks ---------------------------------------------------------------------

    class _Towards(Message):
        """A request of the table for its pager: -1 towards the start, +1 the end."""

        def __init__(self, table: NavTable, direction: int) -> None:
            self.table = table
            self.direction = direction
            super().__init__()

        @property
        def control(self) -> NavTable:
            return self.table

    class EdgeReached(_Towards):
        """The cursor tried to leave the first (-1) or last (+1) row: a pager may turn."""

    class JumpRequested(_Towards):
        """g/G pressed: a pager may show its first (-1) or last (+1) page."""

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.EdgeReached(self, +1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.EdgeReached(self, -1))
            return
        super().action_cursor_up()

    def action_first(self) -> None:
        self.action_scroll_top()
        self.post_message(self.JumpRequested(self, -1))

    def action_last(self) -> None:
        self.action_scroll_bottom()
        self.post_message(self.JumpRequested(self, +1))
