"""A corpus of real-world DICOM files nobody here wrote, ready to load into a source PACS.

Sources: pydicom's own test files (incl. its character set files), the `pydicom-data`
package (NEMA WG04 JPEG/JPEG 2000/RLE sets, big endian, deflated, US, CR, enhanced MR)
and the `deid-data` package (ultrasound with burned-in annotation, CT with fake PHI, a
study stored under two PatientIDs).

Kept as they are, byte for byte, unless they cannot be stored as distinct instances:
- files sharing a SOPInstanceUID (the same image in several transfer syntaxes) get a new
  one (the file is re-encoded by pydicom in its own transfer syntax); a file meta that
  differed from the data set keeps differing;
- pydicom's character set files have no study or series: they get one each.
Left out, each with its reason (`Corpus.skipped`): files pydicom or DCMTK's dcmdump
cannot read cleanly (deliberately broken test files; broken input has its own tests),
files without SOP class or instance UID, and files over MAX_FILE_BYTES (time in CI), but
GREYSCALE_CINE, which stores a study under a second PatientID.
"""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pydicom
from pydicom import Dataset, dcmread
from pydicom.uid import generate_uid

from tests.fixtures.orthanc import dcmtk_env, dcmtk_tool

MAX_FILE_BYTES = 4 << 20
_ALWAYS_KEPT = {"GREYSCALE_CINE.dcm"}


@dataclass
class SourceFile:
    name: str  # origin/relative path
    data: bytes
    sop_instance_uid: str  # the data set's
    sop_class_uid: str
    study_uid: str
    series_uid: str
    patient_id: str
    transfer_syntax: str
    pixel_data: bytes | None  # the decoded PixelData value (None: no pixel data)
    rewritten: str = ""  # why the file is not byte for byte the package's

    def dataset(self) -> Dataset:
        return dcmread(BytesIO(self.data))


@dataclass
class Corpus:
    files: list[SourceFile]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)

    def by_uid(self) -> dict[str, SourceFile]:
        return {f.sop_instance_uid: f for f in self.files}

    def studies(self) -> dict[str, list[SourceFile]]:
        studies: dict[str, list[SourceFile]] = {}
        for f in self.files:
            studies.setdefault(f.study_uid, []).append(f)
        return studies

    @property
    def size(self) -> int:
        return sum(len(f.data) for f in self.files)


def _candidates() -> Iterator[tuple[str, bytes]]:
    import data_store
    import deid_data

    pydicom_data = Path(pydicom.__file__).parent / "data"
    for folder in ("test_files", "charset_files"):
        for path in sorted((pydicom_data / folder).rglob("*")):
            if path.is_file() and path.suffix in ("", ".dcm"):
                yield f"pydicom/{path.relative_to(pydicom_data)}", path.read_bytes()
    for path in sorted((Path(data_store.__file__).parent / "data").glob("*.dcm")):
        yield f"pydicom-data/{path.name}", path.read_bytes()
    deid = Path(deid_data.__file__).parent / "data"
    for path in sorted(deid.rglob("*")):
        if path.suffix == ".dcm":
            yield f"deid-data/{path.relative_to(deid)}", path.read_bytes()
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.endswith(".dcm") and (
                        Path(member).name in _ALWAYS_KEPT
                        or archive.getinfo(member).file_size <= MAX_FILE_BYTES
                    ):
                        yield f"deid-data/{path.relative_to(deid)}/{member}", archive.read(member)


def _derived_uid(*parts: str) -> str:
    return generate_uid(prefix="2.25.", entropy_srcs=["adit-realworld", *parts])


def _encode(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _dcmdump(paths: list[Path]) -> str | None:
    """dcmdump's complaint about these files (None: it read them all cleanly)."""
    tool = dcmtk_tool("dcmdump")
    assert tool is not None, "DCMTK's dcmdump is needed"
    result = subprocess.run(
        [tool, "-q", "+L", *map(str, paths)],
        env=dcmtk_env(),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
    )
    complaint = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("E:")
    )
    if result.returncode != 0 or complaint:
        return complaint or f"exit status {result.returncode}"
    return None


def dcmdump_errors(paths: list[Path]) -> dict[Path, str]:
    """Files DCMTK's dcmdump cannot read cleanly, with its complaint (one run for all of
    them; file by file only when that run complains)."""
    if not paths or _dcmdump(paths) is None:
        return {}
    bad: dict[Path, str] = {}
    for path in paths:
        complaint = _dcmdump([path])
        if complaint is not None:
            bad[path] = complaint
    return bad


def build(workdir: Path) -> Corpus:
    corpus = Corpus(files=[])
    seen: set[str] = set()
    for name, data in _candidates():
        base = Path(name).name
        if len(data) > MAX_FILE_BYTES and base not in _ALWAYS_KEPT:
            corpus.skipped.append((name, f"{len(data) >> 20} MB: over the size kept for CI"))
            continue
        try:
            ds = dcmread(BytesIO(data))
            for elem in ds.iterall():
                _ = elem.value  # decode everything now: a broken file fails here
        except Exception as exc:
            corpus.skipped.append((name, f"pydicom cannot read it: {type(exc).__name__}"))
            continue
        meta = getattr(ds, "file_meta", None)
        if meta is None or "TransferSyntaxUID" not in meta:
            corpus.skipped.append((name, "no file meta / transfer syntax"))
            continue
        if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
            corpus.skipped.append((name, "no SOP class or instance UID"))
            continue
        rewritten = []
        if "StudyInstanceUID" not in ds or "SeriesInstanceUID" not in ds:
            ds.StudyInstanceUID = ds.get("StudyInstanceUID") or _derived_uid(name, "study")
            ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or _derived_uid(name, "series")
            rewritten.append("study and series UIDs added")
        uid = str(ds.SOPInstanceUID)
        if uid in seen:
            new = _derived_uid(name, uid)
            if str(meta.get("MediaStorageSOPInstanceUID", "")) == uid:
                meta.MediaStorageSOPInstanceUID = new
            else:
                meta.MediaStorageSOPInstanceUID = _derived_uid(name, uid, "meta")
            ds.SOPInstanceUID = new
            rewritten.append("new SOPInstanceUID (another file has its UID)")
        if rewritten:
            try:
                data = _encode(ds)
                ds = dcmread(BytesIO(data))
            except Exception as exc:
                corpus.skipped.append((name, f"cannot be re-encoded: {exc}"))
                continue
        seen.add(str(ds.SOPInstanceUID))
        corpus.files.append(
            SourceFile(
                name=name,
                data=data,
                sop_instance_uid=str(ds.SOPInstanceUID),
                sop_class_uid=str(ds.SOPClassUID),
                study_uid=str(ds.StudyInstanceUID),
                series_uid=str(ds.SeriesInstanceUID),
                patient_id=str(ds.get("PatientID", "") or ""),
                transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
                pixel_data=bytes(ds.PixelData) if "PixelData" in ds else None,
                rewritten="; ".join(rewritten),
            )
        )
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, f in enumerate(corpus.files):
        path = workdir / f"{i:04d}.dcm"
        path.write_bytes(f.data)
        paths[path] = f
    bad = dcmdump_errors(list(paths))
    for path, complaint in bad.items():
        corpus.skipped.append((paths[path].name, f"dcmdump: {complaint[:200]}"))
    corpus.files = [f for path, f in paths.items() if path not in bad]
    return corpus


def pseudonym_for(patient_id: str) -> str:
    return "RW" + hashlib.sha256(patient_id.encode()).hexdigest()[:8].upper()
