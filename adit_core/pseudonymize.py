"""Pseudonymization: dicognito, seeded so that results are consistent everywhere.

The seed is derived from the deployment secret and the pseudonym. The same patient
pseudonymized with the same pseudonym therefore gets the same UIDs and the same date
shift in every task and every job (ADIT's anonymizer is unseeded, so its results differ
per task). All dates move by one offset, so ages stay exact.

On top of dicognito: private tags and free-text patient fields are removed (dicognito
leaves them, and they often hold names or IDs), PatientID and PatientName become the
pseudonym, the clinical trial tags are set, and PatientComments takes ADIT's XNAT form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from dicognito.anonymizer import Anonymizer
from dicognito.datetimeanonymizer import DateTimeAnonymizer
from pydicom import Dataset
from pydicom.tag import Tag

from adit_core.dicom.elements import cut_file
from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize_reuse import HeaderReuse

# Free text that may name or identify the patient and that dicognito keeps.
_FREE_TEXT = (
    "PatientComments",
    "AdditionalPatientHistory",
    "MedicalAlerts",
    "Allergies",
    "PatientState",
    "ImageComments",
    "RequestedProcedureComments",
    "InterpretationText",
    "IssuerOfPatientID",
    "PatientBirthName",
    "PatientMotherBirthName",
)


def seed_for(secret: str, pseudonym: str) -> str:
    return hmac.new(secret.encode(), pseudonym.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PseudonymizationOptions:
    pseudonym: str
    trial_protocol_id: str = ""
    trial_protocol_name: str = ""


class Pseudonymizer:
    """Pseudonymizes data sets of one patient (one pseudonym); reuse it for a whole task."""

    def __init__(self, secret: str, options: PseudonymizationOptions):
        if not options.pseudonym:
            raise ValueError("a pseudonym is required to pseudonymize")
        self.options = options
        self._anonymizer = Anonymizer(seed=seed_for(secret, options.pseudonym))
        _whole_day_shift(self._anonymizer)
        self._reuse = HeaderReuse(self)

    def __call__(self, ds: Dataset) -> Dataset:
        _clean(ds, _identity_pattern(ds))
        self._anonymizer.anonymize(ds)
        opts = self.options
        ds.PatientID = opts.pseudonym
        ds.PatientName = opts.pseudonym
        if opts.trial_protocol_id:
            ds.ClinicalTrialProtocolID = opts.trial_protocol_id
        if opts.trial_protocol_name:
            ds.ClinicalTrialProtocolName = opts.trial_protocol_name
        if opts.trial_protocol_id:
            session = f"{opts.pseudonym}_{ds.get('StudyDate', '')}-{ds.get('StudyTime', '')}"
            ds.PatientComments = (
                f"Project:{opts.trial_protocol_id} Subject:{opts.pseudonym} Session:{session}"
            )
        if "SpecificCharacterSet" not in ds:
            ds.SpecificCharacterSet = "ISO_IR 192"
        return ds

    def instance(self, instance: DicomInstance) -> DicomInstance:
        """Pseudonymize an encoded instance, re-encoding only what changes.

        Header elements repeated from earlier instances are re-used (HeaderReuse); the
        pixel data is copied as it is. Unusual layouts are decoded whole.
        """
        cut = cut_file(instance.data)
        if cut is not None:
            data, sop_instance_uid = self._reuse.instance(cut)
            return DicomInstance(
                data=data,
                sop_instance_uid=sop_instance_uid,
                sop_class_uid=instance.sop_class_uid,
                transfer_syntax_uid=cut.transfer_syntax_uid,
            )
        return self.whole_instance(instance)

    def whole_instance(self, instance: DicomInstance) -> DicomInstance:
        """Pseudonymize an encoded instance by decoding its whole header."""
        split = instance.split_pixel_data()
        if split is None:
            return DicomInstance.from_dataset(self(instance.dataset()))
        header, pixels = split
        return DicomInstance.from_header_and_pixels(self(header), pixels)


def _whole_day_shift(anonymizer: Anonymizer) -> None:
    """Round dicognito's date offset (whole hours) to whole days.

    An offset of, say, 100 days and 7 hours moves a date-only value (birth date) and a
    date with a time (study date and time) across midnight differently, which changes the
    age at study by a day. Whole days keep ages exact and times of day unchanged.
    """
    for handler in anonymizer._element_handlers:  # dicognito is pinned (0.19.0)
        if isinstance(handler, DateTimeAnonymizer):
            days = round(handler.offset.total_seconds() / 86400)
            handler.offset = timedelta(days=days)


_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC"})
# IDs dicognito replaces by a keyed mapping; scrubbing them first would map every one of
# them to the same replacement.
_MAPPED_BY_DICOGNITO = frozenset(
    {
        "AccessionNumber",
        "OtherPatientIDs",
        "PatientID",
        "PerformedProcedureStepID",
        "RequestedProcedureID",
        "ScheduledProcedureStepID",
        "StationName",
        "StudyID",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
    }
)


def _identity_pattern(ds: Dataset) -> re.Pattern[str] | None:
    """The patient's own ID, names and birth date, as they may appear in free text."""
    needles: set[str] = set()
    for keyword in ("PatientID", "AccessionNumber", "OtherPatientIDs"):
        value = ds.get(keyword)
        if value:
            needles |= {str(v) for v in (value if isinstance(value, list) else [value])}
    name = str(ds.get("PatientName", "") or "")
    needles |= {part for part in re.split(r"[\^=]", name) if len(part.strip()) >= 3}
    birth = str(ds.get("PatientBirthDate", "") or "")
    if len(birth) == 8:
        needles |= {
            birth,
            f"{birth[6:]}.{birth[4:6]}.{birth[:4]}",
            f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
        }
    needles = {n.strip() for n in needles if n and n.strip()}
    if not needles:
        return None
    ordered = sorted(needles, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered), re.IGNORECASE)


def _clean(ds: Dataset, pattern: re.Pattern[str] | None) -> None:
    """One walk: drop private tags and free-text patient fields, scrub the patient's identity.

    Reports (SR text, comments) often name the patient; dicognito only handles the
    attributes it knows. Names shorter than 3 characters are left (too many false hits).
    """
    for tag in list(ds.keys()):
        if tag.is_private or tag in _FREE_TEXT_TAGS:
            del ds[tag]
            continue
        raw = ds.get_item(tag)
        vr = getattr(raw, "VR", None) or ds[tag].VR
        if vr == "SQ":
            for item in ds[tag].value:
                _clean(item, pattern)
        elif pattern is not None and vr in _TEXT_VRS and tag not in _MAPPED_TAGS:
            elem = ds[tag]
            if isinstance(elem.value, str) and pattern.search(elem.value):
                elem.value = pattern.sub("***", elem.value)


_FREE_TEXT_TAGS = frozenset(Tag(keyword) for keyword in _FREE_TEXT)
_MAPPED_TAGS = frozenset(Tag(keyword) for keyword in _MAPPED_BY_DICOGNITO)
