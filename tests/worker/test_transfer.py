"""Transfers end to end: real Orthanc servers, real PostgreSQL, our worker and receiver."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from pydicom import dcmread

from adit_core.db.database import Database
from adit_core.events import CHANNEL
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from tests.cli import adit
from tests.identity import leaks
from tests.worker.support import (
    folder_files,
    read_all,
    receiver,
    register_orthanc,
    run_until_final,
    set_setting,
    status,
    tasks,
    transfer,
)


@pytest.fixture
def study(corpus: Corpus):  # type: ignore[no-untyped-def]
    """Müller's CT: two series, private tags, identifiers in nested sequences."""
    return corpus.studies_of("0012345")[0]


def arrived(orthanc: OrthancServer):  # type: ignore[no-untyped-def]
    uids = orthanc.instance_uids()
    return [dcmread(BytesIO(orthanc.instance_file(uid))) for uid in sorted(uids)]


@pytest.mark.parametrize(
    ("source_caps", "destination_caps"),
    [
        ("find,get", "store"),  # C-GET → C-STORE
        ("qido,wado", "stow"),  # WADO-RS → STOW-RS
    ],
    ids=["c-get-to-c-store", "wado-rs-to-stow-rs"],
)
def test_pseudonymized_transfer_between_servers(
    database: Database,
    orthanc_a: OrthancServer,
    empty_b: OrthancServer,
    study,  # type: ignore[no-untyped-def]
    source_caps: str,
    destination_caps: str,
) -> None:
    register_orthanc("src", orthanc_a, source_caps)
    register_orthanc("dst", empty_b, destination_caps)
    job_id = transfer(
        "-s", "src", "-d", "dst", "--study", study.study_uid, "--patient-id", study.patient_id,
        "--pseudonym", "SUBJ01", "--trial-protocol-id", "P7", "--trial-protocol-name", "Lungs",
    )  # fmt: skip
    assert run_until_final(database, job_id) == "SUCCESS", tasks(database, job_id)
    datasets = arrived(empty_b)
    assert len(datasets) == study.instance_count
    for ds in datasets:
        assert ds.PatientID == "SUBJ01"
        assert ds.ClinicalTrialProtocolID == "P7"
        assert ds.PatientComments.startswith("Project:P7 Subject:SUBJ01 Session:SUBJ01_")
        assert leaks(ds, study) == []
    [task] = tasks(database, job_id)
    assert (task.instances_expected, task.instances_done, task.instances_failed) == (
        study.instance_count, study.instance_count, 0
    )  # fmt: skip
    assert task.bytes_done > 0


def test_c_move_through_the_receiver(
    database: Database,
    orthanc_a: OrthancServer,
    empty_b: OrthancServer,
    study,  # type: ignore[no-untyped-def]
) -> None:
    register_orthanc("src", orthanc_a, "find,move")
    register_orthanc("dst", empty_b, "store")
    with receiver(database, orthanc_a) as link:
        job_id = transfer("-s", "src", "-d", "dst", "--study", study.study_uid)
        assert run_until_final(database, job_id, move_destination=link) == "SUCCESS"
    assert empty_b.instance_uids() == study.instance_uids()
    ds = arrived(empty_b)[0]
    assert ds.PatientID == study.patient_id  # not pseudonymized: unchanged
    with psycopg.connect(database.url) as conn:
        rows = conn.execute("SELECT count(*), bool_or(quarantined) FROM arrivals").fetchone()
        still_open = conn.execute(
            "SELECT count(*) FROM move_requests WHERE closed_at IS NULL"
        ).fetchone()
    assert rows == (study.instance_count, False)
    assert still_open == (0,)


def test_transfer_of_chosen_series_to_a_folder(
    database: Database,
    orthanc_a: OrthancServer,
    tmp_path: Path,
    study,  # type: ignore[no-untyped-def]
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
    series = study.series[1]
    job_id = transfer(
        "-s", "src", "-d", "out", "--study", study.study_uid, "--series", series.series_uid,
        "--pseudonym", "SUBJ02",
    )  # fmt: skip
    assert run_until_final(database, job_id) == "SUCCESS"
    files = folder_files(tmp_path / "out")
    assert len(files) == len(series.instance_uids)
    relative = files[0].relative_to(tmp_path / "out").parts
    assert relative[0].startswith(f"adit_selective-transfer_{job_id}_")
    assert relative[1] == "SUBJ02"
    assert relative[3].startswith(f"{series.number}-")
    for ds in read_all(files):
        assert leaks(ds, study) == []
    assert not list((tmp_path / "out").rglob("*.part"))


def test_same_pseudonym_gives_same_uids_in_two_jobs(
    database: Database,
    orthanc_a: OrthancServer,
    tmp_path: Path,
    study,  # type: ignore[no-untyped-def]
) -> None:
    register_orthanc("src", orthanc_a, "qido,wado")
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
    uids = []
    for _ in range(2):
        job_id = transfer("-s", "src", "-d", "out", "--study", study.study_uid, "--pseudonym", "P9")
        assert run_until_final(database, job_id) == "SUCCESS"
        job_dir = next(
            p for p in (tmp_path / "out").iterdir() if p.name.split("_")[2] == str(job_id)
        )
        datasets = read_all(folder_files(job_dir))
        uids.append(sorted(str(d.SOPInstanceUID) for d in datasets))
        study_uids = {str(d.StudyInstanceUID) for d in datasets}
        assert len(study_uids) == 1 and study.study_uid not in study_uids
    assert uids[0] == uids[1]


def test_hostile_values_stay_inside_the_folder(
    database: Database, orthanc_a: OrthancServer, tmp_path: Path
) -> None:
    from adit_dev.synthetic import make_study

    hostile = make_study(
        patient_id="../../../etc", patient_name="Evil^Eve", birth_date="19700101",
        modality="CT", n_series=1, n_instances=2, seed=99, description="../../x",
    )  # fmt: skip
    datasets = list(hostile.datasets())
    for ds in datasets:
        ds.SeriesDescription = "../../x"
        ds.StudyDate = "../.."
    orthanc_a.upload_many(datasets)
    try:
        register_orthanc("src", orthanc_a, "find,get")
        out = tmp_path / "root" / "out"
        assert adit("folder", "add", "out", "--path", str(out), "--create").exit_code == 0
        job_id = transfer("-s", "src", "-d", "out", "--study", hostile.study_uid)
        assert run_until_final(database, job_id) == "SUCCESS", tasks(database, job_id)
        files = folder_files(tmp_path)
        assert len(files) == 2
        assert all(out in f.parents for f in files)
    finally:
        # Keep the shared corpus intact for other tests.
        _delete_study(orthanc_a, hostile.study_uid)


def _delete_study(orthanc: OrthancServer, study_uid: str) -> None:
    study_id = orthanc.lookup(study_uid, "Study")
    orthanc.session.delete(f"{orthanc.url}/studies/{study_id}").raise_for_status()


def test_notify_for_every_state_change_of_a_run(
    database: Database,
    orthanc_a: OrthancServer,
    empty_b: OrthancServer,
    study,  # type: ignore[no-untyped-def]
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    with psycopg.connect(database.url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        job_id = transfer("-s", "src", "-d", "dst", "--study", study.study_uid)
        run_until_final(database, job_id)
        events = [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]
    job_states = [e["status"] for e in events if "task" not in e and "status" in e]
    task_states = [e["status"] for e in events if "task" in e]
    assert job_states[0] == "PENDING" and job_states[-1] == "SUCCESS"
    assert "IN_PROGRESS" in job_states
    assert "IN_PROGRESS" in task_states and task_states[-1] == "SUCCESS"


def test_study_missing_on_source_fails_with_a_clear_message(
    database: Database, orthanc_a: OrthancServer, empty_b: OrthancServer
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    job_id = transfer("-s", "src", "-d", "dst", "--study", "1.2.3.4.5.6.7")
    assert run_until_final(database, job_id) == "FAILURE"
    [task] = tasks(database, job_id)
    assert task.attempts == 1  # permanent: not retried
    assert "1.2.3.4.5.6.7 was not found on src" in task.message
    assert status(database, job_id) == "FAILURE"


def test_excluded_modalities_are_skipped_and_logged(
    database: Database, orthanc_a: OrthancServer, empty_b: OrthancServer, corpus: Corpus
) -> None:
    with_sr = next(s for s in corpus.studies if "SR" in s.modalities)
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    set_setting(database, "exclude_modalities", "SR, PR")
    job_id = transfer("-s", "src", "-d", "dst", "--study", with_sr.study_uid, "--pseudonym", "S3")
    assert run_until_final(database, job_id) == "SUCCESS"
    [task] = tasks(database, job_id)
    assert "Skipped 1 series of excluded modalities (PR, SR)" in task.log
    modalities = {str(d.Modality) for d in arrived(empty_b)}
    assert "SR" not in modalities and modalities
