"""Every row of PS3.15 Table E.1-1 does what the profile and our options say, and the
rules around it: scrubbing, burned-in annotation, times of day, the method codes."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence

from adit_core import deid_profile
from adit_core.burned_in import burned_in_reason
from adit_core.deid_profile import Action
from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer

SECRET = "0" * 64
CONCRETE_ROWS = [r for r in deid_profile.ROWS if all(c in "0123456789ABCDEF" for c in r.tag)]


def _base() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    ds.StudyInstanceUID = "1.2.3.4.5.6"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.7"
    ds.PatientID = "PID12345"
    ds.PatientName = "Doe^John"
    ds.PatientBirthDate = "19700101"
    ds.StudyDate = "20200102"
    ds.StudyTime = "101010"
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    return ds


def _value(vr: str, n: int) -> object:
    return {
        "DA": "20200103",
        "TM": "111213",
        "DT": "20200103111213",
        "UI": f"1.2.826.0.1.{n}",
        "PN": "Smith^Alice",
        "SH": f"VAL{n}",
        "LO": f"value {n}",
        "ST": f"text {n}",
        "LT": f"long text {n}",
        "UT": f"unlimited {n}",
        "UC": f"uc {n}",
        "CS": f"CS{n}",
        "AE": "STATION_AE",
        "AS": "045Y",
        "IS": "12",
        "DS": "1.5",
        "US": 7,
        "SS": 7,
        "UL": 7,
        "SL": 7,
        "FL": 1.5,
        "FD": 1.5,
        "OB": b"\x01\x02",
        "OW": b"\x01\x02",
        "UN": b"\x01\x02",
        "UR": "http://example.org/x",
        "AT": 0x00100010,
    }[vr]


def _pseudonymize(ds: Dataset, **options: object) -> Dataset:
    p = Pseudonymizer(SECRET, PseudonymizationOptions("SUBJ01", **options))  # type: ignore[arg-type]
    return p(ds)


@pytest.mark.parametrize("row", CONCRETE_ROWS, ids=lambda r: f"{r.tag}-{r.name[:40]}")
def test_every_row_of_table_e_1_1(row: deid_profile.Row) -> None:
    tag = int(row.tag, 16)
    try:
        vr = dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        pytest.skip(f"{row.name} is not in pydicom's dictionary")
    if tag >> 16 == 0x0000 or tag >> 16 == 0x0002 or tag == 0xFFFAFFFA or tag == 0xFFFCFFFC:
        # Command and file meta elements are not in data sets; the meta UID is tested below.
        pytest.skip("not a data set attribute")
    ds = _base()
    keyword = keyword_for_tag(tag)
    if vr == "SQ":
        item = Dataset()
        item.CodeValue = "C123"
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = "a meaning"
        item.ReferencedSOPInstanceUID = "1.2.826.0.1.99"
        value: object = Sequence([item])
    else:
        value = _value(vr, tag & 0xFFFF)
    existing = ds.get(tag)
    if existing is not None:
        value = existing.value
    else:
        ds.add_new(tag, vr, value)
    before = ds[tag].value
    out = _pseudonymize(ds)
    action = row.action
    present = tag in out
    after = out[tag].value if present else None
    if tag in (0x00100010, 0x00100020):  # PatientName, PatientID: the pseudonym (Z: dummy)
        assert str(after) == "SUBJ01"
    elif action is Action.REMOVE or keyword in _REMOVED_STRICTER:
        assert not present, f"{keyword} should be removed"
    elif action is Action.EMPTY:
        assert not after or after != before, f"{keyword} should be emptied or a dummy"
    elif action is Action.DUMMY:
        assert present and (vr == "SQ" or after != before), f"{keyword} should be a dummy"
    elif action is Action.SHIFT and vr not in ("DA", "DT", "TM"):
        assert not present, f"{keyword}: no date to move, so it is removed"
    elif action in (Action.UID, Action.SHIFT):
        if vr == "TM":
            assert after == before  # times of day are kept by design (whole-day shift)
        else:
            assert present and after != before, f"{keyword} should be replaced"
    elif action is Action.REFERENCES:
        assert present and out[tag].value[0].ReferencedSOPInstanceUID != "1.2.826.0.1.99"
    elif action is Action.KEEP:
        assert after == before, f"{keyword} should be kept"
    elif action is Action.CLEAN:
        if vr in ("DA", "DT"):
            assert after != before  # dates move with the patient's shift
        elif vr == "SQ":
            assert present and out[tag].value[0].CodeValue == "C123"
        else:
            assert after == before, f"{keyword} holds nothing identifying: kept as it is"


# Patient-level free text that we remove although Clean Descriptors would allow cleaning.
_REMOVED_STRICTER = {
    "PatientComments",
    "AdditionalPatientHistory",
    "MedicalAlerts",
    "Allergies",
    "PatientState",
    "Occupation",
    "IssuerOfPatientID",
    "PatientBirthName",
    "PatientMotherBirthName",
}


def test_private_overlay_and_curve_attributes_are_removed() -> None:
    ds = _base()
    block = ds.private_block(0x0009, "ACME", create=True)
    block.add_new(0x01, "LO", "Doe John private")
    ds.add_new(0x60003000, "OW", b"\x00\x01")
    ds.add_new(0x60004000, "LT", "overlay comment")
    ds.add_new(0x50000010, "US", 1)
    out = _pseudonymize(ds)
    assert not any(e.tag.is_private for e in out)
    assert 0x60003000 not in out and 0x60004000 not in out and 0x50000010 not in out


def test_every_result_says_how_it_was_deidentified() -> None:
    out = _pseudonymize(_base())
    assert out.PatientIdentityRemoved == "YES"
    codes = [
        (i.CodeValue, i.CodingSchemeDesignator) for i in out.DeidentificationMethodCodeSequence
    ]
    assert ("113100", "DCM") in codes  # Basic Application Confidentiality Profile
    assert ("113107", "DCM") in codes  # Retain Longitudinal ... Modified Dates
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_file_meta_takes_the_new_sop_instance_uid_even_when_it_differed() -> None:
    ds = _base()
    ds.file_meta.MediaStorageSOPInstanceUID = "9.9.9.9"
    out = _pseudonymize(ds)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != "1.2.3.4.5.6.7.8.9"
    instance = DicomInstance.from_dataset(out)
    assert DicomInstance.from_bytes(instance.data).sop_instance_uid == out.SOPInstanceUID


def test_an_instance_is_known_by_its_data_set_uid_not_the_meta_copy() -> None:
    ds = _base()
    ds.file_meta.MediaStorageSOPInstanceUID = "9.9.9.9"
    from io import BytesIO

    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert DicomInstance.from_bytes(out.getvalue()).sop_instance_uid == "1.2.3.4.5.6.7.8.9"


# --- scrubbing free text -------------------------------------------------------------


def test_free_text_loses_identifying_values_as_whole_tokens_only() -> None:
    ds = _base()
    ds.PatientID = "1"  # too short to scrub
    ds.AccessionNumber = "2"
    ds.OperatorsName = "Miller^Anna"
    ds.InstitutionName = "St Mary Hospital"
    ds.StationName = "CT01"
    ds.SeriesDescription = "Cervical OBLI 2 for Doe, serial 123456, St Mary Hospital CT01x"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "DOE"]  # CS: never scrubbed
    ds.BodyPartExamined = "JOHN"
    ds.ProtocolName = "Miller protocol"
    out = _pseudonymize(ds)
    assert out.SeriesDescription == ("Cervical OBLI 2 for ***, serial 123456, *** CT01x")
    assert list(out.ImageType) == ["ORIGINAL", "PRIMARY", "DOE"]
    assert out.BodyPartExamined == "JOHN"
    assert out.ProtocolName == "*** protocol"


def test_code_values_are_never_scrubbed() -> None:
    ds = _base()
    ds.PatientName = "TEST^Person"
    item = Dataset()
    item.CodeValue = "TEST"
    item.CodingSchemeDesignator = "99LOCAL"
    item.CodeMeaning = "TEST procedure"
    ds.ProcedureCodeSequence = Sequence([item])
    out = _pseudonymize(ds)
    assert out.ProcedureCodeSequence[0].CodeValue == "TEST"
    assert out.ProcedureCodeSequence[0].CodeMeaning == "TEST procedure"


# --- burned-in annotation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sop_class", "modality", "said", "counts"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "CT", None, False),
        ("1.2.840.10008.5.1.4.1.1.2", "CT", "YES", True),
        ("1.2.840.10008.5.1.4.1.1.6.1", "US", None, True),
        ("1.2.840.10008.5.1.4.1.1.6", "US", None, True),  # retired ultrasound
        ("1.2.840.10008.5.1.4.1.1.6.1", "US", "NO", False),
        ("1.2.840.10008.5.1.4.1.1.7", "OT", None, True),
        ("1.2.840.10008.5.1.4.1.1.7", "OT", "NO", False),
    ],
)
def test_burned_in_annotation(
    sop_class: str, modality: str, said: str | None, counts: bool
) -> None:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    if said is not None:
        ds.BurnedInAnnotation = said
    assert (burned_in_reason(ds) is not None) is counts


# --- times of day ----------------------------------------------------------------------


def test_times_are_kept_unless_asked_to_move_within_their_day() -> None:
    def run(shift: bool) -> Dataset:
        ds = _base()
        ds.StudyTime = "231500.5"
        ds.AcquisitionDateTime = "20200102231500"
        ds.ContentTime = "010000"
        return _pseudonymize(ds, shift_times=shift)

    kept, moved = run(False), run(True)
    assert kept.StudyTime == "231500.5" and kept.ContentTime == "010000"
    assert moved.StudyDate == kept.StudyDate  # dates never move with the hours
    assert moved.PatientBirthDate == kept.PatientBirthDate
    hours = (int(moved.ContentTime[:2]) - 1) % 24
    assert 1 <= hours <= 23
    assert moved.StudyTime == f"{(23 + hours) % 24:02d}1500.5"
    assert moved.AcquisitionDateTime[:8] == kept.AcquisitionDateTime[:8]
    assert moved.AcquisitionDateTime[8:10] == f"{(23 + hours) % 24:02d}"
    again = run(True)
    assert again.StudyTime == moved.StudyTime  # same pseudonym: same shift in every task


def test_ages_stay_exact() -> None:
    out = _pseudonymize(_base())

    def days(a: str, b: str) -> int:
        return (datetime.strptime(b, "%Y%m%d") - datetime.strptime(a, "%Y%m%d")).days

    assert out.StudyDate != "20200102"
    assert days(out.PatientBirthDate, out.StudyDate) == days("19700101", "20200102")
