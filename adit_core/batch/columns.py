"""The columns of batch files and how headers are matched to them.

Headers match regardless of case, spaces, underscores and hyphens ("patient_id",
"Patient ID" and "PATIENTID" are all PatientID). An unknown header is an error that
suggests the closest valid name: ADIT ignored unknown columns, so a misspelled "Modalty"
silently queried every modality.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from adit_core.batch.report import BatchKind, Problem, column_letter

QUERY_COLUMNS = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "AccessionNumber",
    "From",
    "Until",
    "Modality",
    "StudyDescription",
    "SeriesDescription",
    "SeriesNumber",
    "Pseudonym",
)
TRANSFER_COLUMNS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Pseudonym")

# A batch query export, in this order (ADIT's result columns, then ours).
EXPORT_STUDY_COLUMNS = (
    "Pseudonym",
    "PatientID",
    "PatientName",
    "BirthDate",
    "ModalitiesInStudy",
    "StudyDate",
    "StudyTime",
    "StudyDescription",
    "NumberOfStudyRelatedInstances",
    "AccessionNumber",
    "StudyInstanceUID",
)
EXPORT_SERIES_COLUMNS = ("SeriesInstanceUID", "SeriesDescription", "SeriesNumber")
EXPORT_TRAILING_COLUMNS = ("QueryLine", "Status", "Error")

# Export columns a batch transfer file may carry without them meaning anything, so that an
# export can be fed back unchanged.
TRANSFER_INFORMATIONAL = tuple(
    c
    for c in EXPORT_STUDY_COLUMNS + EXPORT_SERIES_COLUMNS + EXPORT_TRAILING_COLUMNS
    if c not in TRANSFER_COLUMNS
)

# Columns whose values are identifiers: numbers in them may have lost leading zeros.
ID_COLUMNS = frozenset({"PatientID", "AccessionNumber", "Pseudonym"})
UID_COLUMNS = frozenset({"StudyInstanceUID", "SeriesInstanceUID"})

_IGNORED_IN_HEADERS = re.compile(r"[\s_\-\u00a0\ufeff]+")


def normalize(header: str) -> str:
    return _IGNORED_IN_HEADERS.sub("", header).lower()


def columns_of(kind: BatchKind) -> tuple[str, ...]:
    return QUERY_COLUMNS if kind is BatchKind.QUERY else TRANSFER_COLUMNS


@dataclass
class ColumnMap:
    """Which file column holds which canonical column."""

    index: dict[str, int]  # canonical name → 0-based position
    spelled: dict[str, str]  # canonical name → the header as the file spells it

    def problem(self, line: int | None, column: str, message: str) -> Problem:
        position = self.index.get(column)
        letter = column_letter(position) if position is not None else None
        return Problem(line, self.spelled.get(column, column), message, letter)


def match_headers(
    headers: list[str], kind: BatchKind, header_line: int
) -> tuple[ColumnMap, list[Problem]]:
    """Map the header row to canonical columns; report unknown, repeated and missing ones."""
    valid = columns_of(kind)
    accepted = valid + (TRANSFER_INFORMATIONAL if kind is BatchKind.TRANSFER else ())
    by_key = {normalize(c): c for c in accepted}
    index: dict[str, int] = {}
    spelled: dict[str, str] = {}
    problems: list[Problem] = []
    for position, header in enumerate(headers):
        text = header.strip()
        if not text:
            continue  # the reader reports empty headers over columns with values
        letter = column_letter(position)
        canonical = by_key.get(normalize(text))
        if canonical is None:
            problems.append(Problem(header_line, text, _unknown(text, kind, valid), letter))
            continue
        if canonical in index:
            first = column_letter(index[canonical])
            problems.append(
                Problem(
                    header_line,
                    text,
                    f"{canonical} appears twice (columns {first} and {letter}); keep one",
                    letter,
                )
            )
            continue
        index[canonical] = position
        spelled[canonical] = text
    if not index and any(h.strip() for h in headers):
        problems.append(
            Problem(
                header_line,
                None,
                "no known column names in the first row; the first non-empty row must be the "
                f"header ({', '.join(valid)})",
            )
        )
    else:
        problems += _missing(index, kind, header_line)
    return ColumnMap(index, spelled), problems


def _unknown(header: str, kind: BatchKind, valid: tuple[str, ...]) -> str:
    other = BatchKind.TRANSFER if kind is BatchKind.QUERY else BatchKind.QUERY
    other_names = {normalize(c): c for c in columns_of(other)}
    if normalize(header) in other_names:
        return (
            f"unknown column {header!r}: {other_names[normalize(header)]} belongs in a "
            f"{other.label} file (is this the right kind of file?)"
        )
    keys = {normalize(c): c for c in valid}
    close = difflib.get_close_matches(normalize(header), list(keys), n=1, cutoff=0.6)
    if close:
        return f"unknown column {header!r}; did you mean {keys[close[0]]}?"
    return f"unknown column {header!r}; valid columns are {', '.join(valid)}"


def _missing(index: dict[str, int], kind: BatchKind, header_line: int) -> list[Problem]:
    def missing(message: str) -> Problem:
        return Problem(header_line, None, message)

    problems = []
    if kind is BatchKind.TRANSFER:
        for column in ("PatientID", "StudyInstanceUID"):
            if column not in index:
                problems.append(missing(f"missing column {column} (it is required)"))
        return problems
    if "PatientID" not in index and not {"PatientName", "PatientBirthDate"} <= index.keys():
        problems.append(
            missing(
                "missing column PatientID (or both PatientName and PatientBirthDate): "
                "every row must name its patient"
            )
        )
    if "Modality" not in index and "AccessionNumber" not in index:
        problems.append(
            missing("missing column Modality (required unless rows give an AccessionNumber)")
        )
    return problems
