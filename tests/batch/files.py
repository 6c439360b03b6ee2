"""Writing real batch files for tests: xlsx with openpyxl, CSV as literal text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl


def write_xlsx(
    path: Path, rows: Sequence[Sequence[object]], *, text_columns: Sequence[int] = ()
) -> Path:
    """rows[0] is the header. Cells in `text_columns` (0-based) get the Text format."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for column in text_columns:
        for (cell,) in sheet.iter_rows(min_col=column + 1, max_col=column + 1):
            cell.number_format = "@"
    workbook.save(path)
    return path


def write_csv(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def read_xlsx(path: Path) -> list[list[object]]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]
