"""Writing batch files and exports as .xlsx or .csv, atomically.

In .xlsx, identifier columns are Text columns (number format "@"), both the cells written
and the column itself, so IDs keep their leading zeros and IDs typed in later stay text.
CSV is written as UTF-8 with a byte order mark, which Excel needs to show umlauts. No text
is ever written as a formula (see formula_guard).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

from adit_core.batch.formula_guard import (
    FORMULA_TRIGGERS,
    csv_text,
    starts_like_a_formula,
    xlsx_text,
)
from adit_core.batch.report import column_letter
from adit_core.jobs.errors import JobError

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"


def check_output_path(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise JobError(f"cannot write {path.name}: the name must end in .xlsx or .csv")
    if not path.parent.is_dir():
        raise JobError(f"cannot write {path}: the folder {path.parent} does not exist")
    return suffix


@contextmanager
def _atomic(path: Path, mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with open(temp, mode, **kwargs) as handle:
            yield handle
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_table(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    text_columns: Iterable[str] = (),
    widths: dict[str, int] | None = None,
    sheet_title: str = "Batch",
    extra_sheets: dict[str, list[list[str]]] | None = None,
) -> int:
    """Write header and rows; returns the number of data rows written."""
    path = Path(path)
    suffix = check_output_path(path)
    if suffix == ".csv":
        with _atomic(path, "w", encoding="utf-8-sig", newline="") as handle:
            return _write_csv(handle, header, rows)
    return _write_xlsx(
        path, header, rows, set(text_columns), widths or {}, sheet_title, extra_sheets or {}
    )


def _write_csv(handle: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    writer = csv.writer(handle)
    writer.writerow([csv_text(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        count += 1
    return count


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_xlsx(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    text_columns: set[str],
    widths: dict[str, int],
    sheet_title: str,
    extra_sheets: dict[str, list[list[str]]],
) -> int:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    text_positions = {i for i, name in enumerate(header) if name in text_columns}
    for position, name in enumerate(header):
        dimension = sheet.column_dimensions[column_letter(position)]
        dimension.width = widths.get(name, max(12, len(name) + 2))
        if position in text_positions:
            dimension.number_format = TEXT_FORMAT
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for name in header:
        cell = _text_cell(sheet, name)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        out: list[object] = []
        for position, value in enumerate(row):
            if position in text_positions and value not in (None, ""):
                out.append(_text_cell(sheet, str(value), TEXT_FORMAT))
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT
                out.append(cell)
            elif isinstance(value, str) and value.startswith(("'", *FORMULA_TRIGGERS)):
                out.append(_text_cell(sheet, value))
            else:
                out.append(None if value == "" else value)
        sheet.append(out)
        count += 1
    for title, lines in extra_sheets.items():
        extra = workbook.create_sheet(title)
        extra.column_dimensions["A"].width = 24
        extra.column_dimensions["B"].width = 100
        for line in lines:
            extra.append([_text_cell(extra, text) for text in line])
    with _atomic(path, "wb") as handle:
        workbook.save(handle)
    return count


def _text_cell(sheet: Any, text: str, number_format: str | None = None) -> Any:
    """A string cell, whatever it starts with: openpyxl makes any str starting with "=" a
    formula, so the type is set after the value; text a spreadsheet would evaluate also gets
    Excel's quote prefix, so it stays text when someone edits the cell."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=xlsx_text(text))
    cell.data_type = "s"
    if starts_like_a_formula(text):
        cell.quotePrefix = True
    if number_format is not None:
        cell.number_format = number_format
    return cell
