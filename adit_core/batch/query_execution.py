"""Answering one batch query line against a source, by the rules of ADIT's batch query:

1. Find the patient. By PatientID: nobody, several, or a PatientName/PatientBirthDate that
   disagrees with the source is an error. By name and birth date: several patients are
   allowed, with the warning "Indistinct patients".
2. Find the patient's studies (one search per modality, merged), drop duplicates, keep
   those whose StudyDescription matches, sort by date and time.
3. With SeriesDescription or SeriesNumber, find each study's series (one search per series
   number), keep those whose SeriesDescription matches, sort by number.
4. Nothing found is still a success, with a note.

Descriptions are case-insensitive regular expressions matched anywhere in the value (as
ADIT's documentation promises; its code used wildcards).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydicom import Dataset

from adit_core.batch.rows import QueryRow
from adit_core.dates import from_dicom_date
from adit_core.dicom.query import DateRange, Level, Query, element_values

FindFunction = Callable[[Query], list[Dataset]]


class BatchQueryError(Exception):
    """The line cannot be answered as asked (unknown patient, mismatching data)."""


@dataclass
class FoundRow:
    """One export row: a study, or a series of it. DICOM values as the source sent them."""

    patient_id: str
    patient_name: str
    patient_birth_date: str
    modalities_in_study: str
    study_date: str
    study_time: str
    study_description: str
    number_of_study_related_instances: int | None
    accession_number: str
    study_instance_uid: str
    series_instance_uid: str = ""
    series_description: str = ""
    series_number: int | None = None


@dataclass
class QueryAnswer:
    rows: list[FoundRow]
    message: str
    warnings: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def answer_query(
    row: QueryRow, find: FindFunction, *, check_cancel: Callable[[], None] = lambda: None
) -> QueryAnswer:
    patients, warnings = _patients(row, find)
    log = [f"Patient {_describe(p)}" for p in patients]
    studies: dict[str, Dataset] = {}
    study_pattern = _pattern(row.study_description)
    dates = (
        DateRange(row.study_date_from, row.study_date_until)
        if row.study_date_from or row.study_date_until
        else None
    )
    for patient in patients:
        check_cancel()
        query = Query(
            level=Level.STUDY,
            patient_id=_text(patient.get("PatientID")),
            accession_number=row.accession_number,
            study_date=dates,
            modalities=row.modalities,
        )
        for study in find(query):
            uid = _text(study.get("StudyInstanceUID"))
            if not uid or uid in studies:
                continue
            if study_pattern and not study_pattern.search(_text(study.get("StudyDescription"))):
                continue
            studies[uid] = study
    ordered = sorted(
        studies.values(),
        key=lambda s: (
            _text(s.get("StudyDate")),
            _text(s.get("StudyTime")),
            _text(s.StudyInstanceUID),
        ),
    )
    log.append(f"{len(ordered)} matching studies")
    if not row.series_level:
        found = [_study_row(s) for s in ordered]
        message = _count(len(found), "study", "studies") + " found." if found else ""
    else:
        found = []
        series_pattern = _pattern(row.series_description)
        for study in ordered:
            check_cancel()
            query = Query(
                level=Level.SERIES,
                patient_id=_text(study.get("PatientID")),
                study_instance_uid=_text(study.StudyInstanceUID),
                series_numbers=row.series_numbers,
            )
            matching = [
                s
                for s in find(query)
                if not series_pattern or series_pattern.search(_text(s.get("SeriesDescription")))
            ]
            matching.sort(key=lambda s: (_int(s.get("SeriesNumber")) is None,
                                         _int(s.get("SeriesNumber")) or 0,
                                         _text(s.get("SeriesInstanceUID"))))  # fmt: skip
            found += [_series_row(study, s) for s in matching]
        studies_hit = len({r.study_instance_uid for r in found})
        message = (
            f"{_count(len(found), 'series', 'series')} in "
            f"{_count(studies_hit, 'study', 'studies')} found."
            if found
            else ""
        )
    if not found:
        message = (
            f"No series matched in {_count(len(ordered), 'study', 'studies')}."
            if ordered
            else "No studies matched."
        )
    return QueryAnswer(found, message, warnings, log)


def _patients(row: QueryRow, find: FindFunction) -> tuple[list[Dataset], list[str]]:
    if row.patient_id:
        found = [
            p
            for p in find(Query(level=Level.PATIENT, patient_id=row.patient_id))
            if _text(p.get("PatientID")) == row.patient_id
        ]
        if not found:
            raise BatchQueryError(
                f"no patient with PatientID {row.patient_id!r} on the source; check the ID "
                "(leading zeros lost?)"
            )
        if len(found) > 1:
            raise BatchQueryError(
                f"the source lists {len(found)} patients with PatientID {row.patient_id!r}"
            )
        patient = found[0]
        source_name = _text(patient.get("PatientName"))
        if row.patient_name and not same_person_name(row.patient_name, source_name):
            raise BatchQueryError(
                f"PatientName mismatch for PatientID {row.patient_id!r}: the file says "
                f"{row.patient_name!r}, the source has {source_name!r}"
            )
        born = from_dicom_date(_text(patient.get("PatientBirthDate")))
        if row.patient_birth_date and born != row.patient_birth_date:
            raise BatchQueryError(
                f"PatientBirthDate mismatch for PatientID {row.patient_id!r}: the file says "
                f"{row.patient_birth_date}, the source has "
                f"{born or _text(patient.get('PatientBirthDate')) or 'none'}"
            )
        return [patient], []
    assert row.patient_birth_date is not None
    found = find(
        Query(
            level=Level.PATIENT,
            patient_name=row.patient_name,
            patient_birth_date=DateRange.on(row.patient_birth_date),
        )
    )
    found = [p for p in found if same_person_name(row.patient_name, _text(p.get("PatientName")))]
    if not found:
        raise BatchQueryError(
            f"no patient named {row.patient_name!r} born {row.patient_birth_date} on the source"
        )
    found.sort(key=lambda p: _text(p.get("PatientID")))
    warnings = []
    if len(found) > 1:
        ids = ", ".join(repr(_text(p.get("PatientID"))) for p in found)
        warnings.append(
            f"Indistinct patients: {len(found)} patients named {row.patient_name!r} born "
            f"{row.patient_birth_date} (PatientIDs {ids}); the results list all of them."
        )
    return found, warnings


def same_person_name(wanted: str, actual: str) -> bool:
    """Whether a name from the file names the person the source has.

    Case does not matter, nor empty trailing components; the file may give fewer
    components (``Müller`` matches ``Müller^Jürgen``). Any representation of a
    multi-group name (alphabetic, ideographic, phonetic) may match.
    """

    def parts(group: str) -> list[str]:
        items = [p.strip().casefold() for p in group.split("^")]
        while items and not items[-1]:
            items.pop()
        return items

    want = parts(wanted.split("=")[0])
    return any(parts(group)[: len(want)] == want for group in actual.split("=") if group)


def _pattern(regex: str) -> re.Pattern[str] | None:
    return re.compile(regex, re.IGNORECASE) if regex else None


def _text(value: object) -> str:
    if value is None:
        return ""
    values = element_values(value)
    if values is not None:
        return "\\".join(values)
    return str(value).strip()


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _modalities(study: Dataset) -> str:
    raw = _text(study.get("ModalitiesInStudy"))
    return ", ".join(m for m in re.split(r"[\\,]\s*", raw) if m)


def _study_row(study: Dataset) -> FoundRow:
    return FoundRow(
        patient_id=_text(study.get("PatientID")),
        patient_name=_text(study.get("PatientName")),
        patient_birth_date=_text(study.get("PatientBirthDate")),
        modalities_in_study=_modalities(study),
        study_date=_text(study.get("StudyDate")),
        study_time=_text(study.get("StudyTime")),
        study_description=_text(study.get("StudyDescription")),
        number_of_study_related_instances=_int(study.get("NumberOfStudyRelatedInstances")),
        accession_number=_text(study.get("AccessionNumber")),
        study_instance_uid=_text(study.get("StudyInstanceUID")),
    )


def _series_row(study: Dataset, series: Dataset) -> FoundRow:
    row = _study_row(study)
    row.series_instance_uid = _text(series.get("SeriesInstanceUID"))
    row.series_description = _text(series.get("SeriesDescription"))
    row.series_number = _int(series.get("SeriesNumber"))
    return row


def _describe(patient: Dataset) -> str:
    return (
        f"{_text(patient.get('PatientID'))!r} {_text(patient.get('PatientName'))!r} "
        f"born {_text(patient.get('PatientBirthDate')) or '?'}"
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
