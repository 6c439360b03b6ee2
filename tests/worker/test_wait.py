"""`--wait` on the commands that create a job: one `adit` run queues, waits and exits with
the job's outcome (0 SUCCESS, 1 WARNING/FAILURE/CANCELED, 2 timeout), the job id alone on
stdout first."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from tests.batch.files import write_csv
from tests.cli import ADIT, adit
from tests.worker.support import WorkerProcess, register_orthanc, status, tasks


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ADIT, *args], capture_output=True, text=True, timeout=timeout)


def job_id_of(done: subprocess.CompletedProcess[str]) -> int:
    """The job id, which must be all there is on stdout."""
    assert done.stdout.strip().isdigit(), (done.stdout, done.stderr)
    assert done.stdout == f"{int(done.stdout)}\n"
    return int(done.stdout)


@pytest.mark.orthanc
def test_wait_exits_with_the_outcome_of_the_job(
    database: Database,
    orthanc_a: OrthancServer,
    empty_b: OrthancServer,
    corpus: Corpus,
    tmp_path: Path,
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    first, second = corpus.studies[:2]
    worker = WorkerProcess(database, "--pseudonymize-processes", "0")
    try:
        done = run("transfer", "-s", "src", "-d", "dst", "--study", first.study_uid, "--wait")
        assert done.returncode == 0, done.stderr
        job_id = job_id_of(done)
        assert status(database, job_id) == "SUCCESS"
        assert f"job {job_id}: SUCCESS, tasks 1/1" in done.stderr

        unknown = "1.2.826.0.1.3680043.8.498.404"
        done = run("transfer", "-s", "src", "-d", "dst", "--study", unknown, "--wait")
        assert done.returncode == 1, done.stderr
        failed = job_id_of(done)
        assert status(database, failed) == "FAILURE"
        assert "was not found on src" in tasks(database, failed)[0].message

        rows = f"PatientID,StudyInstanceUID\n{second.patient_id},{second.study_uid}\n"
        path = write_csv(tmp_path / "transfer.csv", rows)
        done = run("batch-transfer", str(path), "-s", "src", "-d", "dst", "--wait")
        assert done.returncode == 0, done.stderr
        assert status(database, job_id_of(done)) == "SUCCESS"

        path = write_csv(tmp_path / "query.csv", f"PatientID,Modality\n{first.patient_id},CT\n")
        done = run("batch-query", str(path), "-s", "src", "--wait")
        assert done.returncode == 0, done.stderr
        assert status(database, job_id_of(done)) == "SUCCESS"
    finally:
        worker.kill(signal.SIGTERM)
        assert worker.wait() == 0
    assert len(empty_b.instance_uids()) == first.instance_count + second.instance_count


def test_wait_gives_up_after_the_timeout_and_the_job_stays_queued(
    database: Database, tmp_path: Path
) -> None:
    for name, port in (("src", "11112"), ("dst", "11113")):
        added = adit("server", "add", name, "--ae-title", name.upper(), "--host", "127.0.0.1",
                     "--port", port)  # fmt: skip
        assert added.exit_code == 0, added.output
    study = "1.2.826.0.1.3680043.8.498.1"
    done = run("transfer", "-s", "src", "-d", "dst", "--study", study, "--wait", "--timeout", "0.5")
    assert done.returncode == 2, done.stderr
    job_id = job_id_of(done)
    assert f"job {job_id} did not finish within 0.5 s" in done.stderr
    assert status(database, job_id) == "PENDING"

    path = write_csv(tmp_path / "query.csv", "PatientID,Modality\n0012345,CT\n")
    done = run("batch-query", str(path), "-s", "src", "--wait", "--timeout", "0")
    assert done.returncode == 2, done.stderr
    assert status(database, job_id_of(done)) == "PENDING"

    done = run("transfer", "-s", "src", "-d", "dst", "--study", study, "--timeout", "5")
    assert done.returncode == 2
    assert "--timeout only applies with --wait" in done.stderr
    assert done.stdout == ""
