"""Looking for identifiers in pseudonymized files, judged by PS3.15 Table E.1-1.

Every attribute of the table whose action (under the Basic Profile and the options we
implement, see adit_core.deid_profile.OPTIONS) is to remove, empty, replace by a dummy,
replace the UID, or modify the date makes its source values *needles*: none of them may be
found in the output file, at any depth, in private tags, in the file meta, or anywhere in
its raw bytes. Sequences removed or emptied contribute every value they hold.

Not needles, each for a stated reason:
- values of attributes the options keep (K) or clean (C: descriptions, SR text), and
  times of day (TM): kept by design, the dates move by whole days;
- values shorter than MIN_LENGTH characters, numeric values (DS, IS, binary numbers) and
  all-digit values shorter than 6 digits: they would be found everywhere without
  identifying anyone ("1", "2004" in a pixel spacing...). Dates and longer numeric IDs
  are needles;
- values that the source also holds in an attribute that is kept (e.g. a manufacturer's
  name repeated in a private tag): finding them says nothing;
- our own dummy texts (the pseudonym, "ANONYMIZED").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.dataelem import DataElement

from adit_core import deid_profile
from adit_core.deid_profile import Action

MIN_LENGTH = 4
_KEPT_ACTIONS = (Action.KEEP, Action.CLEAN)
_NUMERIC_VRS = frozenset({"DS", "IS", "FL", "FD", "US", "SS", "UL", "SL", "UV", "SV", "AT"})
_DIGITS = re.compile(r"^[0-9 .+-]*$")
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{6,}")


@dataclass(frozen=True)
class Needle:
    value: str
    where: str  # the source attribute it came from


def _texts(elem: DataElement) -> list[str]:
    value = elem.value
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray)):
        if elem.VR in ("OB", "UN", "OW") and elem.tag.is_private:
            return [m.decode("ascii").strip() for m in _PRINTABLE_RUN.findall(bytes(value))]
        return []
    values = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in values:
        text = str(v).strip()
        if elem.VR == "PN":
            out += [p.strip() for p in re.split(r"[\^=]", text) if p.strip()]
            out.append(text)
        else:
            out.append(text)
    return out


def _walk(ds: Dataset, path: str = "") -> Iterator[tuple[str, DataElement, Action]]:
    """Every element with the action that applies to it; inside a removed or emptied
    sequence everything counts as removed."""
    for elem in ds:
        action = deid_profile.action_for(int(elem.tag))
        where = f"{path}{elem.keyword or elem.tag}"
        yield where, elem, action
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                for inner_where, inner, inner_action in _walk(item, f"{where}[{i}]."):
                    if action in (Action.REMOVE, Action.EMPTY):
                        inner_action = action
                    yield inner_where, inner, inner_action


def needles(source: Dataset, ignore: set[str]) -> list[Needle]:
    found: dict[str, Needle] = {}
    kept: set[str] = set()
    elements = list(_walk(source))
    if hasattr(source, "file_meta"):
        elements += list(_walk(source.file_meta, "meta."))
    for where, elem, action in elements:
        if elem.VR == "SQ":
            continue
        texts = _texts(elem)
        if action in _KEPT_ACTIONS or elem.VR == "TM":
            kept.update(texts)
            continue
        for text in texts:
            if len(text) < MIN_LENGTH or elem.VR in _NUMERIC_VRS:
                continue
            if _DIGITS.match(text) and len(text) < 6:
                continue
            found.setdefault(text, Needle(text, where))
    ignored = {i.upper() for i in ignore}
    return [
        n
        for n in found.values()
        if n.value not in kept
        and not any(n.value in k for k in kept)
        and n.value.upper() not in ignored
    ]


@dataclass(frozen=True)
class Leak:
    needle: Needle
    where: str  # an element path in the output, or "raw bytes"

    def __str__(self) -> str:
        return f"{self.needle.where}={self.needle.value!r} found in {self.where}"


def leaks(output: Dataset, raw: bytes, found: list[Needle]) -> list[Leak]:
    result: list[Leak] = []
    elements = list(_walk(output))
    if hasattr(output, "file_meta"):
        elements += list(_walk(output.file_meta, "meta."))
    texts = [(where, _all_text(elem)) for where, elem, _ in elements if elem.VR != "SQ"]
    for needle in found:
        hit = next((where for where, text in texts if needle.value in text), None)
        if hit is None and _in_bytes(needle.value, raw):
            hit = "raw bytes"
        if hit is not None:
            result.append(Leak(needle, hit))
    return result


def _all_text(elem: DataElement) -> str:
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _in_bytes(value: str, raw: bytes) -> bool:
    for encoding in ("utf-8", "latin-1"):
        try:
            if value.encode(encoding) in raw:
                return True
        except UnicodeEncodeError:
            continue
    return False
