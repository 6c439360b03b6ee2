"""Writing instances into a destination folder, in ADIT's layout, safely.

    <folder>/adit_<kind>_<job>_<created YYYYMMDD>_<owner>/
      <pseudonym or PatientID>/
        <StudyDate>-<HHMMSS>-<modalities>/
          <SeriesNumber>-<SeriesDescription or "Undefined">   (SeriesInstanceUID if no number)/
            <SOPInstanceUID>.dcm

Every component built from DICOM values is sanitised, the final path is checked to be
inside the folder, and files are written atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from pydicom import Dataset

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_MAX_COMPONENT = 100


class UnsafePathError(ValueError):
    pass


def sanitize(value: object, fallback: str) -> str:
    """One safe path component: no separators, no control characters, never '.' or '..'."""
    text = _UNSAFE.sub("_", str(value or "")).strip().strip(".")
    text = text[:_MAX_COMPONENT].strip()
    return text or fallback


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


def instance_path(
    root: Path, job_folder: str, patient_folder: str, ds: Dataset, modalities: list[str]
) -> Path:
    path = (
        root
        / sanitize(job_folder, "job")
        / sanitize(patient_folder, "patient")
        / study_folder_name(ds, modalities)
        / series_folder_name(ds)
        / f"{sanitize(ds.get('SOPInstanceUID', ''), 'instance')}.dcm"
    )
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


def sync_directory(path: Path) -> None:
    """Make renames in a directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
