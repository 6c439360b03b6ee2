"""Pseudonymize a series' headers by re-using what earlier instances already produced.

Most of a header repeats from instance to instance (patient, study, series, equipment,
geometry); only a few elements (SOP Instance UID, instance number, position, times)
change. Every element's pseudonymized form depends only on its own encoded bytes, the
seed, and a few *key* elements (patient identity, sex, character set, ...: see KEY_TAGS),
with one exception: a date and its time are shifted together (AcquisitionDate with
AcquisitionTime), so those are remembered by the bytes of both. So for each instance only
the key elements and the elements not seen before are decoded and pseudonymized (by the
very same code as a whole data set); the encoded results of the others are re-used.
Equivalence with whole-data-set pseudonymization is tested instance by instance.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from io import BytesIO

from pydicom import Dataset
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import correct_ambiguous_vr, write_data_element

from adit_core.deid_profile import identifying_tags
from adit_core.dicom.elements import CutFile, Element, encode_meta

# Elements whose values change how other elements are pseudonymized (or that the
# pseudonymization sets from the data set as a whole). Re-used results are only valid
# while all of these are byte for byte the same.
_KEY_KEYWORDS = (
    "SpecificCharacterSet",  # how every text value decodes
    # (and every attribute of deid_profile.identifying_tags(): the values scrubbed from
    # free text)
    "PatientSex",  # chooses the replacement names
    "InstitutionName",  # replaced together with InstitutionAddress
    "InstitutionAddress",
    "BurnedInAnnotation",  # decides PatientIdentityRemoved
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "PatientComments",  # set from StudyDate and StudyTime
    "StudyDate",
    "StudyTime",
    "ClinicalTrialProtocolID",
    "ClinicalTrialProtocolName",
    "PixelRepresentation",  # resolve ambiguous VRs (implicit VR files)
    "BitsAllocated",
)
KEY_TAGS = frozenset(int(tag_for_keyword(k) or 0) for k in _KEY_KEYWORDS) | identifying_tags()
# Pseudonymized afresh every time: unique per instance (nothing to re-use), and the new
# file's meta needs its new value even when the same instance comes again (a retry).
_SOP_INSTANCE_UID = 0x00080018
_NO_PARTNER = -1
_ALWAYS_FRESH = -2
_MAX_REMEMBERED = 5_000  # element results kept per key (then forgotten)
_MAX_REMEMBERED_SIZE = 4096  # larger elements are always pseudonymized afresh
_GONE = b""  # the pseudonymization removed the element


class HeaderReuse:
    """Re-usable results of one pseudonymizer (one seed); keep one per task or process."""

    def __init__(self, pseudonymize: Callable[[Dataset], Dataset]):
        self._pseudonymize = pseudonymize
        # (key, results): swapped as one, so concurrent callers never mix two keys
        self._state: tuple[tuple[str, bytes] | None, dict[tuple[int, bytes, bytes], bytes]]
        self._state = (None, {})

    def instance(self, cut: CutFile) -> tuple[bytes, str]:
        """The pseudonymized file (Part 10 bytes) and its new SOP Instance UID."""
        key = (
            cut.transfer_syntax_uid,
            b"".join(e.raw for e in cut.elements if e.tag in KEY_TAGS),
        )
        state = self._state
        if key != state[0] or len(state[1]) > _MAX_REMEMBERED:
            state = self._state = (key, {})
        done = state[1]
        raws = {e.tag: e.raw for e in cut.elements}
        fresh_tags: set[int] = set()
        out: dict[int, bytes] = {}
        new: list[tuple[Element, tuple[int, bytes, bytes]]] = []
        for element in cut.elements:
            if element.tag in KEY_TAGS or element.tag == _SOP_INSTANCE_UID:
                fresh_tags.add(element.tag)
                continue
            partner = _partner(element.tag, element.vr)
            if partner == _ALWAYS_FRESH:
                fresh_tags.add(element.tag)
                continue
            remembered = (element.tag, element.raw, raws.get(partner, b""))
            result = done.get(remembered)
            if result is None:
                fresh_tags.add(element.tag)
                new.append((element, remembered))
                if partner in raws:
                    fresh_tags.add(partner)  # the date and its time are shifted together
            elif result:
                out[element.tag] = result
        fresh = [e for e in cut.elements if e.tag in fresh_tags]
        ds = self._pseudonymize(_decode(fresh, cut.implicit_vr))
        encoded = _encode(ds, cut.implicit_vr)
        out.update(encoded)
        for element, remembered in new:
            if len(element.raw) <= _MAX_REMEMBERED_SIZE:
                done[remembered] = encoded.get(element.tag, _GONE)
        sop_instance_uid = str(ds.SOPInstanceUID)
        body = b"".join(out[tag] for tag in sorted(out))
        return encode_meta(cut.meta, sop_instance_uid) + body + cut.pixel_data, sop_instance_uid


@lru_cache(maxsize=4096)
def _partner(tag: int, vr: str) -> int:
    """The element shifted together with this one (dicognito pairs XDate with XTime)."""
    if vr not in ("DA", "TM"):
        return _NO_PARTNER
    keyword = keyword_for_tag(tag)
    if not keyword:
        return _NO_PARTNER if vr == "TM" else _ALWAYS_FRESH  # an unknown DA: be careful
    if vr == "DA":
        return int(tag_for_keyword(keyword.replace("Date", "Time")) or _NO_PARTNER)
    date = keyword.replace("Time", "Date")
    if date != keyword and date.replace("Date", "Time") != keyword:
        return _ALWAYS_FRESH  # an odd name: no way to be sure which date it goes with
    return int(tag_for_keyword(date) or _NO_PARTNER) if date != keyword else _NO_PARTNER


def _decode(elements: list[Element], implicit_vr: bool) -> Dataset:
    fp = BytesIO(b"".join(e.raw for e in elements))
    ds = read_dataset(fp, is_implicit_VR=implicit_vr, is_little_endian=True)
    ds.file_meta = FileMetaDataset()
    return ds


def _encode(ds: Dataset, implicit_vr: bool) -> dict[int, bytes]:
    """Each top-level element of `ds`, encoded on its own (as `dcmwrite` would)."""
    correct_ambiguous_vr(ds, is_little_endian=True)
    encodings = ds._character_set
    result: dict[int, bytes] = {}
    for element in ds:
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = implicit_vr
        write_data_element(fp, element, encodings)
        result[int(element.tag)] = fp.getvalue()
    return result
