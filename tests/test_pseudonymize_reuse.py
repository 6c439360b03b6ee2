"""Pseudonymizing encoded instances with re-used header elements gives exactly the bytes
that pseudonymizing each whole data set gives, whatever the order, patients and encoding."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from pydicom import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit

from adit_core.dicom.elements import cut_file
from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer
from adit_dev.synthetic import big_study, standard_corpus, to_bytes
from tests.identity import leaks

SECRET = "0" * 64
OPTIONS = [
    PseudonymizationOptions(pseudonym="SUBJ01"),
    PseudonymizationOptions("SUBJ02", trial_protocol_id="PROJ7", trial_protocol_name="Lung"),
]


def interleaved() -> Iterator[Dataset]:
    """Every instance of the corpus, the studies (and so the patients) taking turns."""
    studies = [list(study.datasets()) for study in standard_corpus().studies]
    for batch in itertools.zip_longest(*studies):
        yield from (ds for ds in batch if ds is not None)


def assert_same_as_whole(files: list[bytes], options: PseudonymizationOptions) -> None:
    reusing = Pseudonymizer(SECRET, options)
    whole = Pseudonymizer(SECRET, options)
    for data in files:
        fast = reusing.instance(DicomInstance.from_bytes(data))
        slow = whole.whole_instance(DicomInstance.from_bytes(data))
        assert fast.data == slow.data
        assert fast.sop_instance_uid == slow.sop_instance_uid == fast.dataset().SOPInstanceUID


@pytest.mark.parametrize("options", OPTIONS, ids=["pseudonym", "trial"])
def test_interleaved_patients_give_the_same_bytes(options: PseudonymizationOptions) -> None:
    files = [to_bytes(ds) for ds in interleaved()]
    assert all(cut_file(data) is not None for data in files)
    assert_same_as_whole(files, options)


@pytest.mark.parametrize("options", OPTIONS, ids=["pseudonym", "trial"])
def test_a_series_gives_the_same_bytes(options: PseudonymizationOptions) -> None:
    """Times that change per instance, dates that change now and then, times that are
    missing: a date and its time are shifted together, whatever repeats."""
    files = []
    for i, ds in enumerate(big_study(40, rows=16, cols=16).datasets()):
        ds.ContentDate = "20250101"
        ds.ContentTime = f"1200{i % 60:02d}.{i:06d}"
        ds.AcquisitionDate = "20250101" if i % 5 else "20241231"
        ds.AcquisitionTime = "115959"
        if i % 3 == 0:
            del ds.AcquisitionTime
        if i % 7 == 0:
            ds.AcquisitionDateTime = f"20250101{i % 24:02d}0000"
        files.append(to_bytes(ds))
    assert_same_as_whole(files, options)


def test_an_instance_seen_again_gives_the_same_bytes() -> None:
    """A retry or a resumed task fetches instances the pseudonymizer has already done."""
    files = [to_bytes(ds) for ds in big_study(6, rows=8, cols=8).datasets()]
    p = Pseudonymizer(SECRET, OPTIONS[0])
    first = [p.instance(DicomInstance.from_bytes(data)) for data in files]
    again = [p.instance(DicomInstance.from_bytes(data)) for data in reversed(files)]
    assert [i.data for i in reversed(again)] == [i.data for i in first]
    assert_same_as_whole(files + files, OPTIONS[0])


def test_implicit_vr_gives_the_same_bytes() -> None:
    files = []
    for ds in interleaved():
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        files.append(to_bytes(ds))
    assert all(cut_file(data) is not None for data in files)
    assert_same_as_whole(files, OPTIONS[1])


def test_encapsulated_pixel_data_is_copied_verbatim() -> None:
    files = []
    for ds in itertools.islice(big_study(6, rows=8, cols=8).datasets(), 6):
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PixelData = encapsulate([b"\xff\xd8fragment-one\xff\xd9", b"\xff\xd8two\xff\xd9"])
        ds["PixelData"].VR = "OB"
        files.append(to_bytes(ds))
    assert all(cut_file(data) is not None for data in files)
    assert_same_as_whole(files, OPTIONS[0])
    out = Pseudonymizer(SECRET, OPTIONS[0]).instance(DicomInstance.from_bytes(files[0]))
    assert out.data.endswith(files[0][-40:])


def test_unusual_layouts_are_decoded_whole() -> None:
    datasets = list(itertools.islice(big_study(4, rows=8, cols=8).datasets(), 3))
    trailing = datasets[0]
    trailing.DataSetTrailingPadding = b"\x00" * 4  # an element after the pixel data
    big_endian = datasets[1]
    big_endian.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    files = [to_bytes(trailing), to_bytes(big_endian)]
    assert [cut_file(data) for data in files] == [None, None]
    assert_same_as_whole(files, OPTIONS[0])


def test_broken_files_are_not_cut() -> None:
    data = to_bytes(next(big_study(4, rows=8, cols=8).datasets()))
    for broken in (data[:200], data[:128] + b"XXXX" + data[132:], b"", data[:-3]):
        assert cut_file(broken) is None


def test_nothing_identifying_survives_the_reuse() -> None:
    corpus = standard_corpus()
    studies = {study.study_uid: study for study in corpus.studies}
    p = Pseudonymizer(SECRET, OPTIONS[0])
    for ds in interleaved():
        study = studies[ds.StudyInstanceUID]
        out = p.instance(DicomInstance.from_bytes(to_bytes(ds))).dataset()
        assert leaks(out, study) == []
        assert out.PatientID == "SUBJ01"
