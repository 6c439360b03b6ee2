"""Validated batch files: one checked row per line of the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from adit_core.batch.report import BatchKind, Problem


@dataclass(frozen=True, slots=True)
class QueryRow:
    """One batch query: the patient, study filters and series filters of one line."""

    line: int
    patient_id: str = ""
    patient_name: str = ""  # DICOM form, Last^First
    patient_birth_date: date | None = None
    accession_number: str = ""
    study_date_from: date | None = None
    study_date_until: date | None = None
    modalities: tuple[str, ...] = ()
    study_description: str = ""  # case-insensitive regular expression
    series_description: str = ""  # case-insensitive regular expression
    series_numbers: tuple[int, ...] = ()
    pseudonym: str = ""

    @property
    def series_level(self) -> bool:
        return bool(self.series_description or self.series_numbers)


@dataclass(frozen=True, slots=True)
class TransferRow:
    line: int
    patient_id: str
    study_uid: str
    series_uids: tuple[str, ...] = ()
    pseudonym: str = ""


@dataclass
class QueryBatch:
    path: Path
    rows: list[QueryRow]
    warnings: list[Problem] = field(default_factory=list)

    kind = BatchKind.QUERY
    ok = True


@dataclass
class TransferBatch:
    path: Path
    rows: list[TransferRow]
    warnings: list[Problem] = field(default_factory=list)
    # Lines of an exported batch query that name no study (failed or empty queries).
    skipped: list[Problem] = field(default_factory=list)

    kind = BatchKind.TRANSFER
    ok = True


BatchFile = QueryBatch | TransferBatch
