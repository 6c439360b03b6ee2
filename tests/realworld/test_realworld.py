"""Real-world DICOM through every retrieval path to both kinds of destination, pseudonymized.

The corpus (tests/realworld/corpus.py: ~240 files of pydicom, pydicom-data and deid-data)
is loaded into an Orthanc of its own, then transferred whole, one task per study, over
WADO-RS, C-GET and C-MOVE (through `adit receiver`) to a folder and to a second Orthanc.
File by file: it arrived (or the task log says why not), in its own transfer syntax, with
its pixel data byte for byte, readable by pydicom and by DCMTK's dcmdump, and no
identifier of its source is left (tests/realworld/scanner.py, from PS3.15 Table E.1-1).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread

from adit_core.db.database import Database
from adit_core.fields import STUDY_UID, FieldError
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.status import FINAL, JobKind
from adit_dev.orthanc import OrthancServer
from adit_worker.app import run_worker
from tests.realworld import scanner
from tests.realworld.conftest import SECRET, Source
from tests.realworld.corpus import dcmdump_errors, pseudonym_for
from tests.worker.support import (
    adit,
    receiver,
    register_orthanc,
    set_setting,
    status,
    tasks,
)

pytestmark = [pytest.mark.orthanc, pytest.mark.dcmtk]

CAPABILITIES = {"wado-rs": "find,qido,wado", "c-get": "find,get", "c-move": "find,move"}


@dataclass
class Verdict:
    arrived: int = 0
    refused: list[str] = field(default_factory=list)  # with the task log's reason
    lost: list[str] = field(default_factory=list)  # neither arrived nor explained
    transcoded: list[str] = field(default_factory=list)
    pixel_changed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    needles: int = 0
    duplicates: int = 0


def _run_job(db: Database, job_id: int, move_destination: object, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    options = {"store_associations": 2, "move_destination": move_destination}
    while time.monotonic() < deadline:
        asyncio.run(
            run_worker(
                db, burst=True, concurrency=2, install_signal_handlers=False,
                runner_options=options,
            )
        )  # fmt: skip
        current = status(db, job_id)
        if current in FINAL:
            return current
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status(db, job_id)} after {timeout} s")


# Every retrieval path, every kind of destination (a folder; a second Orthanc by STOW-RS
# and by C-STORE), each path once: the whole matrix would double the CI time for nothing
# the paths or the destinations do not already show on their own.
@pytest.mark.parametrize(
    ("path", "destination"),
    [("wado-rs", "stow-rs"), ("c-get", "folder"), ("c-move", "c-store")],
)
def test_real_world_corpus_arrives_whole_and_without_identifiers(
    database: Database,
    realworld_source: Source,
    empty_b: OrthancServer,
    tmp_path: Path,
    path: str,
    destination: str,
) -> None:
    source = realworld_source
    files = source.corpus.files
    studies = source.corpus.studies()
    set_setting(database, "max_attempts", "1")
    set_setting(database, "secret", SECRET)
    register_orthanc("src", source.orthanc, CAPABILITIES[path])
    if destination == "folder":
        assert (
            adit("folder", "add", "dst", "--path", str(tmp_path / "out"), "--create").exit_code == 0
        )
    else:
        register_orthanc("dst", empty_b, "stow" if destination == "stow-rs" else "store")
    # A study whose UID is not a UID (hex digits: bad_sequence.dcm) cannot be asked for:
    # job creation refuses it with a message, which is its reason.
    refused_at_creation: dict[str, str] = {}
    items = []
    for uid, members in studies.items():
        try:
            STUDY_UID.check(uid)
        except FieldError as exc:
            refused_at_creation |= {f.sop_instance_uid: str(exc) for f in members}
            continue
        items.append(TransferItem(study_uid=uid, pseudonym=pseudonym_for(members[0].patient_id)))
    with database.session() as session:
        job = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=items,
            options=TransferOptions(),
            kind=JobKind.BATCH_TRANSFER,
        )
        job_id = job.id
    started = time.monotonic()
    if path == "c-move":
        with receiver(database, source.orthanc) as link:
            final = _run_job(database, job_id, link, timeout=600)
    else:
        final = _run_job(database, job_id, None, timeout=600)
    elapsed = time.monotonic() - started
    task_rows = tasks(database, job_id)
    logs = "\n".join(f"{t.message}\n{t.log}" for t in task_rows)

    outputs: dict[str, bytes] = {}
    if destination == "folder":
        for file in (tmp_path / "out").rglob("*.dcm"):
            data = file.read_bytes()
            uid = str(dcmread(BytesIO(data), stop_before_pixels=True).SOPInstanceUID)
            outputs[uid] = data
    else:
        for uid in empty_b.instance_uids():
            outputs[uid] = empty_b.instance_file(uid)

    expected = source.expected_uids
    verdict = Verdict()
    written: dict[Path, str] = {}
    out_dir = tmp_path / "check"
    out_dir.mkdir()
    for f in files:
        uid = expected[f.sop_instance_uid]
        data = outputs.get(uid)
        if data is None:
            if f.sop_instance_uid in refused_at_creation:
                verdict.refused.append(f"{f.name}: {refused_at_creation[f.sop_instance_uid]}")
            elif f.sop_instance_uid in logs or uid in logs:
                verdict.refused.append(f.name)
            else:
                verdict.lost.append(f.name)
            continue
        verdict.arrived += 1
        try:
            ds = dcmread(BytesIO(data))
            for elem in ds.iterall():
                _ = elem.value
        except Exception as exc:
            verdict.unreadable.append(f"{f.name}: pydicom: {exc}")
            continue
        if str(ds.file_meta.TransferSyntaxUID) != f.transfer_syntax:
            verdict.transcoded.append(
                f"{f.name}: {f.transfer_syntax} → {ds.file_meta.TransferSyntaxUID}"
            )
        pixels = bytes(ds.PixelData) if "PixelData" in ds else None
        if pixels != f.pixel_data:
            verdict.pixel_changed.append(f.name)
        needles = source.needles[f.sop_instance_uid]
        verdict.needles += len(needles)
        verdict.leaks += [f"{f.name}: {leak}" for leak in scanner.leaks(ds, data, needles)]
        file = out_dir / f"{len(written):04d}.dcm"
        file.write_bytes(data)
        written[file] = f.name
    bad = dcmdump_errors(list(written))
    verdict.unreadable += [f"{written[p]}: dcmdump: {why}" for p, why in bad.items()]
    verdict.duplicates = len(outputs) - verdict.arrived

    print(
        f"\n[realworld] {path} → {destination}: {len(files)} files in {len(studies)} studies, "
        f"{verdict.arrived} arrived, {len(verdict.refused)} refused with a reason, "
        f"{len(verdict.lost)} lost, {len(verdict.transcoded)} transcoded, "
        f"{len(verdict.pixel_changed)} pixel changes, {verdict.needles} identifiers checked, "
        f"{len(verdict.leaks)} found; job {final} in {elapsed:.1f} s; "
        f"task states {sorted({t.status for t in task_rows})}"
    )
    for name in verdict.refused:
        print(f"[realworld]   refused: {name}")
    assert verdict.lost == [], verdict.lost
    assert verdict.leaks == [], verdict.leaks[:20]
    assert verdict.pixel_changed == [], verdict.pixel_changed
    assert verdict.transcoded == [], verdict.transcoded
    assert verdict.unreadable == [], verdict.unreadable
    assert verdict.duplicates == 0
    assert verdict.arrived + len(verdict.refused) == len(files)
    # Outcomes that tell the truth: a task that is not SUCCESS or WARNING lost instances
    # the source could not send or the destination refused, and its log says so.
    for t in task_rows:
        if t.status in ("SUCCESS", "WARNING"):
            continue
        assert t.status == "FAILURE"
        assert "Retrieval ended with an error" in t.log or "could not be stored" in t.log, t.log
    two_ids = [t for t in task_rows if "more than one PatientID" in t.message]
    assert len(two_ids) == 1 and two_ids[0].status == "WARNING"
    assert "'2020202020202'" in two_ids[0].message and "'10101010101'" in two_ids[0].message
    burned = [t for t in task_rows if "burned into their pixels" in t.message]
    assert burned, "ultrasound and secondary capture instances must be named"
