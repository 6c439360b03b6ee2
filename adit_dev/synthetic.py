"""Deterministic synthetic DICOM data for tests, benchmarks and demos.

Everything derives from a seed, so two runs produce byte-identical files. A corpus is only a
description (patients, studies, series, UIDs); data sets are built one at a time when
iterated, so a corpus of thousands of 512x512 images never sits in memory.

The data is shaped to exercise the awkward parts of real archives: patient IDs with leading
zeros, UTF-8 names (including a multi-group Japanese name), private tags and nested
sequences that repeat the patient's identity, several modalities, and an SR document.
"""

from __future__ import annotations

import random
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

# pydicom's registered root; entropy from the seed makes the suffix deterministic.
UID_PREFIX = "1.2.826.0.1.3680043.8.498."
IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.8.498.1"
IMPLEMENTATION_VERSION = "ADIT_SYNTH_1"
BASIC_TEXT_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.11"
# Detached Study Management (retired) is what ReferencedStudySequence items conventionally use.
STUDY_REFERENCE_SOP_CLASS = "1.2.840.10008.3.1.2.3.1"

PRIVATE_GROUP = 0x0009
PRIVATE_CREATOR = "ADIT TEST"
# Element offsets inside the private block (final tags are 0x0009,0x10xx).
PRIVATE_PATIENT_ID = 0x01
PRIVATE_PATIENT_NAME = 0x02
PRIVATE_NOTE = 0x03

_SOP_CLASSES = {
    "CT": CTImageStorage,
    "MR": MRImageStorage,
    "OT": SecondaryCaptureImageStorage,
    "SR": BASIC_TEXT_SR_STORAGE,
}
IMAGE_MODALITIES = frozenset({"CT", "MR", "OT"})
EXTRA_MODALITIES = frozenset({"SR", "OT"})


def make_uid(*parts: object) -> str:
    """A valid UID under UID_PREFIX, fully determined by `parts`."""
    return str(generate_uid(UID_PREFIX, entropy_srcs=["adit-synthetic", *map(str, parts)]))


@dataclass
class SeriesSpec:
    series_uid: str
    number: int
    modality: str
    description: str
    instance_uids: list[str]
    sop_class_uid: str = ""
    rows: int = 32
    cols: int = 32

    def __post_init__(self) -> None:
        if not self.sop_class_uid:
            self.sop_class_uid = _SOP_CLASSES[self.modality]


@dataclass
class StudySpec:
    study_uid: str
    patient_id: str
    patient_name: str
    birth_date: str
    accession_number: str
    study_date: str
    study_time: str
    description: str
    series: list[SeriesSpec]
    patient_sex: str = "O"
    study_id: str = "1"
    institution_name: str = "ADIT Test Hospital"
    referring_physician: str = "Weiß^Anna^^Dr."
    requested_procedure_id: str = ""
    frame_of_reference_uid: str = ""
    seed: int = 0

    @property
    def instance_count(self) -> int:
        return sum(len(s.instance_uids) for s in self.series)

    @property
    def modalities(self) -> set[str]:
        return {s.modality for s in self.series}

    def instance_uids(self) -> set[str]:
        return {uid for s in self.series for uid in s.instance_uids}

    def datasets(self) -> Iterator[Dataset]:
        for series in self.series:
            for index, sop_uid in enumerate(series.instance_uids):
                yield build_dataset(self, series, sop_uid, index + 1)


@dataclass
class Corpus:
    studies: list[StudySpec] = field(default_factory=list)

    @property
    def instance_count(self) -> int:
        return sum(s.instance_count for s in self.studies)

    @property
    def patients(self) -> dict[str, str]:
        """Patient ID -> patient name."""
        return {s.patient_id: s.patient_name for s in self.studies}

    def study_uids(self) -> set[str]:
        return {s.study_uid for s in self.studies}

    def instance_uids(self) -> set[str]:
        return {uid for s in self.studies for uid in s.instance_uids()}

    def studies_of(self, patient_id: str) -> list[StudySpec]:
        return [s for s in self.studies if s.patient_id == patient_id]

    def study(self, key: str) -> StudySpec:
        """The study with this StudyInstanceUID, or the only study of this patient ID."""
        for s in self.studies:
            if s.study_uid == key:
                return s
        matches = self.studies_of(key)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"no study with StudyInstanceUID or PatientID {key!r}")
        raise KeyError(f"patient {key!r} has {len(matches)} studies; pass a StudyInstanceUID")

    def datasets(self) -> Iterator[Dataset]:
        for study in self.studies:
            yield from study.datasets()

    def write(self, folder: Path) -> list[Path]:
        """Write every instance as <study>/<series>/<sop>.dcm; file names never collide."""
        paths: list[Path] = []
        for ds in self.datasets():
            path = folder / ds.StudyInstanceUID / ds.SeriesInstanceUID / f"{ds.SOPInstanceUID}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(to_bytes(ds))
            paths.append(path)
        return paths


def to_bytes(ds: Dataset) -> bytes:
    """Encode as a DICOM Part 10 file (preamble, file meta with group length, data set)."""
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def make_study(
    *,
    patient_id: str,
    patient_name: str,
    birth_date: str,
    modality: str,
    n_series: int,
    n_instances: int,
    rows: int = 32,
    cols: int = 32,
    seed: int = 0,
    study_date: str | None = None,
    study_time: str | None = None,
    description: str | None = None,
    extra_series_modality: str | None = None,
    patient_sex: str = "O",
    institution_name: str = "ADIT Test Hospital",
    referring_physician: str = "Weiß^Anna^^Dr.",
) -> StudySpec:
    """Describe one study; call `.datasets()` on the result to build its instances.

    `n_instances` image instances are spread over `n_series` series of `modality` (earlier
    series get the remainder). `extra_series_modality` ("SR" or "OT") appends one more series
    with a single instance, e.g. a report.
    """
    if modality not in IMAGE_MODALITIES:
        raise ValueError(f"modality must be one of {sorted(IMAGE_MODALITIES)}, not {modality!r}")
    if extra_series_modality is not None and extra_series_modality not in EXTRA_MODALITIES:
        raise ValueError(f"extra_series_modality must be one of {sorted(EXTRA_MODALITIES)}")
    if n_series < 1 or n_instances < n_series:
        raise ValueError("need n_series >= 1 and at least one instance per series")

    key = (seed, patient_id, modality, study_date)
    rng = random.Random(repr(key))
    if study_date is None:
        study_date = f"{rng.randint(2015, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    if study_time is None:
        study_time = f"{rng.randint(7, 18):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
    if description is None:
        description = f"{modality} {rng.choice(['Thorax', 'Abdomen', 'Schädel', 'Knie'])}"

    study_uid = make_uid(*key, "study")
    per_series, remainder = divmod(n_instances, n_series)
    series: list[SeriesSpec] = []
    for number in range(1, n_series + 1):
        count = per_series + (1 if number <= remainder else 0)
        series_uid = make_uid(study_uid, "series", number)
        series.append(
            SeriesSpec(
                series_uid=series_uid,
                number=number,
                modality=modality,
                description=f"{description} Serie {number}",
                instance_uids=[make_uid(series_uid, "instance", i) for i in range(1, count + 1)],
                rows=rows,
                cols=cols,
            )
        )
    if extra_series_modality is not None:
        number = n_series + 1
        series_uid = make_uid(study_uid, "series", number)
        extra_description = "Befund" if extra_series_modality == "SR" else "Screenshot"
        series.append(
            SeriesSpec(
                series_uid=series_uid,
                number=number,
                modality=extra_series_modality,
                description=extra_description,
                instance_uids=[make_uid(series_uid, "instance", 1)],
                rows=rows,
                cols=cols,
            )
        )

    return StudySpec(
        study_uid=study_uid,
        patient_id=patient_id,
        patient_name=patient_name,
        birth_date=birth_date,
        # Leading zeros on purpose: accession numbers are strings, too.
        accession_number=f"00{rng.randint(0, 99_999_999):08d}",
        study_date=study_date,
        study_time=study_time,
        description=description,
        series=series,
        patient_sex=patient_sex,
        study_id=str(rng.randint(1, 9999)),
        institution_name=institution_name,
        referring_physician=referring_physician,
        requested_procedure_id=f"RP{rng.randint(0, 999_999):06d}",
        frame_of_reference_uid=make_uid(study_uid, "frame"),
        seed=seed,
    )


def standard_corpus(seed: int = 0) -> Corpus:
    """Small corpus for tests: 5 patients, 6 studies, 51 instances.

    Patient "0012345" has a CT and a later MR study; "000042" has an MR study with an SR
    report series.
    """
    s = seed * 100
    return Corpus(
        [
            make_study(
                patient_id="0012345",
                patient_name="Müller^Jürgen",
                birth_date="19650312",
                patient_sex="M",
                modality="CT",
                n_series=3,
                n_instances=12,
                seed=s + 1,
                study_date="20230314",
                study_time="081500",
                description="CT Thorax",
            ),
            make_study(
                patient_id="0012345",
                patient_name="Müller^Jürgen",
                birth_date="19650312",
                patient_sex="M",
                modality="MR",
                n_series=2,
                n_instances=8,
                seed=s + 2,
                study_date="20240109",
                study_time="143000",
                description="MR Knie links",
            ),
            make_study(
                patient_id="000042",
                patient_name="Ødegård^Åse",
                birth_date="19801124",
                patient_sex="F",
                modality="MR",
                n_series=2,
                n_instances=8,
                seed=s + 3,
                study_date="20220601",
                study_time="100000",
                description="MR Schädel",
                extra_series_modality="SR",
                institution_name="Rikshospitalet Ålesund",
            ),
            make_study(
                patient_id="0098765",
                patient_name="Nguyễn^Thị",
                birth_date="19920605",
                patient_sex="F",
                modality="CT",
                n_series=2,
                n_instances=10,
                seed=s + 4,
                study_date="20231120",
                study_time="094512",
                description="CT Abdomen",
            ),
            make_study(
                patient_id="7654321",
                patient_name="Yamada^Tarou=山田^太郎=やまだ^たろう",
                birth_date="19711230",
                patient_sex="M",
                modality="CT",
                n_series=2,
                n_instances=6,
                seed=s + 5,
                study_date="20210405",
                study_time="170102",
                description="CT Becken",
                referring_physician="Suzuki^Ichiro",
            ),
            make_study(
                patient_id="0000007",
                patient_name="Smith^John",
                birth_date="19500101",
                patient_sex="M",
                modality="MR",
                n_series=2,
                n_instances=6,
                seed=s + 6,
                study_date="20200817",
                study_time="120000",
                description="MR LWS",
            ),
        ]
    )


def big_study(
    n_instances: int = 600, n_series: int = 4, rows: int = 512, cols: int = 512, seed: int = 1
) -> Corpus:
    """One large CT study for benchmarks (512x512 16-bit: about 525 KB per file)."""
    return Corpus(
        [
            make_study(
                patient_id="0099999",
                patient_name="Bench^Mark",
                birth_date="19700101",
                patient_sex="O",
                modality="CT",
                n_series=n_series,
                n_instances=n_instances,
                rows=rows,
                cols=cols,
                seed=seed,
                study_date="20250101",
                study_time="120000",
                description="CT Benchmark",
            )
        ]
    )


# Private blocks of the rich study: vendor-like groups with per-instance values.
RICH_VENDOR_GROUP = 0x0019
RICH_VENDOR_CREATOR = "ADIT VENDOR ACQ"
RICH_SEQUENCE_GROUP = 0x0029
RICH_SEQUENCE_CREATOR = "ADIT VENDOR SQ"

# (modality, description, share of the instances, rows = columns) of the rich study's
# image series: mixed sizes from 256x256 MR (~130 KB) to 1024x1024 CT (~2 MB), about
# 0.5 MB per instance on average like `big_study`.
_RICH_SERIES = (
    ("CT", "Thorax 1.0 B30f", 0.45, 512),
    ("CT", "Thorax 5.0 B70f", 0.20, 512),
    ("MR", "t2_tse_tra", 0.15, 256),
    ("MR", "t1_vibe_fs_tra", 0.10, 256),
    ("CT", "Thorax HR 0.6 Br64", 0.05, 1024),
    ("OT", "Dose Screenshot", 0.05, 768),
)


@dataclass
class RichStudySpec(StudySpec):
    """A study whose instances carry rich headers that vary from instance to instance."""

    def datasets(self) -> Iterator[Dataset]:
        for series in self.series:
            for index, sop_uid in enumerate(series.instance_uids):
                yield build_rich_dataset(self, series, sop_uid, index + 1)


def rich_study(n_instances: int = 600, seed: int = 2) -> Corpus:
    """One study with rich, varying headers for benchmarks (about 0.5 MB per instance).

    Beyond `big_study`: six series of mixed modalities and image sizes plus an SR report;
    nested sequences (three levels deep, some with per-instance content); private blocks
    in two vendor-like groups with per-instance dates, identifiers, a binary blob and a
    private sequence that repeats the patient's identity; and per-instance acquisition
    dates and times (crossing midnight), descriptions, comments and UIDs. Pseudonymizing
    it cannot re-use much from one instance to the next, as with many real scanners.
    """
    if n_instances < len(_RICH_SERIES) + 1:
        raise ValueError(f"a rich study needs at least {len(_RICH_SERIES) + 1} instances")
    rng = random.Random(f"rich-{seed}")
    study_uid = make_uid("rich", seed, "study")
    images = n_instances - 1  # one SR report
    counts = [max(1, int(images * share)) for _, _, share, _ in _RICH_SERIES]
    counts[0] += images - sum(counts)
    series: list[SeriesSpec] = []
    for number, ((modality, description, _, size), count) in enumerate(
        zip(_RICH_SERIES, counts, strict=True), start=1
    ):
        series_uid = make_uid(study_uid, "series", number)
        series.append(
            SeriesSpec(
                series_uid=series_uid,
                number=number,
                modality=modality,
                description=description,
                instance_uids=[make_uid(series_uid, "instance", i) for i in range(1, count + 1)],
                rows=size,
                cols=size,
            )
        )
    report_uid = make_uid(study_uid, "series", 99)
    series.append(
        SeriesSpec(
            series_uid=report_uid,
            number=99,
            modality="SR",
            description="Befund",
            instance_uids=[make_uid(report_uid, "instance", 1)],
        )
    )
    return Corpus(
        [
            RichStudySpec(
                study_uid=study_uid,
                patient_id="0088888",
                patient_name="Rich^Header^Maria",
                birth_date="19560229",
                accession_number=f"00{rng.randint(0, 99_999_999):08d}",
                study_date="20241231",
                study_time="231500",
                description="CT/MR Thorax Staging",
                series=series,
                patient_sex="F",
                study_id=str(rng.randint(1, 9999)),
                institution_name="Universitätsklinikum Rich",
                referring_physician="Ärztin^Eva^^Dr. med.",
                requested_procedure_id=f"RP{rng.randint(0, 999_999):06d}",
                frame_of_reference_uid=make_uid(study_uid, "frame"),
                seed=seed,
            )
        ]
    )


def build_rich_dataset(study: StudySpec, series: SeriesSpec, sop_uid: str, number: int) -> Dataset:
    """`build_dataset` plus the rich, per-instance varying headers of `rich_study`."""
    ds = build_dataset(study, series, sop_uid, number)
    # Series start 10 minutes apart from 23:30 on and take 1.7 s per instance, so the
    # later series are acquired after midnight: dates vary within the study, too.
    seconds = 23 * 3600 + 30 * 60 + (series.number - 1) * 600 + number * 1.7
    day, seconds = divmod(seconds, 86_400)
    date = ("20241231", "20250101")[int(day)]
    hours, rest = divmod(seconds, 3600)
    time = f"{int(hours):02d}{int(rest // 60):02d}{rest % 60:09.6f}"
    ds.AcquisitionDate = date
    ds.AcquisitionTime = time
    ds.AcquisitionDateTime = f"{date}{time}+0100"
    ds.ContentDate = date
    ds.ContentTime = time
    ds.InstanceCreationDate = date
    ds.InstanceCreationTime = time
    ds.TimezoneOffsetFromUTC = "+0100"
    ds.AcquisitionNumber = 1 + number // 50
    ds.StationName = f"CT{series.number:02d}-RICH"
    ds.DeviceSerialNumber = f"SN{study.seed:04d}{series.number:02d}"
    ds.OperatorsName = ["Tech^Tom", "Assist^Ana"]
    ds.PerformingPhysicianName = study.referring_physician
    ds.PatientAge = "068Y"
    ds.PatientWeight = "71.5"
    ds.PatientSize = "1.68"
    ds.AdditionalPatientHistory = f"Patient {study.patient_name.replace('^', ' ')}, follow-up"
    ds.StudyComments = f"Staging for {study.patient_id}"
    ds.PerformedProcedureStepID = f"PPS{study.seed}{series.number}"
    ds.PerformedProcedureStepStartDate = study.study_date
    ds.PerformedProcedureStepStartTime = study.study_time
    ds.ProcedureCodeSequence = [_code("ZIX0815", "99RICH", study.description)]
    ds.AnatomicRegionSequence = [
        _item(
            CodeValue="T-D3000",
            CodingSchemeDesignator="SRT",
            CodeMeaning="Chest",
            AnatomicRegionModifierSequence=[_code("G-A101", "SRT", "Left")],
        )
    ]
    ds.RequestAttributesSequence = [
        _item(
            AccessionNumber=study.accession_number,
            StudyInstanceUID=study.study_uid,
            RequestedProcedureID=study.requested_procedure_id,
            ScheduledProcedureStepID=f"{study.requested_procedure_id}-{series.number}",
            RequestedProcedureDescription=study.description,
            ReasonForTheRequestedProcedure=f"Tumour staging, patient {study.patient_id}",
            ScheduledProtocolCodeSequence=[
                _item(
                    CodeValue=f"P{series.number}",
                    CodingSchemeDesignator="99RICH",
                    CodeMeaning=series.description,
                    ProtocolContextSequence=[
                        _item(ValueType="TEXT", TextValue=f"scanned by {ds.StationName}")
                    ],
                )
            ],
        )
    ]
    if series.modality == "SR":
        return ds
    # Per instance: descriptions, identifiers and references to the neighbouring images.
    ds.ImageComments = f"Slice {number} of {series.description}; seen by Dr. Ärztin, {date}"
    ds.DerivationDescription = f"Reconstructed {number:04d} from raw data {time}"
    ds.AcquisitionDeviceProcessingDescription = f"Kernel {series.description[-4:]} #{number}"
    ds.IrradiationEventUID = make_uid(sop_uid, "irradiation")
    neighbours = [i for i in (number - 1, number + 1) if 1 <= i <= len(series.instance_uids)]
    ds.ReferencedImageSequence = [
        _item(
            ReferencedSOPClassUID=series.sop_class_uid,
            ReferencedSOPInstanceUID=series.instance_uids[i - 1],
            PurposeOfReferenceCodeSequence=[_code("121311", "DCM", "Localizer")],
        )
        for i in neighbours
    ]
    ds.ContributingEquipmentSequence = [
        _item(
            Manufacturer="ADIT Recon",
            InstitutionName=study.institution_name,
            ContributionDateTime=f"{date}{time}",
            ContributionDescription=f"Reconstruction of slice {number}",
            PurposeOfReferenceCodeSequence=[_code("109102", "DCM", "Processing Equipment")],
        )
    ]
    if series.modality == "CT":
        ds.CTExposureSequence = [
            _item(
                ExposureTimeInms=500 + number % 7,
                XRayTubeCurrentInmA=180 + number % 40,
                ExposureInmAs=90 + number % 20,
                CTDIvol=round(4.2 + (number % 11) / 10, 2),
            )
        ]
    ds.WindowCenter = str(40 + number % 5)
    ds.WindowWidth = str(400 + number % 9)

    vendor = ds.private_block(RICH_VENDOR_GROUP, RICH_VENDOR_CREATOR, create=True)
    vendor.add_new(0x01, "LO", study.patient_name[:64])
    vendor.add_new(0x02, "DA", date)
    vendor.add_new(0x03, "TM", time)
    vendor.add_new(0x04, "UI", make_uid(sop_uid, "vendor"))
    vendor.add_new(0x05, "DS", f"{number * 0.625:.3f}")
    vendor.add_new(0x06, "SH", f"{study.patient_id[-4:]}-{number}")
    # A vendor's binary header (like Siemens CSA): ~2 KB that differ in every instance.
    vendor.add_new(0x10, "OB", _vendor_blob(study.seed, series.number, number))
    nested = ds.private_block(RICH_SEQUENCE_GROUP, RICH_SEQUENCE_CREATOR, create=True)
    inner = Dataset()
    inner.PatientID = study.patient_id
    inner.PatientName = study.patient_name
    inner.StudyDate = study.study_date
    inner.AcquisitionTime = time
    inner.SOPInstanceUID = sop_uid
    nested.add_new(0x01, "SQ", [inner])
    return ds


def _vendor_blob(seed: int, series: int, number: int) -> bytes:
    return b"SV10" + random.Random(f"{seed}-{series}-{number}").randbytes(2044)


def build_dataset(study: StudySpec, series: SeriesSpec, sop_uid: str, number: int) -> Dataset:
    """Build one instance of `series` (instance numbers start at 1)."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(series.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta

    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = series.sop_class_uid
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = study.study_date
    ds.InstanceCreationTime = study.study_time
    ds.StudyDate = study.study_date
    ds.SeriesDate = study.study_date
    ds.ContentDate = study.study_date
    ds.StudyTime = study.study_time
    ds.SeriesTime = study.study_time
    ds.ContentTime = study.study_time
    ds.AccessionNumber = study.accession_number
    ds.Modality = series.modality
    ds.Manufacturer = "ADIT Synthetic"
    ds.InstitutionName = study.institution_name
    ds.ReferringPhysicianName = study.referring_physician
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    ds.ReferencedStudySequence = [
        _item(
            ReferencedSOPClassUID=STUDY_REFERENCE_SOP_CLASS,
            ReferencedSOPInstanceUID=study.study_uid,
        )
    ]
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.IssuerOfPatientID = "ADIT"
    ds.PatientBirthDate = study.birth_date
    ds.PatientSex = study.patient_sex
    ds.OtherPatientIDsSequence = [
        _item(
            PatientID=study.patient_id,
            IssuerOfPatientID="ADIT-LEGACY",
            TypeOfPatientID="TEXT",
        )
    ]
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = series.series_uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series.number
    ds.InstanceNumber = number
    ds.RequestAttributesSequence = [
        _item(
            AccessionNumber=study.accession_number,
            StudyInstanceUID=study.study_uid,
            RequestedProcedureID=study.requested_procedure_id,
            ScheduledProcedureStepID=f"{study.requested_procedure_id}-1",
            RequestedProcedureDescription=study.description,
        )
    ]

    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(PRIVATE_PATIENT_ID, "LO", study.patient_id)
    # LO holds 64 characters at most; multi-group names can be longer.
    block.add_new(PRIVATE_PATIENT_NAME, "LO", study.patient_name[:64])
    block.add_new(PRIVATE_NOTE, "LO", "synthetic test data")

    if series.modality == "SR":
        _add_sr_content(ds, study)
    else:
        _add_image(ds, study, series, number)
    return ds


def _item(**attributes: object) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def _add_sr_content(ds: Dataset, study: StudySpec) -> None:
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [_code("11528-7", "LN", "Radiology Report")]
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    # The report text names the patient, as real reports often do.
    name = study.patient_name.split("=")[0].replace("^", " ")
    ds.ContentSequence = [
        _item(
            RelationshipType="CONTAINS",
            ValueType="TEXT",
            ConceptNameCodeSequence=[_code("121071", "DCM", "Finding")],
            TextValue=f"Patient {name} ({study.patient_id}): kein pathologischer Befund.",
        )
    ]


def _add_image(ds: Dataset, study: StudySpec, series: SeriesSpec, number: int) -> None:
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "HFS"
    ds.SliceThickness = "2.5"
    ds.ImagePositionPatient = [-160.0, -160.0, round(-2.5 * number, 2)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.625, 0.625]
    ds.SliceLocation = round(-2.5 * number, 2)
    if series.modality == "CT":
        ds.KVP = "120"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
    elif series.modality == "MR":
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.RepetitionTime = "500"
        ds.EchoTime = "15"
        ds.EchoTrainLength = "1"
        ds.MagneticFieldStrength = "1.5"
    else:
        ds.ConversionType = "WSD"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = series.rows
    ds.Columns = series.cols
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "1024"
    ds.WindowWidth = "4096"
    ds.PixelData = _pixels(
        series.rows, series.cols, study.seed * 7919 + series.number * 131 + number
    )
    ds["PixelData"].VR = "OW"


def _pixels(rows: int, cols: int, shift: int) -> bytes:
    """A 12-bit pattern, rotated per instance so that no two images are identical."""
    base = _base_pattern(rows, cols)
    offset = (shift * 2 * 97) % len(base)
    offset -= offset % 2  # keep 16-bit words aligned
    return base[offset:] + base[:offset]


@lru_cache(maxsize=4)
def _base_pattern(rows: int, cols: int) -> bytes:
    values = array(
        "H", ((r * 7 + c * 13 + (r * c) % 251) % 4096 for r in range(rows) for c in range(cols))
    )
    if sys.byteorder == "big":  # pixel data is little endian in the chosen transfer syntax
        values.byteswap()
    return values.tobytes()
