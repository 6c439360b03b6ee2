"""Validating a whole batch file before anything is queued.

Every problem is collected (cell formats, row rules, file-wide consistency) so the user
fixes the file once, not once per error. A file with any problem yields a
ValidationReport and no rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TypeVar

from adit_core import fields
from adit_core.batch import cells
from adit_core.batch.columns import ColumnMap, match_headers
from adit_core.batch.report import BatchKind, Problem, ValidationReport
from adit_core.batch.rows import BatchFile, QueryBatch, QueryRow, TransferBatch, TransferRow
from adit_core.batch.table import TableError, read_table

T = TypeVar("T")
# Empty defaults of list cells, typed (a bare () would be the type of an empty tuple).
NO_TEXTS: tuple[str, ...] = ()
NO_NUMBERS: tuple[int, ...] = ()


def validate_file(path: Path | str, kind: BatchKind | str) -> BatchFile | ValidationReport:
    """Read and check a batch file: the rows when it is valid, else every problem in it."""
    path = Path(path)
    kind = BatchKind(kind)
    try:
        table = read_table(path)
    except TableError as exc:
        return ValidationReport(path, kind, exc.problems)
    columns, header_problems = match_headers(table.headers, kind, table.header_line)
    problems = header_problems + table.problems
    if not table.rows:
        problems.append(Problem(None, None, "the file has a header row but no data rows below it"))
    header_complete = not any(p.column is None for p in header_problems)
    checker = _RowChecker(columns, header_complete)
    batch: BatchFile
    if kind is BatchKind.QUERY:
        query_rows = [checker.query_row(line, values) for line, values in table.rows]
        valid_queries = [r for r in query_rows if r is not None]
        checker.pseudonyms_on_every_line(kind)
        checker.patient_pseudonyms((r.line, r.patient_id, r.pseudonym) for r in valid_queries)
        checker.repeated_rows(valid_queries)
        batch = QueryBatch(path, valid_queries, checker.warnings)
    else:
        has_status = "Status" in columns.index
        transfer_rows = [
            checker.transfer_row(line, values, exported=has_status) for line, values in table.rows
        ]
        valid_transfers = [r for r in transfer_rows if r is not None]
        checker.pseudonyms_on_every_line(kind)
        checker.study_patients(valid_transfers)
        checker.patient_pseudonyms((r.line, r.patient_id, r.pseudonym) for r in valid_transfers)
        batch = TransferBatch(path, valid_transfers, checker.warnings, checker.skipped)
        if table.rows and not valid_transfers and not checker.problems and not problems:
            problems.append(Problem(None, None, "no line of the file names a study to transfer"))
    problems += checker.problems
    if problems:
        return ValidationReport(
            path, kind, _ordered(problems), checker.warnings, rows_read=len(table.rows)
        )
    return batch


def _ordered(problems: list[Problem]) -> list[Problem]:
    """File-wide problems first, then by line (stable, so a line's cells stay in order)."""
    return sorted(problems, key=lambda p: -1 if p.line is None else p.line)


def _lines(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:10]))
    more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}{more}"


class _RowChecker:
    def __init__(self, columns: ColumnMap, header_complete: bool):
        self.columns = columns
        self.header_complete = header_complete
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.skipped: list[Problem] = []
        self.today = date.today()
        # (line, pseudonym) of every line that counts, whatever else is wrong with it.
        self.pseudonyms: list[tuple[int, str]] = []
        self.pseudonymized = False  # some line has a pseudonym: every line needs one

    # -- cells -------------------------------------------------------------------------

    def _cell(
        self,
        line: int,
        values: tuple[object, ...],
        column: str,
        convert: Callable[[object], T],
        default: T,
        failed: set[str],
    ) -> T:
        position = self.columns.index.get(column)
        if position is None:
            return default
        try:
            return convert(cells.computed(values[position]))
        except cells.CellError as exc:
            self.problems.append(self.columns.problem(line, column, str(exc)))
            failed.add(column)
            return default

    def _row_problem(self, line: int, column: str | None, message: str) -> None:
        if column is not None:
            self.problems.append(self.columns.problem(line, column, message))
        else:
            self.problems.append(Problem(line, None, message))

    # -- batch query -------------------------------------------------------------------

    def query_row(self, line: int, values: tuple[object, ...]) -> QueryRow | None:
        failed: set[str] = set()

        def cell(column: str, convert: Callable[[object], T], default: T) -> T:
            return self._cell(line, values, column, convert, default, failed)

        patient_id = cell("PatientID", lambda v: cells.identifier(v, fields.PATIENT_ID), "")
        patient_name = cell("PatientName", cells.person_name, "")
        birth_date = cell("PatientBirthDate", cells.date_value, None)
        if birth_date and birth_date > self.today:
            self._row_problem(line, "PatientBirthDate", f"birth date {birth_date} is in the future")
            failed.add("PatientBirthDate")
        accession = cell(
            "AccessionNumber", lambda v: cells.identifier(v, fields.ACCESSION_NUMBER), ""
        )
        date_from = cell("From", cells.date_value, None)
        date_until = cell("Until", cells.date_value, None)
        if date_from and date_until and date_from > date_until:
            self._row_problem(
                line, "Until", f"Until ({date_until}) is before From ({date_from}); swap them"
            )
            failed.add("Until")
        modalities = cell("Modality", cells.modalities, NO_TEXTS)
        study_description = cell("StudyDescription", cells.regex, "")
        series_description = cell("SeriesDescription", cells.regex, "")
        series_numbers = cell("SeriesNumber", cells.series_numbers, NO_NUMBERS)
        pseudonym = self._pseudonym(line, cell)
        if self.header_complete:
            patient_given = patient_id or (patient_name and birth_date)
            patient_failed = failed & {"PatientID", "PatientName", "PatientBirthDate"}
            if not patient_given and not patient_failed:
                missing = (
                    "PatientBirthDate is missing"
                    if patient_name
                    else "PatientName is missing"
                    if birth_date
                    else "all three are empty"
                )
                self._row_problem(
                    line,
                    None,
                    "the patient is not identified: give a PatientID, or a PatientName together "
                    f"with a PatientBirthDate ({missing})",
                )
                failed.add("patient")
            if not modalities and not accession and not failed & {"Modality", "AccessionNumber"}:
                self._row_problem(
                    line, "Modality", "missing Modality (required unless the row has an "
                    "AccessionNumber); several may be given, separated by commas"
                )  # fmt: skip
                failed.add("Modality")
        if failed:
            return None
        return QueryRow(
            line=line,
            patient_id=patient_id,
            patient_name=patient_name,
            patient_birth_date=birth_date,
            accession_number=accession,
            study_date_from=date_from,
            study_date_until=date_until,
            modalities=modalities,
            study_description=study_description,
            series_description=series_description,
            series_numbers=series_numbers,
            pseudonym=pseudonym,
        )

    def repeated_rows(self, rows: list[QueryRow]) -> None:
        seen: dict[tuple[object, ...], int] = {}
        for row in rows:
            key = (
                row.patient_id, row.patient_name, row.patient_birth_date, row.accession_number,
                row.study_date_from, row.study_date_until, row.modalities, row.study_description,
                row.series_description, row.series_numbers, row.pseudonym,
            )  # fmt: skip
            first = seen.setdefault(key, row.line)
            if first != row.line:
                self.warnings.append(
                    Problem(row.line, None, f"repeats line {first}; it will be queried twice")
                )

    # -- batch transfer ----------------------------------------------------------------

    def transfer_row(
        self, line: int, values: tuple[object, ...], *, exported: bool
    ) -> TransferRow | None:
        failed: set[str] = set()

        def cell(column: str, convert: Callable[[object], T], default: T) -> T:
            return self._cell(line, values, column, convert, default, failed)

        study_uid = cell("StudyInstanceUID", lambda v: cells.uid(v, fields.STUDY_UID), "")
        if exported and not study_uid and not failed:
            # A batch query export lists failed and empty queries too; they name no study.
            status = self._plain(values, "Status") or "no status"
            error = self._plain(values, "Error")
            why = f"{status}: {error}" if error else status
            self.skipped.append(Problem(line, None, f"skipped, no study to transfer ({why})"))
            return None
        patient_id = cell("PatientID", lambda v: cells.identifier(v, fields.PATIENT_ID), "")
        series = cell("SeriesInstanceUID", lambda v: cells.uid_list(v, fields.SERIES_UID), NO_TEXTS)
        pseudonym = self._pseudonym(line, cell)
        if self.header_complete:
            if not patient_id and "PatientID" not in failed:
                self._row_problem(line, "PatientID", "missing PatientID (required)")
                failed.add("PatientID")
            if not study_uid and "StudyInstanceUID" not in failed:
                self._row_problem(line, "StudyInstanceUID", "missing StudyInstanceUID (required)")
                failed.add("StudyInstanceUID")
        if failed:
            return None
        return TransferRow(
            line=line, patient_id=patient_id, study_uid=study_uid, series_uids=series,
            pseudonym=pseudonym,
        )  # fmt: skip

    def _pseudonym(
        self, line: int, cell: Callable[[str, Callable[[object], str], str], str]
    ) -> str:
        failures = len(self.problems)
        pseudonym = cell("Pseudonym", lambda v: cells.identifier(v, fields.PSEUDONYM), "")
        if "Pseudonym" in self.columns.index and len(self.problems) == failures:
            self.pseudonyms.append((line, pseudonym))
        return pseudonym

    def _plain(self, values: tuple[object, ...], column: str) -> str:
        position = self.columns.index.get(column)
        if position is None or values[position] is None:
            return ""
        return str(values[position]).strip()

    # -- file-wide consistency ---------------------------------------------------------

    def study_patients(self, rows: list[TransferRow]) -> None:
        patients: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            patients[row.study_uid][row.patient_id].append(row.line)
        for study_uid, by_patient in patients.items():
            if len(by_patient) > 1:
                listed = "; ".join(f"{pid!r} on {_lines(ls)}" for pid, ls in by_patient.items())
                second = list(by_patient.values())[1][0]
                self._row_problem(
                    second,
                    "PatientID",
                    f"StudyInstanceUID {study_uid} is given with different PatientIDs "
                    f"({listed}); a study belongs to one patient",
                )

    def pseudonyms_on_every_line(self, kind: BatchKind) -> None:
        """A pseudonymized file (one in which any line gives a Pseudonym) needs one on every
        line: a line left empty, or a formula that came out empty, would otherwise send its
        study unpseudonymized without anyone noticing."""
        given = [line for line, pseudonym in self.pseudonyms if pseudonym]
        empty = [line for line, pseudonym in self.pseudonyms if not pseudonym]
        self.pseudonymized = bool(given)
        if given and empty:
            for line in empty:
                self._row_problem(
                    line,
                    "Pseudonym",
                    f"empty, but other lines of this file have a pseudonym ({_lines(given)}): "
                    "give every line its pseudonym (a file either pseudonymizes every study "
                    "or none)",
                )
        elif empty and kind is BatchKind.TRANSFER:
            self.warnings.append(
                self.columns.problem(
                    None,
                    "Pseudonym",
                    "empty on every line: the studies will be transferred as they are, "
                    "not pseudonymized",
                )
            )

    def patient_pseudonyms(self, rows: Iterable[tuple[int, str, str]]) -> None:
        by_patient: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        by_pseudonym: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for line, patient_id, pseudonym in rows:
            if patient_id and (pseudonym or not self.pseudonymized):  # else reported above
                by_patient[patient_id][pseudonym].append(line)
                if pseudonym:
                    by_pseudonym[pseudonym][patient_id].append(line)
        for patient_id, pseudonyms in by_patient.items():
            if len(pseudonyms) > 1:
                listed = "; ".join(
                    f"{(repr(p) if p else 'none')} on {_lines(ls)}" for p, ls in pseudonyms.items()
                )
                second = list(pseudonyms.values())[1][0]
                self._row_problem(
                    second,
                    "Pseudonym",
                    f"PatientID {patient_id!r} has different pseudonyms ({listed}); "
                    "give each patient one pseudonym on every line",
                )
        for pseudonym, patients in by_pseudonym.items():
            if len(patients) > 1:
                listed = "; ".join(f"{pid!r} on {_lines(ls)}" for pid, ls in patients.items())
                second = list(patients.values())[1][0]
                self.warnings.append(
                    self.columns.problem(
                        second,
                        "Pseudonym",
                        f"pseudonym {pseudonym!r} is used for several PatientIDs ({listed}); "
                        "their data will look like one patient's (fine if they are one person)",
                    )
                )
