"""C-GET receives every instance in its own transfer syntax, whatever the study holds:
one presentation context per (SOP class, transfer syntax), several associations when the
study holds more SOP classes than one association has room for."""

from __future__ import annotations

import logging
from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from adit_core.dicom import dimse, operations
from adit_core.dicom.dimse_contexts import (
    CLASSES_PER_ASSOCIATION,
    MAX_CONTEXTS,
    group_series,
    retrieve_contexts,
)
from adit_core.dicom.query import Level, Query
from adit_dev.orthanc import OrthancServer
from tests.realworld.corpus import Corpus

MODEL = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Q/R GET


def test_a_context_per_transfer_syntax_fits_nine_classes() -> None:
    classes = [f"1.2.840.10008.5.1.4.1.1.{n}" for n in range(1, CLASSES_PER_ASSOCIATION + 1)]
    contexts, roles = retrieve_contexts(MODEL, classes)
    assert len(contexts) <= MAX_CONTEXTS and len(roles) == CLASSES_PER_ASSOCIATION
    single = [c for c in contexts[1:] if len(c.transfer_syntax) == 1]
    assert len({(c.abstract_syntax, c.transfer_syntax[0]) for c in single}) == len(single)
    with pytest.raises(ValueError):
        retrieve_contexts(MODEL, [*classes, "1.2.840.10008.5.1.4.1.1.99"])


def test_series_are_grouped_to_fit_an_association() -> None:
    by_series = {f"1.2.3.{n}": {f"1.2.840.10008.5.1.4.1.1.{n}"} for n in range(20)}
    by_series["1.2.3.0b"] = {"1.2.840.10008.5.1.4.1.1.0"}  # a class seen before: no room used
    groups = group_series(by_series)
    assert [len(classes) for _, classes in groups] == [9, 9, 2]
    assert sorted(s for series, _ in groups for s in series) == sorted(by_series)


@pytest.mark.orthanc
def test_a_study_with_more_classes_than_one_association_arrives_intact(
    realworld_corpus: Corpus, empty_b: OrthancServer, caplog: pytest.LogCaptureFixture
) -> None:
    """One file of every SOP class of the corpus (retired ultrasound included), put into one
    study, each class a series of its own."""
    one_per_class: dict[str, bytes] = {}
    for f in realworld_corpus.files:
        if f.sop_class_uid not in one_per_class:
            one_per_class[f.sop_class_uid] = f.data
    assert len(one_per_class) > CLASSES_PER_ASSOCIATION
    study_uid = generate_uid()
    sent: dict[str, str] = {}  # SOP Instance UID -> transfer syntax
    for data in one_per_class.values():
        ds = dcmread(BytesIO(data))
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = generate_uid()
        ds.PatientID = "CLASSES"
        out = BytesIO()
        ds.save_as(out, enforce_file_format=True)
        empty_b.upload(out.getvalue())
        sent[str(ds.SOPInstanceUID)] = str(ds.file_meta.TransferSyntaxUID)
    server = empty_b.as_dicom_server("b")
    images = operations.find(server, Query(level=Level.IMAGE, study_instance_uid=study_uid))
    classes: dict[str, set[str]] = {}
    for image in images.datasets:
        classes.setdefault(str(image.SeriesInstanceUID), set()).add(str(image.SOPClassUID))
    with caplog.at_level(logging.INFO):
        received = list(dimse.get(server, study_uid, sop_classes=classes))
    assert "several associations" in caplog.text
    assert {i.sop_instance_uid: i.transfer_syntax_uid for i in received} == sent
