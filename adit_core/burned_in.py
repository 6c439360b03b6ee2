"""Which instances may show identifying text in their pixels (burned-in annotation).

Pseudonymization changes the header only: text drawn into the image (names on an
ultrasound screen, a scanned requisition) stays. An instance counts when it says
BurnedInAnnotation YES, or when it is of a kind that usually carries such text
(ultrasound, secondary capture) and does not say NO. What happens to them in a
pseudonymized transfer is the `burned_in_annotation` setting: warn, refuse or allow.
"""

from __future__ import annotations

from pydicom import Dataset

# Ultrasound (current and retired) and secondary capture storage classes.
_USUALLY_ANNOTATED = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image
        "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
        "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image
        "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound Image (retired)
        "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame Image (retired)
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
        "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit Secondary Capture
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte Secondary Capture
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word Secondary Capture
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color Secondary Capture
    }
)


def burned_in_reason(header: Dataset) -> str | None:
    """Why this instance may show burned-in text, or None."""
    said = str(header.get("BurnedInAnnotation", "") or "").strip().upper()
    if said == "YES":
        return "BurnedInAnnotation YES"
    if said == "NO":
        return None
    if str(header.get("SOPClassUID", "")) in _USUALLY_ANNOTATED:
        return "ultrasound or secondary capture without BurnedInAnnotation NO"
    if str(header.get("Modality", "")).strip().upper() == "US":
        return "ultrasound without BurnedInAnnotation NO"
    return None
