"""The query model shared by C-FIND and QIDO-RS, with ADIT's conventions.

- Names may be typed as ``Last, First``; they become ``Last^First`` (``Last*^First*`` when
  ``fuzzy_names`` is set, as in interactive searches).
- ``*`` and ``?`` are DICOM wildcards.
- Dates are ranges (either end open).
- Several modalities are allowed; DIMSE peers get one query per modality.
- `Query.matches` re-checks a result client-side, for servers that ignore some keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import lru_cache

from pydicom import Dataset
from pydicom.multival import MultiValue

from adit_core.dates import from_dicom_date, to_dicom_date


class Level(StrEnum):
    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


class Model(StrEnum):
    PATIENT_ROOT = "patient"
    STUDY_ROOT = "study"


@dataclass(frozen=True)
class DateRange:
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"date range starts after it ends: {self.start} > {self.end}")

    @classmethod
    def on(cls, day: date) -> DateRange:
        return cls(day, day)

    def to_dicom(self) -> str:
        start = to_dicom_date(self.start) if self.start else ""
        end = to_dicom_date(self.end) if self.end else ""
        if self.start and self.end and self.start == self.end:
            return start
        if not start and not end:
            return ""
        return f"{start}-{end}"

    def contains(self, value: date) -> bool:
        if self.start and value < self.start:
            return False
        return not (self.end and value > self.end)


# Attributes asked back at each level (empty return keys).
RETURN_KEYS: dict[Level, tuple[str, ...]] = {
    Level.PATIENT: (
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
    Level.STUDY: (
        "PatientID",
        "PatientName",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "StudyDescription",
        "AccessionNumber",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ),
    Level.SERIES: (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "Modality",
        "SeriesDescription",
        "SeriesNumber",
        "SeriesDate",
        "NumberOfSeriesRelatedInstances",
    ),
    Level.IMAGE: (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "SOPClassUID",
        "InstanceNumber",
    ),
}


def dicom_person_name(value: str, *, fuzzy: bool = False) -> str:
    """``Last, First`` → ``Last^First`` (or ``Last*^First*`` when fuzzy)."""
    value = value.strip()
    if not value:
        return ""
    if "^" in value:
        parts = [p.strip() for p in value.split("^")]
    else:
        parts = [p.strip() for p in value.split(",", 1)]
    if fuzzy:
        parts = [p if (not p or p.endswith("*")) else p + "*" for p in parts]
    return "^".join(parts)


def human_person_name(value: object) -> str:
    """DICOM ``Last^First`` → ``Last, First`` for display and export."""
    text = str(value or "")
    parts = [p for p in text.split("^")[:2]]
    parts = [p for p in parts if p]
    return ", ".join(parts)


@lru_cache(maxsize=512)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, value: object, *, case_sensitive: bool = False) -> bool:
    """DICOM wildcard matching over the whole value (``*`` and ``?`` only)."""
    text = str(value or "")
    if not pattern:
        return True
    if case_sensitive:
        return re.fullmatch(_wildcard_regex(pattern).pattern, text, re.DOTALL) is not None
    return _wildcard_regex(pattern).fullmatch(text) is not None


@dataclass(frozen=True)
class Query:
    level: Level = Level.STUDY
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: DateRange | None = None
    accession_number: str = ""
    study_date: DateRange | None = None
    modalities: tuple[str, ...] = ()
    study_description: str = ""
    series_description: str = ""
    series_numbers: tuple[int, ...] = ()
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    sop_instance_uid: str = ""
    fuzzy_names: bool = False
    # Extra return keys callers want back (e.g. "ReferringPhysicianName").
    extra_keys: tuple[str, ...] = field(default=())

    def at(self, level: Level, **changes: object) -> Query:
        return replace(self, level=level, **changes)  # type: ignore[arg-type]

    @property
    def dicom_patient_name(self) -> str:
        return dicom_person_name(self.patient_name, fuzzy=self.fuzzy_names)

    def per_modality(self) -> list[Query]:
        """One query per modality (DIMSE peers match a single value only)."""
        if len(self.modalities) <= 1:
            return [self]
        return [replace(self, modalities=(m,)) for m in self.modalities]

    def per_series_number(self) -> list[Query]:
        if len(self.series_numbers) <= 1:
            return [self]
        return [replace(self, series_numbers=(n,)) for n in self.series_numbers]

    def identifier(self, model: Model = Model.STUDY_ROOT) -> Dataset:
        """The C-FIND identifier: matching keys plus empty return keys for this level."""
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level.value
        for key in RETURN_KEYS[self.level] + self.extra_keys:
            setattr(ds, key, "")
        levels = list(Level)
        depth = levels.index(self.level)

        def put(key: str, value: str, at_level: Level) -> None:
            # Keys above the query level are only allowed as unique keys in patient root;
            # in study root, patient attributes belong to the study level.
            key_level = at_level
            if model is Model.STUDY_ROOT and key_level is Level.PATIENT:
                key_level = Level.STUDY
            if value and levels.index(key_level) <= depth:
                setattr(ds, key, value)

        put("PatientID", self.patient_id, Level.PATIENT)
        put("PatientName", self.dicom_patient_name, Level.PATIENT)
        if self.patient_birth_date:
            put("PatientBirthDate", self.patient_birth_date.to_dicom(), Level.PATIENT)
        put("StudyInstanceUID", self.study_instance_uid, Level.STUDY)
        put("AccessionNumber", self.accession_number, Level.STUDY)
        if self.study_date:
            put("StudyDate", self.study_date.to_dicom(), Level.STUDY)
        put("StudyDescription", self.study_description, Level.STUDY)
        if len(self.modalities) == 1:
            if self.level is Level.STUDY:
                put("ModalitiesInStudy", self.modalities[0], Level.STUDY)
            else:
                put("Modality", self.modalities[0], Level.SERIES)
        put("SeriesInstanceUID", self.series_instance_uid, Level.SERIES)
        put("SeriesDescription", self.series_description, Level.SERIES)
        if len(self.series_numbers) == 1:
            put("SeriesNumber", str(self.series_numbers[0]), Level.SERIES)
        put("SOPInstanceUID", self.sop_instance_uid, Level.IMAGE)
        if any(not str(e.value).isascii() for e in ds if e.value is not None):
            ds.SpecificCharacterSet = "ISO_IR 192"
        return ds

    def qido_params(self) -> dict[str, str | list[str]]:
        """QIDO-RS search parameters (attribute keywords as keys)."""
        params: dict[str, str | list[str]] = {}
        ident = self.identifier(Model.STUDY_ROOT)
        for elem in ident:
            if elem.keyword in ("QueryRetrieveLevel", "SpecificCharacterSet"):
                continue
            if elem.value in ("", None):
                continue
            params[elem.keyword] = str(elem.value)
        if len(self.modalities) > 1:
            key = "ModalitiesInStudy" if self.level is Level.STUDY else "Modality"
            params[key] = ",".join(self.modalities)
        return params

    def matches(self, ds: Dataset) -> bool:
        """Client-side re-filter; attributes the server did not return are not held against it."""

        def has(key: str) -> bool:
            return key in ds and ds[key].value not in (None, "")

        if self.patient_id and has("PatientID"):
            if not wildcard_match(self.patient_id, ds.PatientID, case_sensitive=True):
                return False
        if self.patient_name and has("PatientName"):
            if not wildcard_match(self.dicom_patient_name, _name_text(ds.PatientName)):
                return False
        if self.patient_birth_date and has("PatientBirthDate"):
            born = from_dicom_date(str(ds.PatientBirthDate))
            if born and not self.patient_birth_date.contains(born):
                return False
        if self.level is not Level.PATIENT:
            if self.accession_number and has("AccessionNumber"):
                if not wildcard_match(self.accession_number, ds.AccessionNumber):
                    return False
            if self.study_date and has("StudyDate"):
                day = from_dicom_date(str(ds.StudyDate))
                if day and not self.study_date.contains(day):
                    return False
            if self.study_description and has("StudyDescription"):
                if not wildcard_match(self.study_description, ds.StudyDescription):
                    return False
            if self.study_instance_uid and has("StudyInstanceUID"):
                if str(ds.StudyInstanceUID) != self.study_instance_uid:
                    return False
        if self.modalities:
            wanted = {m.upper() for m in self.modalities}
            if self.level is Level.STUDY and has("ModalitiesInStudy"):
                present = _multi(ds.ModalitiesInStudy)
                if present and not (wanted & {m.upper() for m in present}):
                    return False
            if self.level in (Level.SERIES, Level.IMAGE) and has("Modality"):
                if str(ds.Modality).upper() not in wanted:
                    return False
        if self.level in (Level.SERIES, Level.IMAGE):
            if self.series_description and has("SeriesDescription"):
                if not wildcard_match(self.series_description, ds.SeriesDescription):
                    return False
            if self.series_numbers and has("SeriesNumber"):
                try:
                    number = int(ds.SeriesNumber)
                except (TypeError, ValueError):
                    return False
                if number not in self.series_numbers:
                    return False
            if self.series_instance_uid and has("SeriesInstanceUID"):
                if str(ds.SeriesInstanceUID) != self.series_instance_uid:
                    return False
        if self.level is Level.IMAGE and self.sop_instance_uid and has("SOPInstanceUID"):
            if str(ds.SOPInstanceUID) != self.sop_instance_uid:
                return False
        return True


def _name_text(value: object) -> str:
    return str(value or "")


def element_values(value: object) -> list[str] | None:
    """The values of a multi-valued element as text; None when `value` is a single value."""
    if isinstance(value, list | tuple | MultiValue):
        return [str(v) for v in value]
    return None


def _multi(value: object) -> list[str]:
    values = element_values(value)
    if values is not None:
        return values
    return [p for p in re.split(r"[\\,]", str(value or "")) if p]


@dataclass
class FindResult:
    """Results of one search. `truncated` is True when the cap cut further matches off."""

    datasets: list[Dataset]
    truncated: bool = False
    limit: int | None = None

    def __len__(self) -> int:
        return len(self.datasets)

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self.datasets)


UID_KEY: dict[Level, str] = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}
