"""Writing instances into a destination folder, in ADIT's layout, safely.

    <folder>/adit_<kind>_<job>_<created YYYYMMDD>_<owner>/
      <pseudonym or PatientID>/
        <StudyDate>-<HHMMSS>-<modalities>/
          <SeriesNumber>-<SeriesDescription or "Undefined">   (SeriesInstanceUID if no number)/
            <SOPInstanceUID>.dcm

Every component built from DICOM values is sanitised, the final path is checked to be
inside the folder, and files are written atomically (temporary file, fsync, rename).

A component is safe on Linux, macOS and Windows shares alike: no separators or characters
Windows refuses, no control characters, no leading or trailing dots and spaces, never a
Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension, any case),
at most 100 characters. A value that had to be shortened ends in ``~`` and 12 hex digits
of the SHA-256 of the whole value, so two long values never share a folder; the patient
folder gets that suffix whenever its value had to be changed at all, so two patients never
share one (``A/1`` and ``A_1``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from pydicom import Dataset

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_MAX_COMPONENT = 100
_DIGEST_CHARS = 12
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")}
)


class UnsafePathError(ValueError):
    pass


def sanitize(value: object, fallback: str, *, distinct: bool = False) -> str:
    """One safe path component (see the module's docstring). With `distinct`, a value that
    had to be changed gets the digest suffix, so different values never share the name."""
    original = str(value or "")
    text = _UNSAFE.sub("_", original).strip(" .")
    if not text:
        return fallback
    if text.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        text = "_" + text
    if len(text) > _MAX_COMPONENT or (distinct and text != original.strip()):
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()
        keep = _MAX_COMPONENT - _DIGEST_CHARS - 1
        text = f"{text[:keep].rstrip(' .')}~{digest[:_DIGEST_CHARS]}"
    return text


def job_folder_name(kind: str, job_id: int, created: datetime, owner: str) -> str:
    kind_short = kind.replace("_", "-")
    return sanitize(
        f"adit_{kind_short}_{job_id}_{created.strftime('%Y%m%d')}_{owner}", f"adit_{job_id}"
    )


def study_folder_name(ds: Dataset, modalities: list[str]) -> str:
    date = sanitize(ds.get("StudyDate", ""), "nodate")
    time = str(ds.get("StudyTime", "") or "").split(".")[0][:6]
    mods = ",".join(sorted({m for m in modalities if m})) or str(ds.get("Modality", ""))
    return sanitize(f"{date}-{time or '000000'}-{mods}", "study")


def series_folder_name(ds: Dataset) -> str:
    number = ds.get("SeriesNumber", None)
    description = str(ds.get("SeriesDescription", "") or "") or "Undefined"
    if number is None or str(number).strip() == "":
        return sanitize(ds.get("SeriesInstanceUID", ""), "series")
    return sanitize(f"{number}-{description}", "series")


def instance_parts(patient_folder: str, ds: Dataset, modalities: list[str]) -> tuple[str, ...]:
    """Where an instance goes inside its job's folder: patient, study, series, file."""
    return (
        sanitize(patient_folder, "patient", distinct=True),
        study_folder_name(ds, modalities),
        series_folder_name(ds),
        f"{sanitize(ds.get('SOPInstanceUID', ''), 'instance')}.dcm",
    )


def instance_path(
    root: Path, job_folder: str, patient_folder: str, ds: Dataset, modalities: list[str]
) -> Path:
    path = root / sanitize(job_folder, "job")
    for part in instance_parts(patient_folder, ds, modalities):
        path /= part
    return ensure_inside(root, path)


def ensure_inside(root: Path, path: Path) -> Path:
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved_root != resolved and resolved_root not in resolved.parents:
        raise UnsafePathError(f"refusing to write outside {root}: {path}")
    return path


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write a file so that readers see either nothing or all of it, even after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_path(path: Path) -> None:
    """Make a file's data, or the renames in a directory, durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
