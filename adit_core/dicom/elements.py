"""A Part 10 file cut into its encoded top-level elements, without decoding any value.

Pseudonymization re-uses the encoded form of elements it has seen before (most of a
series' header repeats from instance to instance); this is the cutting and re-assembling
it needs. Only little endian, non-deflated files are cut; anything else is None and the
caller decodes the file the ordinary way.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.datadict import dictionary_VR

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
# Whose data set is not plain little endian: big endian, and the deflated syntaxes.
NOT_CUTTABLE = frozenset(
    {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95"}
)
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
UNDEFINED = 0xFFFFFFFF
PIXEL_DATA = 0x7FE00010
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_SOP_INSTANCE_UID = 0x00020003
DATASET_SOP_INSTANCE_UID = 0x00080018


class Uncuttable(Exception):
    """The bytes are not laid out as this module expects (the caller decodes instead)."""


@dataclass(frozen=True)
class Element:
    tag: int  # group << 16 | element
    vr: str  # from the file (explicit VR) or the dictionary (implicit VR; "UN" if unknown)
    raw: bytes  # the whole encoded element: tag, VR, length and value


@dataclass(frozen=True)
class CutFile:
    meta: list[Element]  # file meta elements, group length (0002,0000) left out
    transfer_syntax_uid: str
    implicit_vr: bool
    elements: list[Element]  # the data set's top-level elements before the pixel data
    pixel_data: bytes  # the encoded pixel data element (b"" when there is none)


def cut_file(data: bytes) -> CutFile | None:
    """Cut a Part 10 file into elements; None when its layout is not one we cut."""
    try:
        return _cut(data)
    except (Uncuttable, IndexError, ValueError):
        return None


def _cut(data: bytes) -> CutFile | None:
    if data[128:132] != b"DICM":
        return None
    pos, meta = 132, []
    while data[pos : pos + 2] == b"\x02\x00":
        element, pos = next_element(data, pos, implicit=False)
        if element.tag != 0x00020000:
            meta.append(element)
    syntax = next((_text(e) for e in meta if e.tag == 0x00020010), "")
    if not syntax or syntax in NOT_CUTTABLE:
        return None
    if not any(e.tag == _SOP_INSTANCE_UID for e in meta):
        return None
    implicit = syntax == IMPLICIT_VR_LITTLE_ENDIAN
    elements: list[Element] = []
    pixel_data = b""
    while pos < len(data):
        if element_tag(data, pos) == PIXEL_DATA:
            element, end = next_element(data, pos, implicit=implicit)
            if end != len(data):
                return None  # elements after the pixel data: unusual, decode instead
            pixel_data = element.raw
            break
        element, pos = next_element(data, pos, implicit=implicit)
        if element.tag > PIXEL_DATA:
            return None
        elements.append(element)
    return CutFile(meta, syntax, implicit, elements, pixel_data)


def element_tag(data: bytes, pos: int) -> int:
    group = int.from_bytes(data[pos : pos + 2], "little")
    return group << 16 | int.from_bytes(data[pos + 2 : pos + 4], "little")


def next_element(data: bytes, pos: int, *, implicit: bool) -> tuple[Element, int]:
    """The element at `pos` and where the next one starts."""
    if pos + 8 > len(data):
        raise Uncuttable("truncated element")
    tag = element_tag(data, pos)
    if implicit:
        vr = _dictionary_vr(tag)
        length, value_start = int.from_bytes(data[pos + 4 : pos + 8], "little"), pos + 8
    else:
        vr_bytes = data[pos + 4 : pos + 6]
        if not (vr_bytes.isalpha() and vr_bytes.isupper()):
            raise Uncuttable("no VR where one belongs")
        vr = vr_bytes.decode("ascii")
        if vr_bytes in LONG_VRS:
            length, value_start = int.from_bytes(data[pos + 8 : pos + 12], "little"), pos + 12
        else:
            length, value_start = int.from_bytes(data[pos + 6 : pos + 8], "little"), pos + 8
    if length != UNDEFINED:
        end = value_start + length
        if end > len(data):
            raise Uncuttable("value runs past the end")
    elif tag == PIXEL_DATA:
        end = _skip_items(data, value_start, implicit=implicit, fragments=True)
    else:
        # A sequence (or UN holding one, which is implicit VR inside).
        end = _skip_items(data, value_start, implicit=implicit or vr == "UN", fragments=False)
    return Element(tag, vr, data[pos:end]), end


def _skip_items(data: bytes, pos: int, *, implicit: bool, fragments: bool) -> int:
    """Where an undefined-length sequence (or encapsulated pixel data) ends."""
    while True:
        if pos + 8 > len(data):
            raise Uncuttable("sequence without its delimiter")
        tag, length = element_tag(data, pos), int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise Uncuttable("sequence holds something other than items")
        if length != UNDEFINED:
            pos += length
        elif fragments:
            raise Uncuttable("pixel data fragment of undefined length")
        else:
            pos = _skip_item_elements(data, pos, implicit=implicit)


def _skip_item_elements(data: bytes, pos: int, *, implicit: bool) -> int:
    """Past the elements of an undefined-length item and its delimiter."""
    while True:
        if element_tag(data, pos) == _ITEM_END:
            return pos + 8
        _, pos = next_element(data, pos, implicit=implicit)


def _dictionary_vr(tag: int) -> str:
    if tag >> 16 & 1:  # private
        return "UN"
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _text(element: Element) -> str:
    """The value of a short explicit VR element (file meta), as text."""
    return element.raw[8:].rstrip(b"\x00 ").decode("ascii", "replace")


def encode_meta(meta: list[Element], sop_instance_uid: str) -> bytes:
    """Preamble, "DICM" and the file meta, with the given MediaStorageSOPInstanceUID."""
    value = sop_instance_uid.encode("ascii")
    if len(value) % 2:
        value += b"\x00"
    uid = b"\x02\x00\x03\x00UI" + len(value).to_bytes(2, "little") + value
    body = b"".join(uid if e.tag == _SOP_INSTANCE_UID else e.raw for e in meta)
    group_length = b"\x02\x00\x00\x00UL\x04\x00" + len(body).to_bytes(4, "little")
    return b"\x00" * 128 + b"DICM" + group_length + body


def top_level_value(data: bytes, pos: int, tag: int, *, implicit: bool) -> bytes | None:
    """The raw value of top-level element `tag`, scanning a little endian data set from `pos`.

    None when the element is absent or the bytes are not laid out as expected. Elements
    are sorted, so the scan stops at the first larger tag: finding (0008,0018) costs a
    handful of elements.
    """
    try:
        while pos < len(data):
            current = element_tag(data, pos)
            if current > tag:
                return None
            element, end = next_element(data, pos, implicit=implicit)
            if current == tag:
                header = 8 if implicit or element.raw[4:6] not in LONG_VRS else 12
                return element.raw[header:]
            pos = end
    except (Uncuttable, IndexError, ValueError):
        return None
    return None


def pixel_data_size(data: bytes) -> int | None:
    """Bytes in the value of the top-level Pixel Data element (0 without one), read without
    decoding anything; None for data sets that are not plain little endian."""
    if data[128:132] != b"DICM":
        return None
    try:
        pos = 132
        syntax = ""
        while data[pos : pos + 2] == b"\x02\x00":
            element, pos = next_element(data, pos, implicit=False)
            if element.tag == 0x00020010:
                syntax = _text(element)
        if not syntax or syntax in NOT_CUTTABLE:
            return None
        implicit = syntax == IMPLICIT_VR_LITTLE_ENDIAN
        while pos < len(data):
            current = element_tag(data, pos)
            if current > PIXEL_DATA:
                return 0
            element, end = next_element(data, pos, implicit=implicit)
            if current == PIXEL_DATA:
                header = 8 if implicit or element.raw[4:6] not in LONG_VRS else 12
                return len(element.raw) - header
            pos = end
    except (Uncuttable, IndexError, ValueError):
        return None
    return 0


def split_meta(data: bytes) -> tuple[list[Element], bytes] | None:
    """The file meta elements (group length left out) and the encoded data set after them."""
    if data[128:132] != b"DICM":
        return None
    try:
        pos, meta = 132, []
        while data[pos : pos + 2] == b"\x02\x00":
            element, pos = next_element(data, pos, implicit=False)
            if element.tag != 0x00020000:
                meta.append(element)
    except (Uncuttable, IndexError, ValueError):
        return None
    return meta, data[pos:]
