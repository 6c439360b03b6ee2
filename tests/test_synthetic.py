"""The synthetic corpus has the properties other tests rely on."""

from __future__ import annotations

import hashlib
import itertools
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian

from adit_dev.synthetic import (
    PRIVATE_CREATOR,
    PRIVATE_GROUP,
    PRIVATE_PATIENT_ID,
    PRIVATE_PATIENT_NAME,
    Corpus,
    big_study,
    make_study,
    standard_corpus,
    to_bytes,
)

NAMES = {
    "0012345": "Müller^Jürgen",
    "000042": "Ødegård^Åse",
    "0098765": "Nguyễn^Thị",
    "7654321": "Yamada^Tarou=山田^太郎=やまだ^たろう",
    "0000007": "Smith^John",
}


@pytest.fixture(scope="module")
def written_paths(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> list[Path]:
    return corpus.write(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def written(written_paths: list[Path]) -> list[Dataset]:
    """The corpus written to disk and read back."""
    return [dcmread(path) for path in written_paths]


def test_corpus_shape(corpus: Corpus) -> None:
    assert corpus.patients == NAMES
    assert len(corpus.studies) == 6
    assert corpus.instance_count <= 60
    assert corpus.instance_count == sum(1 for _ in corpus.datasets())
    assert all(len(s.series) >= 2 for s in corpus.studies)
    assert {m for s in corpus.studies for m in s.modalities} >= {"CT", "MR", "SR"}

    mueller = corpus.studies_of("0012345")
    assert len(mueller) == 2
    assert mueller[0].study_date != mueller[1].study_date
    assert mueller[0].modalities != mueller[1].modalities
    with pytest.raises(KeyError, match="2 studies"):
        corpus.study("0012345")
    assert corpus.study("000042").modalities == {"MR", "SR"}
    assert corpus.study(mueller[1].study_uid) is mueller[1]


def test_leading_zeros_survive_a_file(written: list[Dataset]) -> None:
    ids = {ds.PatientID for ds in written}
    assert ids == set(NAMES)
    for ds in written:
        assert ds["PatientID"].VR == "LO"
        assert isinstance(ds.PatientID, str)
        assert ds.AccessionNumber.startswith("00")


def test_non_ascii_names_round_trip(corpus: Corpus, written: list[Dataset]) -> None:
    for ds in written:
        assert ds.SpecificCharacterSet == "ISO_IR 192"
        assert str(ds.PatientName) == NAMES[ds.PatientID]
    raw = to_bytes(next(corpus.study("0098765").datasets()))
    assert "Nguyễn^Thị".encode() in raw


def test_private_tags_repeat_the_identity(written: list[Dataset]) -> None:
    for ds in written:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        assert block[PRIVATE_PATIENT_ID].value == ds.PatientID
        assert block[PRIVATE_PATIENT_NAME].value == str(ds.PatientName)[:64]


def test_nested_sequences_carry_identifiers(written: list[Dataset]) -> None:
    for ds in written:
        assert ds.OtherPatientIDsSequence[0].PatientID == ds.PatientID
        request = ds.RequestAttributesSequence[0]
        assert request.AccessionNumber == ds.AccessionNumber
        assert request.StudyInstanceUID == ds.StudyInstanceUID
        assert request.RequestedProcedureID
        assert ds.ReferencedStudySequence[0].ReferencedSOPInstanceUID == ds.StudyInstanceUID


def test_identifying_attributes_present(written: list[Dataset]) -> None:
    keywords = [
        "PatientBirthDate", "PatientSex", "InstitutionName", "ReferringPhysicianName",
        "AccessionNumber", "StudyID", "StudyDate", "StudyTime", "SeriesNumber",
        "SeriesDescription", "InstanceNumber", "StudyDescription",
    ]  # fmt: skip
    for ds in written:
        for keyword in keywords:
            assert ds.get(keyword) not in (None, ""), keyword


def test_sr_document(written: list[Dataset]) -> None:
    reports = [ds for ds in written if ds.Modality == "SR"]
    assert len(reports) == 1
    report = reports[0]
    assert "PixelData" not in report
    assert report.ValueType == "CONTAINER"
    text = report.ContentSequence[0].TextValue
    assert report.PatientID in text


def test_images_and_file_format(corpus: Corpus, written: list[Dataset]) -> None:
    images = [ds for ds in written if ds.Modality in ("CT", "MR")]
    for ds in images:
        assert (ds.Rows, ds.Columns, ds.BitsAllocated) == (32, 32, 16)
        assert ds.PhotometricInterpretation == "MONOCHROME2"
        assert len(ds.PixelData) == 32 * 32 * 2
    assert len({ds.PixelData for ds in images}) == len(images)
    for ds in written:
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    raw = to_bytes(next(corpus.datasets()))
    assert raw[128:132] == b"DICM"


def test_uids_valid_and_unique(corpus: Corpus, written: list[Dataset]) -> None:
    sop = [ds.SOPInstanceUID for ds in written]
    series = {ds.SeriesInstanceUID for ds in written}
    studies = {ds.StudyInstanceUID for ds in written}
    assert len(set(sop)) == len(sop)
    assert len(series) == sum(len(s.series) for s in corpus.studies) == 14
    assert studies == corpus.study_uids()
    assert set(sop) == corpus.instance_uids()
    for uid in [*sop, *series, *studies]:
        assert UID(uid).is_valid, uid


def _digest(corpus: Corpus) -> str:
    h = hashlib.sha256()
    for ds in corpus.datasets():
        h.update(to_bytes(ds))
    return h.hexdigest()


def test_deterministic_for_a_seed() -> None:
    assert _digest(standard_corpus(0)) == _digest(standard_corpus(0))
    assert not standard_corpus(0).instance_uids() & standard_corpus(1).instance_uids()


def test_big_study_is_lazy_and_full_size() -> None:
    corpus = big_study(n_instances=2400)
    assert corpus.instance_count == 2400
    assert [len(s.instance_uids) for s in corpus.studies[0].series] == [600] * 4
    first_two = list(itertools.islice(corpus.datasets(), 2))
    size = len(to_bytes(first_two[0]))
    assert 520_000 < size < 530_000


def test_make_study_validates() -> None:
    with pytest.raises(ValueError):
        make_study(
            patient_id="1", patient_name="A^B", birth_date="20000101", modality="XX",
            n_series=1, n_instances=1,
        )  # fmt: skip
    study = make_study(
        patient_id="1", patient_name="A^B", birth_date="20000101", modality="CT",
        n_series=2, n_instances=5, extra_series_modality="OT",
    )  # fmt: skip
    assert [len(s.instance_uids) for s in study.series] == [3, 2, 1]
    assert study.modalities == {"CT", "OT"}


def test_write_layout(written_paths: list[Path]) -> None:
    assert len(written_paths) == len(set(written_paths)) == 51
    assert all(p.is_file() and p.suffix == ".dcm" for p in written_paths)


def test_rich_study_varies_per_instance_and_is_deterministic() -> None:
    from adit_dev.synthetic import (
        RICH_SEQUENCE_CREATOR,
        RICH_SEQUENCE_GROUP,
        RICH_VENDOR_CREATOR,
        RICH_VENDOR_GROUP,
        rich_study,
    )

    corpus = rich_study(n_instances=24)
    study = corpus.studies[0]
    assert study.instance_count == 24
    assert study.modalities == {"CT", "MR", "OT", "SR"}
    files = [to_bytes(ds) for ds in corpus.datasets()]
    assert files == [to_bytes(ds) for ds in rich_study(n_instances=24).datasets()]
    datasets = [dcmread(BytesIO(data)) for data in files]
    images = [ds for ds in datasets if ds.Modality != "SR"]
    # Mixed sizes, per-instance dates, times, descriptions and identifiers.
    assert {ds.Rows for ds in images} == {256, 512, 768, 1024}
    assert {ds.AcquisitionDate for ds in images} == {"20241231", "20250101"}
    for keyword in ("AcquisitionTime", "ImageComments", "IrradiationEventUID"):
        assert len({str(ds[keyword].value) for ds in images}) == len(images), keyword
    first = images[0]
    vendor = first.private_block(RICH_VENDOR_GROUP, RICH_VENDOR_CREATOR)
    assert vendor[0x01].value == study.patient_name
    assert len({ds.private_block(RICH_VENDOR_GROUP, RICH_VENDOR_CREATOR)[0x10].value
                for ds in images}) == len(images)  # fmt: skip
    nested = first.private_block(RICH_SEQUENCE_GROUP, RICH_SEQUENCE_CREATOR)[0x01].value
    assert nested[0].PatientID == study.patient_id
    request = first.RequestAttributesSequence[0]
    assert request.ScheduledProtocolCodeSequence[0].ProtocolContextSequence[0].TextValue
    assert first.ReferencedImageSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue
