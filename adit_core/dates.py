"""Dates as people type them and as DICOM wants them."""

from __future__ import annotations

import re
from datetime import date, datetime

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLASHED = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
_SHORT_YEAR = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}$")
_FORMATS = (
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
)


def parse_date(text: str) -> date:
    """Parse ISO (2024-03-01), DICOM (20240301) or German (01.03.2024) dates.

    Raises ValueError with a message fit for a user. Formats such as 03/01/2024 are refused
    on purpose: month and day order is ambiguous; so are two-digit years.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    # An Excel date cell read as text looks like "2024-03-01 00:00:00".
    if re.match(r"^\d{4}-\d{2}-\d{2} 00:00:00$", value):
        value = value[:10]
    if _ISO.match(value):  # the common case, without strptime's cost
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"impossible date {text!r}") from None
    if _SLASHED.match(value):
        raise ValueError(
            f"ambiguous date {value!r} (is the first number the day or the month?): "
            "write it as YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY"
        )
    if _SHORT_YEAR.match(value):
        raise ValueError(f"date {value!r} has a two-digit year; write the year in full")
    for pattern, fmt in _FORMATS:
        if pattern.match(value):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                raise ValueError(f"impossible date {text!r}") from None
    raise ValueError(f"unrecognised date {text!r}; use YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY")


def to_dicom_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def from_dicom_date(value: str) -> date | None:
    value = (value or "").strip()
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
