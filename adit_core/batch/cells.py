"""Turning one cell into a checked value, or a message that says what to fix.

Each function takes the raw cell (str from CSV; str, int, float, datetime or bool from
xlsx) and raises CellError with a message fit for the user. What a value may be is the
field's rule (`adit_core.fields`); what is particular to spreadsheets (numbers that lost
leading zeros, date cells, Excel error values) is decided here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from adit_core import fields
from adit_core.batch.table import FORMULA_WITHOUT_VALUE, UncachedFormula
from adit_core.dates import parse_date
from adit_core.dicom.query import dicom_person_name
from adit_core.fields import Field


class CellError(ValueError):
    pass


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UID_SEPARATORS = re.compile(r"[\s,;]+")
# A cell holding several UIDs: the whole cell follows the text rules before it is split.
_UID_LIST = Field("series_uids", "SeriesInstanceUID", "UI", 64 * 1000)


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


def _cell_text(value: object) -> str:
    """The cell as the text a person would read in it."""
    if isinstance(value, bool):
        raise CellError("a TRUE/FALSE cell; type the value as text")
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime | date | time):
        raise CellError(f"Excel stored this as a date/time ({value}); format the column as Text")
    return str(value).strip()


def field_value(value: object, field: Field) -> str:
    """A cell checked by its field's rule (an exact value: no wildcards where the field
    allows them only in searches)."""
    if is_empty(value):
        return ""
    result = _cell_text(value)
    problem = field.problem(result)
    if problem is not None:
        raise CellError(problem)
    return result


def _number(value: object) -> int | float | None:
    """The cell's number, if it is a number cell (TRUE/FALSE cells are not)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def identifier(value: object, field: Field) -> str:
    """An ID: a number cell in xlsx may have lost its leading zeros, so it is refused."""
    number = _number(value)
    if number is not None:
        raise CellError(
            f"{field.label} {_number_text(number)} is stored as a number, so leading zeros may "
            "have been lost: format the column as Text (Format Cells → Text, or type ' "
            "before the value) and enter the IDs again exactly as the PACS has them"
        )
    return field_value(value, field)


def uid(value: object, field: Field) -> str:
    number = _number(value)
    if number is not None:
        raise CellError(
            f"{field.label} is stored as a number ({_number_text(number)}); format the column as "
            "Text and paste the UID again"
        )
    return field_value(value, field)


def uid_list(value: object, field: Field) -> tuple[str, ...]:
    """One or several UIDs in one cell, separated by commas, semicolons or spaces."""
    if _number(value) is not None:
        return (uid(value, field),)
    raw = field_value(value, _UID_LIST)
    return tuple(dict.fromkeys(uid(part, field) for part in _UID_SEPARATORS.split(raw) if part))


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
    try:
        return parse_date(str(value).strip())
    except ValueError as exc:
        raise CellError(str(exc)) from None


def person_name(value: object) -> str:
    """``Last, First`` (or DICOM ``Last^First``) → ``Last^First``."""
    return dicom_person_name(field_value(value, fields.PATIENT_NAME))


def modalities(value: object) -> tuple[str, ...]:
    if is_empty(value):
        return ()
    try:
        return fields.modality_list(_cell_text(value))
    except fields.FieldError as exc:
        raise CellError(exc.problem) from None


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
    for part in _cell_text(value).split(","):
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
