"""Workers that are canceled, killed, stopped, or whose source goes away."""

from __future__ import annotations

import signal

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import StudySpec, make_study
from tests.cli import adit
from tests.fixtures.orthanc import start_orthanc
from tests.waiting import wait_for
from tests.worker.support import (
    WorkerProcess,
    register_orthanc,
    run_until_final,
    set_setting,
    status,
    tasks,
    transfer,
)


def _progress(db: Database, job_id: int) -> int:
    return tasks(db, job_id)[0].instances_done


def test_cancel_stops_a_running_task_and_resume_completes_it(
    database: Database, orthanc_c: OrthancServer, empty_b: OrthancServer, long_study: StudySpec
) -> None:
    register_orthanc("src", orthanc_c, "find,get")
    register_orthanc("dst", empty_b, "store")
    job_id = transfer(
        "-s", "src", "-d", "dst", "--study", long_study.study_uid, "--pseudonym", "C1"
    )
    worker = WorkerProcess(database)
    try:
        wait_for(lambda: _progress(database, job_id) >= 20, timeout=60)
        assert adit("jobs", "cancel", str(job_id)).exit_code == 0
        wait_for(lambda: status(database, job_id) == "CANCELED", timeout=15)
        [task] = tasks(database, job_id)
        assert task.status == "CANCELED"
        assert task.instances_done < long_study.instance_count
        assert adit("jobs", "resume", str(job_id)).exit_code == 0
        wait_for(lambda: status(database, job_id) == "SUCCESS", timeout=120)
    finally:
        worker.kill(signal.SIGTERM)
        assert worker.wait() == 0
    assert len(empty_b.instance_uids()) == long_study.instance_count


def test_a_killed_worker_is_replaced_and_the_job_still_succeeds(
    database: Database, orthanc_c: OrthancServer, empty_b: OrthancServer, long_study: StudySpec
) -> None:
    register_orthanc("src", orthanc_c, "find,get")
    register_orthanc("dst", empty_b, "store")
    job_id = transfer("-s", "src", "-d", "dst", "--study", long_study.study_uid)
    first = WorkerProcess(database, "--pseudonymize-processes", "0")
    try:
        wait_for(lambda: _progress(database, job_id) >= 20, timeout=60)
        first.kill(signal.SIGKILL)
        first.wait()
        assert status(database, job_id) == "IN_PROGRESS"  # what the dead worker left
        second = WorkerProcess(database, "--pseudonymize-processes", "0")
        try:
            wait_for(lambda: status(database, job_id) == "SUCCESS", timeout=90)
        finally:
            second.kill(signal.SIGTERM)
            second.wait()
    finally:
        first.stop()
    assert empty_b.instance_uids() == long_study.instance_uids()
    [task] = tasks(database, job_id)
    assert "stopped; re-queued" in task.log


def test_sigterm_puts_the_running_task_back_in_the_queue(
    database: Database, orthanc_c: OrthancServer, empty_b: OrthancServer, long_study: StudySpec
) -> None:
    register_orthanc("src", orthanc_c, "find,get")
    register_orthanc("dst", empty_b, "store")
    job_id = transfer("-s", "src", "-d", "dst", "--study", long_study.study_uid)
    worker = WorkerProcess(database, "--shutdown-timeout", "0.5", "--pseudonymize-processes", "0")
    try:
        wait_for(lambda: _progress(database, job_id) >= 20, timeout=60)
        worker.kill(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        worker.stop()
    [task] = tasks(database, job_id)
    assert task.status in ("PENDING", "SUCCESS")  # never left IN_PROGRESS
    if task.status == "PENDING":
        assert "worker stopped" in task.message
        assert run_until_final(database, job_id) == "SUCCESS"
    assert len(empty_b.instance_uids()) == long_study.instance_count


def test_source_down_retries_then_fails_then_retry_succeeds(
    database: Database,
    orthanc_servers: list[OrthancServer],
    empty_b: OrthancServer,
    tmp_path_factory,  # type: ignore[no-untyped-def]
) -> None:
    small = make_study(
        patient_id="0055501", patient_name="Ab^Sent", birth_date="19900101",
        modality="MR", n_series=1, n_instances=3, seed=55,
    )  # fmt: skip
    flaky = start_orthanc(orthanc_servers, tmp_path_factory.mktemp("flaky"), ae_title="FLAKY")
    flaky.upload_many(small.datasets())
    register_orthanc("flaky", flaky, "find,get")
    register_orthanc("dst", empty_b, "store")
    set_setting(database, "retry_base_seconds", "0.2")
    set_setting(database, "max_attempts", "2")
    flaky.stop()
    job_id = transfer("-s", "flaky", "-d", "dst", "--study", small.study_uid)
    assert run_until_final(database, job_id) == "FAILURE"
    [task] = tasks(database, job_id)
    assert task.attempts == 2
    assert "Gave up after 2 attempts" in task.message
    assert "on flaky" in task.message
    assert "adit jobs retry" in task.message
    assert "Attempt 1 of 2 failed" in task.log

    flaky.start()
    assert adit("jobs", "retry", str(job_id)).exit_code == 0
    assert run_until_final(database, job_id) == "SUCCESS"
    assert empty_b.instance_uids() == small.instance_uids()
