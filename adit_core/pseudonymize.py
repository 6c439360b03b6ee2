"""Pseudonymization: the PS3.15 Basic Profile (with our options), seeded for consistency.

What happens to each attribute is the table in `adit_core.deid_profile` (PS3.15 Table
E.1-1, as data). UIDs, person names, IDs and dates are replaced by dicognito, seeded from
the deployment secret and the pseudonym: the same patient pseudonymized with the same
pseudonym gets the same UIDs and the same date shift in every task and every job (ADIT's
anonymizer is unseeded, so its results differ per task). Every date moves by one whole
number of days, so ages stay exact; times of day are kept unless `shift_times` asks for
them to move too (by whole hours, within their day).

Free text that is kept (descriptions, SR report text, any other text value) is scrubbed:
every whole token that is an identifying value of the same instance (the patient's names,
IDs and birth date; other persons' names; institution, department, station and device
identifiers; see `deid_profile.identifying_tags`) is replaced by `***`. Only text VRs
are scrubbed (LO, LT, SH, ST, UT, UC: never CS, UI, dates or code values), only whole
tokens (`123` does not touch `123456`), and only values of at least 3 characters
(shorter ones would hit everywhere).

PatientID and PatientName become the pseudonym, the clinical trial tags are set, and
PatientComments takes ADIT's XNAT form when a trial protocol ID is given. Every result
says PatientIdentityRemoved YES and lists the profile and options in
DeidentificationMethodCodeSequence.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from dicognito.anonymizer import Anonymizer
from dicognito.datetimeanonymizer import DateTimeAnonymizer
from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from adit_core import deid_profile
from adit_core.deid_profile import Action
from adit_core.dicom.elements import cut_file, encode_meta, split_meta
from adit_core.dicom.instance import DicomInstance
from adit_core.errors import AditError
from adit_core.pseudonymize_reuse import HeaderReuse

# Patient-level free text is removed even where the Clean Descriptors option would allow
# keeping it cleaned: it is about the person, and no cleaning can tell what identifies.
_ALWAYS_REMOVED = frozenset(
    Tag(k)
    for k in (
        "PatientComments",
        "AdditionalPatientHistory",
        "MedicalAlerts",
        "Allergies",
        "PatientState",
        "Occupation",
        "IssuerOfPatientID",
        "PatientBirthName",
        "PatientMotherBirthName",
    )
)
# Replaced by dicognito with a keyed mapping (a dummy value, which Z and D allow); emptying
# or scrubbing them first would map every one of them to the same replacement.
_MAPPED_BY_DICOGNITO = frozenset(
    Tag(k)
    for k in (
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
        "InstitutionName",
        "InstitutionAddress",
    )
)
_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC"})
_CODE_TAGS = frozenset(
    Tag(k)
    for k in (
        "CodeValue",
        "LongCodeValue",
        "URNCodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "MappingResource",
        "ContextIdentifier",
        "ContextGroupVersion",
    )
)
_DUMMY_TEXT = "ANONYMIZED"
_MAX_LENGTH = {"SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UC": 1 << 30, "UT": 1 << 30}
_MIN_NEEDLE = 3
_SCRUBBED = "***"
_CLINICAL_TRIAL_SUBJECT_ID = Tag("ClinicalTrialSubjectID")
# LO, up to 64 characters a value: the profile, then each option.
_DEIDENTIFICATION_METHOD = [
    "ADIT: PS3.15 Basic Application Confidentiality Profile",
    *dict.fromkeys(option.meaning.removesuffix(" Option")[:64] for option in deid_profile.OPTIONS),
]


class PixelDataChanged(AditError):
    """Pseudonymization would lose or change pixel data: the instance is not sent."""


def seed_for(secret: str, pseudonym: str) -> str:
    return hmac.new(secret.encode(), pseudonym.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PseudonymizationOptions:
    pseudonym: str
    trial_protocol_id: str = ""
    trial_protocol_name: str = ""
    shift_times: bool = False  # move times of day too (whole hours, within their day)


class Pseudonymizer:
    """Pseudonymizes data sets of one patient (one pseudonym); reuse it for a whole task."""

    def __init__(self, secret: str, options: PseudonymizationOptions):
        if not options.pseudonym:
            raise ValueError("a pseudonym is required to pseudonymize")
        self.options = options
        seed = seed_for(secret, options.pseudonym)
        self._anonymizer = Anonymizer(seed=seed)
        _whole_day_shift(self._anonymizer)
        self._time_shift_hours = 1 + int(seed[:8], 16) % 23 if options.shift_times else 0
        self._seed = seed.encode()
        self._reuse = HeaderReuse(self)

    def __call__(self, ds: Dataset) -> Dataset:
        pattern = identity_pattern(ds)
        _apply_profile(ds, pattern, self._uid_for)
        self._anonymizer.anonymize(ds)
        opts = self.options
        ds.PatientID = opts.pseudonym
        ds.PatientName = opts.pseudonym
        if _CLINICAL_TRIAL_SUBJECT_ID in ds:
            ds.ClinicalTrialSubjectID = opts.pseudonym
        if opts.trial_protocol_id:
            ds.ClinicalTrialProtocolID = opts.trial_protocol_id
        if opts.trial_protocol_name:
            ds.ClinicalTrialProtocolName = opts.trial_protocol_name
        if opts.trial_protocol_id:
            session = f"{opts.pseudonym}_{ds.get('StudyDate', '')}-{ds.get('StudyTime', '')}"
            ds.PatientComments = (
                f"Project:{opts.trial_protocol_id} Subject:{opts.pseudonym} Session:{session}"
            )
        if self._time_shift_hours:
            _shift_times(ds, self._time_shift_hours)
        _mark(ds)
        if "SpecificCharacterSet" not in ds:
            ds.SpecificCharacterSet = "ISO_IR 192"
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        if getattr(ds, "preamble", None):
            ds.preamble = bytes(128)  # application data of the source's: not ours to pass on
        return ds

    def _uid_for(self, uid: str) -> str:
        """A keyed replacement for a UID dicognito leaves (it keeps every "...ClassUID")."""
        digest = hmac.new(self._seed, uid.encode(), hashlib.sha256).digest()
        return f"2.25.{int.from_bytes(digest[:16], 'big')}"

    def instance(self, instance: DicomInstance) -> DicomInstance:
        """Pseudonymize an encoded instance, re-encoding only what changes.

        Header elements repeated from earlier instances are re-used (HeaderReuse); the
        pixel data is copied as it is. Unusual layouts (big endian, deflated, elements
        after the pixel data) are decoded whole, and their pixel data is checked.
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
        """Pseudonymize an encoded instance by decoding its whole header.

        The file meta is the source's with the new SOP Instance UID, exactly as the
        re-using path writes it (pydicom would add elements of its own).
        """
        split = instance.split_pixel_data()
        if split is not None:
            header, pixels = split
            out = DicomInstance.from_header_and_pixels(self(header), pixels)
            return _with_source_meta(out, instance)
        ds = instance.dataset()
        before = _pixel_values(ds)
        out = _with_source_meta(DicomInstance.from_dataset(self(ds)), instance)
        after = _pixel_values(DicomInstance.from_bytes(out.data).dataset())
        if after != before:
            raise PixelDataChanged(
                f"instance {instance.sop_instance_uid}: pseudonymizing it changed its pixel "
                f"data ({_sizes(before)} bytes before, {_sizes(after)} after); not sent"
            )
        return out


def _with_source_meta(out: DicomInstance, source: DicomInstance) -> DicomInstance:
    source_meta, out_body = split_meta(source.data), split_meta(out.data)
    if source_meta is None or out_body is None:
        return out
    data = encode_meta(source_meta[0], out.sop_instance_uid) + out_body[1]
    return DicomInstance(
        data=data,
        sop_instance_uid=out.sop_instance_uid,
        sop_class_uid=out.sop_class_uid,
        transfer_syntax_uid=out.transfer_syntax_uid,
    )


def _pixel_values(ds: Dataset) -> tuple[bytes, ...]:
    return tuple(
        bytes(ds[tag].value or b"") for tag in (0x7FE00008, 0x7FE00009, 0x7FE00010) if tag in ds
    )


def _sizes(values: tuple[bytes, ...]) -> str:
    return "+".join(str(len(v)) for v in values) or "0"


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


# --- the identifying values of an instance --------------------------------------------


def _needles(ds: Dataset) -> set[str]:
    found: set[str] = set()
    for tag in deid_profile.identifying_tags():
        if tag not in ds:
            continue
        elem = ds[tag]
        if elem.VR == "SQ" or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, (list, tuple)) else [elem.value]
        for value in values:
            text = str(value)
            if elem.VR == "PN":
                found |= {p.strip() for p in re.split(r"[\^=]", text)}
            elif elem.VR == "DA" and len(text) == 8:
                found |= {text, f"{text[6:]}.{text[4:6]}.{text[:4]}",
                          f"{text[:4]}-{text[4:6]}-{text[6:]}"}  # fmt: skip
            else:
                found.add(text.strip())
    return {n for n in found if len(n) >= _MIN_NEEDLE}


def identity_pattern(ds: Dataset) -> re.Pattern[str] | None:
    """Whole tokens of the instance's identifying values, as they may appear in free text."""
    needles = _needles(ds)
    if not needles:
        return None
    ordered = sorted(needles, key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in ordered)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def scrub(text: str, pattern: re.Pattern[str] | None) -> str:
    return text if pattern is None else pattern.sub(_SCRUBBED, text)


# --- applying the table ---------------------------------------------------------------


def _apply_profile(
    ds: Dataset, pattern: re.Pattern[str] | None, uid_for: Callable[[str], str]
) -> None:
    """One walk over the data set (nested too): remove, empty, dummy or clean per the table.

    UIDs, person names, mapped IDs and dates are left to dicognito, which replaces them
    consistently (keyed) right after.
    """
    for tag in list(ds.keys()):
        elem = ds[tag]
        if tag in _ALWAYS_REMOVED or tag & 0xFFFF == 0:  # group lengths would be wrong now
            del ds[tag]
            continue
        action = deid_profile.action_for(int(tag))
        vr = elem.VR
        if action is Action.SHIFT and vr not in ("DA", "DT", "TM"):
            action = Action.REMOVE  # a binary timestamp or a time zone: nothing to move
        if action is Action.REMOVE:
            del ds[tag]
        elif action is Action.UID and vr == "UI" and str(elem.keyword).endswith("ClassUID"):
            values = elem.value if isinstance(elem.value, (list, tuple)) else [elem.value]
            mapped = [uid_for(str(v)) for v in values if v]
            elem.value = mapped if len(mapped) > 1 else (mapped[0] if mapped else None)
        elif action is Action.EMPTY:
            _empty(ds, elem)
        elif action is Action.DUMMY:
            _dummy(ds, elem, pattern, uid_for)
        elif vr == "SQ":  # kept, references, cleaned structured content
            for item in elem.value or []:
                _apply_profile(item, pattern, uid_for)
        elif action in (Action.KEEP, Action.CLEAN):
            _clean(elem, pattern)


def _empty(ds: Dataset, elem: DataElement) -> None:
    if elem.VR in ("PN", "DA", "DT", "TM") or elem.tag in _MAPPED_BY_DICOGNITO:
        # Z allows a dummy value: dicognito puts a fake name or a mapped ID in, and moves
        # a date (the birth date) by the patient's shift, which keeps ages exact.
        return
    elem.value = Sequence() if elem.VR == "SQ" else None


def _dummy(
    ds: Dataset,
    elem: DataElement,
    pattern: re.Pattern[str] | None,
    uid_for: Callable[[str], str],
) -> None:
    vr = elem.VR
    if vr in ("PN", "DA", "DT", "TM", "UI") or elem.tag in _MAPPED_BY_DICOGNITO:
        return  # dicognito: fake names, shifted dates, mapped UIDs and IDs
    if vr == "SQ":
        for item in elem.value or []:
            _apply_profile(item, pattern, uid_for)
    elif vr in _TEXT_VRS:
        elem.value = _DUMMY_TEXT[: _MAX_LENGTH[vr]]
    else:
        elem.value = None


def _clean(elem: DataElement, pattern: re.Pattern[str] | None) -> None:
    if pattern is None or elem.VR not in _TEXT_VRS or elem.tag in _CODE_TAGS:
        return
    if elem.tag in _MAPPED_BY_DICOGNITO:
        return
    value = elem.value
    if isinstance(value, str):
        if pattern.search(value):
            elem.value = scrub(value, pattern)
    elif isinstance(value, (list, tuple)) and any(pattern.search(str(v)) for v in value):
        elem.value = [scrub(str(v), pattern) for v in value]


def _mark(ds: Dataset) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = _DEIDENTIFICATION_METHOD
    items = []
    for code, meaning in deid_profile.method_codes():
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"


# --- times of day ---------------------------------------------------------------------

_TIME = re.compile(r"^(\d{2})(.*)$", re.DOTALL)


def _shift_times(ds: Dataset, hours: int) -> None:
    """Move every time of day (TM, and the time in DT) by `hours`, wrapping within the day."""
    for elem in _walk(ds):
        if elem.VR not in ("TM", "DT") or elem.value in (None, ""):
            continue
        values = elem.value if isinstance(elem.value, (list, tuple)) else [elem.value]
        shifted = [_shift_one(str(v), hours, elem.VR) for v in values]
        elem.value = shifted if len(shifted) > 1 else shifted[0]


def _shift_one(value: str, hours: int, vr: str) -> str:
    if "-" in value and vr == "TM":
        return "-".join(_shift_one(part, hours, vr) for part in value.split("-"))
    if vr == "DT":
        if len(value) < 10 or not value[8:10].isdigit():
            return value  # no hour in it
        return value[:8] + _shift_one(value[8:], hours, "TM")
    match = _TIME.match(value)
    if match is None or not match.group(1).isdigit():
        return value
    return f"{(int(match.group(1)) + hours) % 24:02d}{match.group(2)}"


def _walk(ds: Dataset) -> Iterable[DataElement]:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                yield from _walk(item)
        else:
            yield elem
