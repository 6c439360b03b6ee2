"""Pseudonymization on our generated data: nothing identifying left, consistent everywhere."""

from __future__ import annotations

from datetime import datetime

from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer
from adit_dev.synthetic import standard_corpus
from tests.identity import leaks

SECRET = "0" * 64


def pseudonymized(pseudonym: str, secret: str = SECRET, **options):  # type: ignore[no-untyped-def]
    corpus = standard_corpus()
    study = corpus.studies[0]
    p = Pseudonymizer(secret, PseudonymizationOptions(pseudonym=pseudonym, **options))
    return study, [p(ds) for ds in study.datasets()]


def test_no_identifier_survives_anywhere() -> None:
    for study in standard_corpus().studies:
        p = Pseudonymizer(SECRET, PseudonymizationOptions(pseudonym="SUBJ01"))
        for ds in study.datasets():
            out = p(ds)
            assert leaks(out, study) == []
            assert out.PatientID == "SUBJ01"
            assert str(out.PatientName) == "SUBJ01"
            # The result still encodes as a valid file.
            DicomInstance.from_dataset(out).dataset()


def test_same_pseudonym_gives_same_uids_and_dates_across_runs() -> None:
    _, first = pseudonymized("SUBJ01")
    _, second = pseudonymized("SUBJ01")
    assert [d.SOPInstanceUID for d in first] == [d.SOPInstanceUID for d in second]
    assert [d.StudyInstanceUID for d in first] == [d.StudyInstanceUID for d in second]
    assert first[0].StudyDate == second[0].StudyDate
    _, other = pseudonymized("SUBJ02")
    assert first[0].StudyInstanceUID != other[0].StudyInstanceUID
    _, other_secret = pseudonymized("SUBJ01", secret="1" * 64)
    assert first[0].StudyInstanceUID != other_secret[0].StudyInstanceUID


def test_age_at_study_is_preserved() -> None:
    study, out = pseudonymized("SUBJ01")

    def age(birth: str, day: str) -> int:
        return (datetime.strptime(day, "%Y%m%d") - datetime.strptime(birth, "%Y%m%d")).days

    original = age(study.birth_date, study.study_date)
    assert out[0].StudyDate != study.study_date
    assert age(out[0].PatientBirthDate, out[0].StudyDate) == original


def test_trial_tags_and_xnat_comments() -> None:
    _, out = pseudonymized("SUBJ01", trial_protocol_id="PROJ7", trial_protocol_name="Lung study")
    ds = out[0]
    assert ds.ClinicalTrialProtocolID == "PROJ7"
    assert ds.ClinicalTrialProtocolName == "Lung study"
    assert ds.PatientComments == (
        f"Project:PROJ7 Subject:SUBJ01 Session:SUBJ01_{ds.StudyDate}-{ds.StudyTime}"
    )
    _, plain = pseudonymized("SUBJ01")
    assert "PatientComments" not in plain[0]
    assert "ClinicalTrialProtocolID" not in plain[0]


def test_two_studies_of_one_patient_stay_distinct() -> None:
    corpus = standard_corpus()
    ct, mr = corpus.studies_of("0012345")
    p = Pseudonymizer(SECRET, PseudonymizationOptions(pseudonym="SUBJ01"))
    a = p(next(ct.datasets()))
    b = p(next(mr.datasets()))
    assert a.StudyInstanceUID != b.StudyInstanceUID
    assert a.AccessionNumber != b.AccessionNumber
    assert a.PatientID == b.PatientID == "SUBJ01"
    assert a.PatientBirthDate == b.PatientBirthDate
