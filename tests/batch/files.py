"""Writing real batch files for tests: xlsx with openpyxl, CSV as literal text."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.utils import get_column_letter


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


FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Formula:
    """A formula cell. `cached` is the value Excel computed and saved with it (str, number or
    an error such as "#N/A"); None writes the formula alone, as openpyxl and other writers
    that do not calculate leave it (`empty_value_tag`: with an empty <v/>, as openpyxl
    does, else without one)."""

    text: str  # without the leading "="
    cached: str | int | float | None = None
    empty_value_tag: bool = True

    def xml(self, ref: str) -> str:
        formula = f"<f>{escape(self.text)}</f>"
        if self.cached is None:
            return f'<c r="{ref}">{formula}{"<v/>" if self.empty_value_tag else ""}</c>'
        if isinstance(self.cached, str) and self.cached.startswith("#"):
            return f'<c r="{ref}" t="e">{formula}<v>{escape(self.cached)}</v></c>'
        if isinstance(self.cached, str):  # Excel's type for a formula's string result
            return f'<c r="{ref}" t="str">{formula}<v>{escape(self.cached)}</v></c>'
        return f'<c r="{ref}">{formula}<v>{self.cached}</v></c>'


def write_xlsx_with_formulas(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """Like write_xlsx, but Formula cells are written into the sheet XML the way Excel
    writes them (formula and cached value side by side), which openpyxl cannot do."""
    formulas: dict[str, Formula] = {}
    plain: list[list[object]] = []
    for r, row in enumerate(rows, start=1):
        out: list[object] = []
        for c, value in enumerate(row, start=1):
            if isinstance(value, Formula):
                ref = f"{get_column_letter(c)}{r}"
                formulas[ref] = value
                out.append(f"FORMULA-{ref}")
            else:
                out.append(value)
        plain.append(out)
    write_xlsx(path, plain)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, formula in formulas.items():
        placeholder = re.compile(
            rf'<c r="{ref}"[^>]*t="inlineStr"[^>]*><is><t>FORMULA-{ref}</t></is></c>'
        )
        sheet, count = placeholder.subn(formula.xml(ref), sheet)
        assert count == 1, f"no placeholder cell {ref} in the sheet"
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path
