"""Folder destinations under faults: a full disk, a root that is not mounted. The message
says what happened, no partial study stays behind, and a retry starts clean.

The full disk is a real one: a 1 MB tmpfs (see tests/fixtures/filesystems.py; skipped
where this machine does not allow mounting).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adit_core.db.database import Database
from adit_core.db.models import Job
from adit_core.folders import job_folder_name
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import StudySpec, make_study
from tests.fixtures.filesystems import SmallFilesystems
from tests.worker.support import (
    adit,
    folder_files,
    read_all,
    register_orthanc,
    run_until_final,
    tasks,
    transfer,
)


@pytest.fixture
def big_study(empty_b: OrthancServer) -> StudySpec:
    """24 instances of about 130 kB: 3 MB, three times what the small disk holds."""
    study = make_study(
        patient_id="0088001", patient_name="Voll^Vera", birth_date="19600101", modality="CT",
        n_series=2, n_instances=24, rows=256, cols=256, seed=88,
    )  # fmt: skip
    empty_b.upload_many(study.datasets())
    register_orthanc("src", empty_b, "find,get")
    return study


def everything_below(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def test_full_disk_names_the_folder_removes_the_partial_study_and_a_retry_starts_clean(
    database: Database, big_study: StudySpec, small_filesystem: SmallFilesystems
) -> None:
    disk = small_filesystem(1)
    assert adit("folder", "add", "out", "--path", str(disk)).exit_code == 0
    job_id = transfer("-s", "src", "-d", "out", "--study", big_study.study_uid,
                      "--pseudonym", "VOLL01")  # fmt: skip
    assert run_until_final(database, job_id) == "FAILURE"
    [task] = tasks(database, job_id)
    assert task.attempts == 1  # a full disk does not go away by itself: no automatic retry
    assert task.message.startswith(f"no space left on {disk} (folder out); the ")
    assert task.message.endswith(
        " instances written so far were removed. Free space there, then run `adit jobs retry`."
    )
    assert "servers are reachable" not in task.message
    assert everything_below(disk) == []  # no partial study, no staging, no empty job folder
    stat = os.statvfs(disk)
    assert stat.f_bfree == stat.f_blocks  # the space is back

    # A worker killed mid-task leaves its staging folder behind: the retry removes it.
    small_filesystem.resize(disk, 16)
    stale = _plant_stale_file(database, disk, job_id, task.id)
    assert adit("jobs", "retry", str(job_id)).exit_code == 0
    assert run_until_final(database, job_id) == "SUCCESS", tasks(database, job_id)
    assert not stale.exists()
    files = folder_files(disk)
    assert len(files) == big_study.instance_count
    assert {str(ds.PatientID) for ds in read_all(files)} == {"VOLL01"}
    assert not [p for p in everything_below(disk) if p.name == ".incomplete"]
    assert not [p for p in everything_below(disk) if p.suffix == ".part"]


def _plant_stale_file(db: Database, disk: Path, job_id: int, task_id: int) -> Path:
    """A file in the task's staging folder, as a worker killed mid-transfer leaves it."""
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job_dir = job_folder_name(job.kind, job.id, job.created_at, job.owner)
    stale = disk / job_dir / ".incomplete" / f"task-{task_id}" / "VOLL01" / "1-x" / "old.dcm"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a killed worker")
    return stale


def test_missing_root_fails_the_task_and_is_never_created(
    database: Database, big_study: StudySpec, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    assert adit("folder", "add", "out", "--path", str(share)).exit_code == 0
    share.rmdir()  # the share is not mounted on this worker host
    job_id = transfer("-s", "src", "-d", "out", "--study", big_study.study_uid)
    assert run_until_final(database, job_id) == "FAILURE"
    [task] = tasks(database, job_id)
    assert task.attempts == 1
    assert task.message == (
        f"folder out is not mounted or does not exist ({share}). Fix that, then run "
        "`adit jobs retry`."
    )
    assert not share.exists()

    share.mkdir()
    assert adit("jobs", "retry", str(job_id)).exit_code == 0
    assert run_until_final(database, job_id) == "SUCCESS"
    assert len(folder_files(share)) == big_study.instance_count
