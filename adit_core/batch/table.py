"""Reading a batch file (.xlsx or .csv) into a header and raw rows, within sane limits.

Cells keep their type from xlsx (str, int, float, datetime, bool) so validation can tell
an ID typed as a number from one stored as text. CSV cells are always text. Lines are the
row numbers a spreadsheet program shows; empty rows are skipped but keep their numbers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adit_core.batch.formula_guard import unescaped
from adit_core.batch.report import Problem, column_letter

MAX_FILE_BYTES = 10 * 1024 * 1024
# An .xlsx is a zip: refuse one that would unpack to far more than any batch file needs.
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL_CHARS = 1024

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIXES = frozenset({".csv", ".txt"})


class TableError(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Table:
    headers: list[str]
    header_line: int
    rows: list[tuple[int, tuple[object, ...]]]  # (line, cells), empty rows left out
    format: str  # "xlsx" or "csv"
    problems: list[Problem]  # readable, but something is off (e.g. values without a header)


def read_table(path: Path) -> Table:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableError([Problem(None, None, f"cannot open {path}: {exc.strerror}")]) from None
    if size > MAX_FILE_BYTES:
        raise TableError(
            [
                Problem(
                    None,
                    None,
                    f"the file is {size / 1e6:.1f} MB; batch files may be at most "
                    f"{MAX_FILE_BYTES // (1024 * 1024)} MB (and {MAX_ROWS:,} rows): "
                    "split it into several files",
                )
            ]
        )
    suffix = path.suffix.lower()
    try:
        if suffix in XLSX_SUFFIXES:
            raw = _read_xlsx(path)
            fmt = "xlsx"
        elif suffix in CSV_SUFFIXES:
            raw = _read_csv(path)
            fmt = "csv"
    except OSError as exc:
        raise TableError([Problem(None, None, f"cannot read {path}: {exc.strerror}")]) from None
    if suffix not in XLSX_SUFFIXES | CSV_SUFFIXES:
        hint = " (old Excel format)" if suffix == ".xls" else ""
        raise TableError(
            [
                Problem(
                    None,
                    None,
                    f"unsupported file type {suffix or 'without extension'}{hint}: save it as "
                    "Excel Workbook (.xlsx) or CSV UTF-8 (.csv)",
                )
            ]
        )
    return _shape(raw, fmt)


def _too_many_rows() -> TableError:
    return TableError(
        [
            Problem(
                None,
                None,
                f"the file has more than {MAX_ROWS:,} rows; split it into several files",
            )
        ]
    )


FORMULA_WITHOUT_VALUE = "formula without a value: save the file in Excel or paste values"


class UncachedFormula:
    """An .xlsx cell holding a formula but no value computed for it.

    Excel saves every formula with its last computed value, and that value is what a batch
    file means. Files written by scripts (openpyxl, some exports) often carry only the
    formula; reading such a cell as empty once queued a study unpseudonymized, so the
    reader marks it and validation refuses it with its line and column.
    """

    __slots__ = ("formula",)

    def __init__(self, formula: str):
        self.formula = formula

    def __str__(self) -> str:
        return self.formula

    def __repr__(self) -> str:
        return f"UncachedFormula({self.formula!r})"


# An OLE compound file: old .xls, or an .xlsx that Office encrypted with a password (the
# zip then sits encrypted in a stream named EncryptedPackage).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def _not_a_workbook(path: Path) -> TableError:
    with path.open("rb") as handle:
        head = handle.read(len(_OLE_MAGIC))
        if head == _OLE_MAGIC:
            encrypted = _ENCRYPTED_PACKAGE in head + handle.read()
        else:
            encrypted = None
    if encrypted:
        message = (
            "the file is password-protected: open it in Excel, remove the password "
            "(File → Info → Protect Workbook → Encrypt with Password, empty it) and save it "
            "again; ADIT cannot read encrypted workbooks"
        )
    elif encrypted is False:
        message = (
            "this is an old Excel 97-2003 workbook (.xls) named .xlsx: open it in Excel or "
            "LibreOffice and save it as Excel Workbook (.xlsx)"
        )
    else:
        message = (
            "not a readable .xlsx file (a CSV or another file renamed?): open it in Excel "
            "or LibreOffice and save it as Excel Workbook (.xlsx)"
        )
    return TableError([Problem(None, None, message)])


def _read_xlsx(path: Path) -> list[tuple[int, tuple[object, ...]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _not_a_workbook(path) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise TableError(
            [Problem(None, None, "the workbook unpacks to more data than a batch file can hold")]
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TableError(
            [Problem(None, None, f"not a readable .xlsx file ({exc}); save it again from Excel")]
        ) from None
    try:
        if not workbook.worksheets:
            raise TableError([Problem(None, None, "the workbook has no worksheet")])
        rows: list[tuple[int, tuple[object, ...]]] = []
        for line, values in _sheet_rows(workbook, workbook.worksheets[0]):
            if any(v is not None and v != "" for v in values):
                rows.append((line, values))
                if len(rows) > MAX_ROWS + 1:
                    raise _too_many_rows()
        return rows
    finally:
        workbook.close()


def _sheet_rows(workbook: Any, sheet: Any) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Every row that has cells, by its row number: cached values, with formulas that have
    none marked as UncachedFormula. Reads the sheet once, streaming, with openpyxl's own
    cell parser (its public API gives either the formulas or the values, never both)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell: dict[str, Any] = super().parse_cell(element)
            formula = element.find(FORMULA_TAG)
            if formula is not None and cell["value"] is None:
                cached = element.find(VALUE_TAG)
                # <v></v> with t="str" is a cached empty string; openpyxl writes an empty
                # <v/> (and other writers no <v> at all) for a value never computed.
                if cached is None or (not cached.text and element.get("t") != "str"):
                    cell["value"] = UncachedFormula("=" + (formula.text or ""))
            return cell

    with sheet._get_source() as source:
        parser = Parser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for line, cells in parser.parse():
            if not cells:
                continue
            values: list[object] = [None] * max(c["column"] for c in cells)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield line, tuple(values)


def _read_csv(path: Path) -> list[tuple[int, tuple[object, ...]]]:
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise TableError(
            [Problem(None, None, "this is an Excel workbook named .csv; rename it to .xlsx")]
        )
    if data.startswith(_OLE_MAGIC):
        raise _not_a_workbook(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TableError(
            [
                Problem(
                    line,
                    None,
                    "the file is not UTF-8 text: in Excel choose Save As → "
                    "'CSV UTF-8 (Comma delimited)', in LibreOffice pick the UTF-8 character set",
                )
            ]
        ) from None
    delimiter = _sniff_delimiter(text)
    rows: list[tuple[int, tuple[object, ...]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for line, values in enumerate(reader, start=1):
            if any(v.strip() for v in values):
                rows.append((line, tuple(values)))
                if len(rows) > MAX_ROWS + 1:
                    raise _too_many_rows()
    except csv.Error as exc:
        raise TableError([Problem(reader.line_num, None, f"malformed CSV: {exc}")]) from None
    return rows


def _sniff_delimiter(text: str) -> str:
    """Comma or semicolon (what Excel writes in locales with a decimal comma), or tab:
    whichever occurs most often outside quotes in the first non-empty line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _shape(raw: list[tuple[int, tuple[object, ...]]], fmt: str) -> Table:
    if not raw:
        raise TableError(
            [Problem(None, None, "the file is empty: the first row must hold the column names")]
        )
    header_line, header_cells = raw[0]
    headers = [_header_text(c) for c in header_cells]
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)
    problems: list[Problem] = [
        Problem(header_line, None, FORMULA_WITHOUT_VALUE, column_letter(position))
        for position, cell in enumerate(header_cells)
        if isinstance(cell, UncachedFormula)
    ]
    orphans: dict[int, int] = {}  # column position → first line with a value but no header
    rows: list[tuple[int, tuple[object, ...]]] = []
    for line, cells in raw[1:]:
        for position, value in enumerate(cells):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if position >= width or not headers[position]:
                orphans.setdefault(position, line)
            elif isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                problems.append(
                    Problem(
                        line,
                        headers[position],
                        f"the value is {len(value)} characters long; at most "
                        f"{MAX_CELL_CHARS} are allowed",
                        column_letter(position),
                    )
                )
        padded = tuple(
            unescaped(v) if isinstance(v, str) and v.startswith("'") else v for v in cells[:width]
        ) + (None,) * max(0, width - len(cells))
        rows.append((line, padded))
    if len(rows) > MAX_ROWS:
        raise _too_many_rows()
    for position, line in sorted(orphans.items()):
        problems.append(
            Problem(
                line,
                None,
                "this column has values but no name in the header row; add the column name "
                "or delete the values",
                column_letter(position),
            )
        )
    return Table(headers, header_line, rows, fmt, problems)


def _header_text(value: object) -> str:
    return "" if value is None or isinstance(value, UncachedFormula) else str(value).strip()
