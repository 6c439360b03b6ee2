"""Turning one cell into a checked value, or a message that says what to fix.

Each function takes the raw cell (str from CSV; str, int, float, datetime or bool from
xlsx) and raises CellError with a message fit for the user.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from adit_core.batch.table import FORMULA_WITHOUT_VALUE, UncachedFormula
from adit_core.dates import parse_date
from adit_core.dicom.query import dicom_person_name


class CellError(ValueError):
    pass


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MODALITY = re.compile(r"^[A-Z]{1,16}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLASH_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
_SHORT_YEAR = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}$")
_UID_SEPARATORS = re.compile(r"[\s,;]+")


_EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)


def computed(value: object) -> object:
    """The value a cell shows: a formula counts by its computed value, and one that has
    none (the file was written by a program that does not calculate) is refused rather
    than read as empty."""
    if isinstance(value, UncachedFormula):
        raise CellError(f"{FORMULA_WITHOUT_VALUE} ({value.formula})")
    return not_an_excel_error(value)


def not_an_excel_error(value: object) -> object:
    if isinstance(value, str) and value.strip().upper() in _EXCEL_ERRORS:
        raise CellError(
            f"the cell shows the Excel error {value.strip()}; fix the formula or type the value"
        )
    return value


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text(value: object, *, max_length: int, wildcards_allowed: bool = False) -> str:
    """Free text: no backslash (the DICOM value separator), no control characters, and
    (as in ADIT) no * or ? where the value goes into a query as it is."""
    if is_empty(value):
        return ""
    if isinstance(value, bool):
        raise CellError("a TRUE/FALSE cell; type the value as text")
    if isinstance(value, int | float):
        result = _number_text(value)
    elif isinstance(value, datetime | date | time):
        raise CellError(f"Excel stored this as a date/time ({value}); format the column as Text")
    else:
        result = str(value).strip()
    if "\\" in result:
        raise CellError("must not contain a backslash (\\)")
    if _CONTROL.search(result):
        raise CellError("must not contain line breaks, tabs or other control characters")
    if not wildcards_allowed and ("*" in result or "?" in result):
        raise CellError("must not contain * or ? (wildcards are not allowed here)")
    if len(result) > max_length:
        raise CellError(f"is {len(result)} characters long; at most {max_length} are allowed")
    return result


def identifier(value: object, column: str, *, max_length: int) -> str:
    """An ID: a number cell in xlsx may have lost its leading zeros, so it is refused."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(
            f"{column} {_number_text(value)} is stored as a number, so leading zeros may "
            "have been lost: format the column as Text (Format Cells → Text, or type ' "
            "before the value) and enter the IDs again exactly as the PACS has them"
        )
    return text(value, max_length=max_length)


def uid(value: object, column: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise CellError(
            f"{column} is stored as a number ({_number_text(value)}); format the column as "
            "Text and paste the UID again"
        )
    result = text(value, max_length=64)
    if result and not _UID.match(result):
        raise CellError(
            f"{result!r} is not a valid UID: digits separated by single dots, at most 64 characters"
        )
    return result


def uid_list(value: object, column: str) -> tuple[str, ...]:
    """One or several UIDs in one cell, separated by commas, semicolons or spaces."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (uid(value, column),)
    raw = text(value, max_length=64 * 1000)
    return tuple(dict.fromkeys(uid(part, column) for part in _UID_SEPARATORS.split(raw) if part))


def date_value(value: object) -> date | None:
    if is_empty(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        raise CellError("a time of day, not a date; enter the date as YYYY-MM-DD")
    if isinstance(value, bool):
        raise CellError("a TRUE/FALSE cell, not a date; enter the date as YYYY-MM-DD")
    if isinstance(value, int | float):
        digits = _number_text(value)
        if len(digits) != 8:
            raise CellError(
                f"the number {digits} is not a date: format the cell as a date, or type the "
                "date as YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"
            )
        value = digits
    raw = str(value).strip()
    if _SLASH_DATE.match(raw):
        raise CellError(
            f"ambiguous date {raw!r} (is the first number the day or the month?): "
            "write it as YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"
        )
    if _SHORT_YEAR.match(raw):
        raise CellError(f"date {raw!r} has a two-digit year; write the year in full")
    if _ISO_DATE.match(raw):  # the common case, without strptime's cost
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CellError(f"impossible date {raw!r}") from None
    try:
        return parse_date(raw)
    except ValueError as exc:
        raise CellError(str(exc)) from None


def person_name(value: object) -> str:
    """``Last, First`` (or DICOM ``Last^First``) → ``Last^First``."""
    return dicom_person_name(text(value, max_length=256))


def modalities(value: object) -> tuple[str, ...]:
    raw = text(value, max_length=200)
    found: list[str] = []
    for part in raw.split(","):
        item = part.strip().upper()
        if not item:
            continue
        if not _MODALITY.match(item):
            raise CellError(
                f"{part.strip()!r} is not a modality: use letters only (e.g. CT, MR), "
                "several separated by commas"
            )
        found.append(item)
    return tuple(dict.fromkeys(found))


def series_numbers(value: object) -> tuple[int, ...]:
    if is_empty(value):
        return ()
    if isinstance(value, bool):
        raise CellError("a TRUE/FALSE cell; type the series numbers, separated by commas")
    if isinstance(value, int):
        return (value,)
    if isinstance(value, float):
        if value.is_integer():
            return (int(value),)
        raise CellError(f"{value} is not a whole number")
    numbers: list[int] = []
    for part in text(value, max_length=1000).split(","):
        item = part.strip()
        if not item:
            continue
        try:
            numbers.append(int(item))
        except ValueError:
            raise CellError(
                f"{item!r} is not a series number: whole numbers, separated by commas"
            ) from None
    return tuple(dict.fromkeys(numbers))


def regex(value: object) -> str:
    """A case-insensitive regular expression, matched anywhere in the description."""
    if is_empty(value):
        return ""
    raw = str(value).strip()
    if _CONTROL.search(raw):
        raise CellError("must not contain line breaks, tabs or other control characters")
    if len(raw) > 256:
        raise CellError(f"is {len(raw)} characters long; at most 256 are allowed")
    try:
        re.compile(raw, re.IGNORECASE)
    except re.error as exc:
        hint = ""
        if raw.startswith(("*", "?", "+")):
            hint = (
                " (this is a regular expression, not a wildcard pattern: write .* instead "
                "of *, or just the word, e.g. thorax)"
            )
        raise CellError(f"{raw!r} is not a valid regular expression: {exc}{hint}") from None
    return raw
