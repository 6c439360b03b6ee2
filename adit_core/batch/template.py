"""`adit batch template`: example batch files whose ID columns are Text cells.

The first sheet holds the header and example rows; a second sheet ("Help") explains each
column. Only the first sheet is read back.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adit_core.batch.columns import ID_COLUMNS, QUERY_COLUMNS, TRANSFER_COLUMNS, UID_COLUMNS
from adit_core.batch.report import BatchKind
from adit_core.batch.spreadsheet import write_table

_QUERY_EXAMPLES: list[list[object]] = [
    ["0012345", "", None, "", date(2023, 1, 1), date(2024, 12, 31), "CT, MR", "", "", "",
     "SUBJ001"],
    ["", "Müller, Jürgen", date(1965, 3, 12), "", None, None, "MR", "knie", "", "", "SUBJ001"],
    ["000042", "", None, "0012345678", None, None, "", "", "^t1|flair", "", "SUBJ003"],
    ["0098765", "", None, "", None, None, "CT", "", "", "1, 2", "SUBJ004"],
]  # fmt: skip
_TRANSFER_EXAMPLES: list[list[object]] = [
    ["0012345", "1.2.826.0.1.3680043.8.498.10001", "", "SUBJ001"],
    ["000042", "1.2.826.0.1.3680043.8.498.10002", "1.2.826.0.1.3680043.8.498.10002.1", "SUBJ003"],
    ["000042", "1.2.826.0.1.3680043.8.498.10002", "1.2.826.0.1.3680043.8.498.10002.2", "SUBJ003"],
]

_COMMON_HELP = [
    ["Rules", "One row per line; empty rows are skipped. Column names ignore case and spaces."],
    ["IDs", "Keep ID columns as Text so leading zeros survive (0012345 is not 12345)."],
    ["Dates", "YYYY-MM-DD, YYYYMMDD, DD.MM.YYYY or date cells; 03/01/2024 is ambiguous."],
]
_QUERY_HELP = [
    ["Column", "Meaning"],
    ["PatientID", "The patient's ID in the PACS. Or give PatientName and PatientBirthDate."],
    ["PatientName", "Last, First (or Last^First). Needs PatientBirthDate when no PatientID."],
    ["PatientBirthDate", "The patient's birth date."],
    ["AccessionNumber", "The study's accession number (up to 32 characters)."],
    ["From", "Only studies on or after this date."],
    ["Until", "Only studies on or before this date."],
    ["Modality", "Required unless AccessionNumber is given; several: CT, MR."],
    ["StudyDescription", "Case-insensitive regular expression, matched anywhere."],
    ["SeriesDescription", "Case-insensitive regular expression; lists matching series."],
    ["SeriesNumber", "Series numbers, separated by commas; lists those series."],
    ["Pseudonym", "Used by a later batch transfer; one per patient."],
    *_COMMON_HELP,
]
_TRANSFER_HELP = [
    ["Column", "Meaning"],
    ["PatientID", "Required. The patient's ID in the PACS."],
    ["StudyInstanceUID", "Required. The study to transfer."],
    ["SeriesInstanceUID", "Optional: only these series (several per cell or several rows)."],
    ["Pseudonym", "Optional: pseudonymize as this; one per patient; every line or none."],
    ["Grouping", "A study with any row without series is transferred whole."],
    *_COMMON_HELP,
]


def write_template(kind: BatchKind | str, path: Path | str) -> Path:
    kind = BatchKind(kind)
    path = Path(path)
    header: tuple[str, ...]
    if kind is BatchKind.QUERY:
        header, rows, help_rows = QUERY_COLUMNS, _QUERY_EXAMPLES, _QUERY_HELP
    else:
        header, rows, help_rows = TRANSFER_COLUMNS, _TRANSFER_EXAMPLES, _TRANSFER_HELP
    write_table(
        path,
        header,
        rows,
        text_columns=ID_COLUMNS | UID_COLUMNS | {"PatientName", "Modality", "SeriesNumber"},
        widths={"StudyInstanceUID": 40, "SeriesInstanceUID": 40, "PatientName": 20},
        sheet_title="Batch query" if kind is BatchKind.QUERY else "Batch transfer",
        extra_sheets={"Help": help_rows},
    )
    return path
