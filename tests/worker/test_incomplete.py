"""Nothing is lost silently: an instance the source lists but cannot deliver fails the task."""

from __future__ import annotations

from pathlib import Path

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import make_study
from tests.cli import adit
from tests.worker.support import (
    folder_files,
    register_orthanc,
    run_until_final,
    set_setting,
    tasks,
    transfer,
)

UNKNOWN_SOP_CLASS = "1.2.826.0.1.3680043.8.498.777.1"


def test_an_undeliverable_instance_is_listed_and_the_task_fails(
    database: Database, orthanc_a: OrthancServer, tmp_path: Path
) -> None:
    # Two series: two good instances, then one that no C-GET storage context carries.
    # Orthanc ends a C-GET at the first instance it cannot deliver, in an order of its own;
    # asking for the series one after the other (one C-GET each, in the order given) makes
    # the count exact: the first series arrives whole, the second not at all.
    study = make_study(
        patient_id="0066601", patient_name="Teil^Tom", birth_date="19750505",
        modality="CT", n_series=2, n_instances=3, seed=66,
    )  # fmt: skip
    good, bad = study.series
    assert (len(good.instance_uids), len(bad.instance_uids)) == (2, 1)
    datasets = list(study.datasets())
    [odd] = [ds for ds in datasets if ds.SOPInstanceUID == bad.instance_uids[0]]
    odd.SOPClassUID = UNKNOWN_SOP_CLASS
    odd.file_meta.MediaStorageSOPClassUID = UNKNOWN_SOP_CLASS
    orthanc_a.upload_many(datasets)
    try:
        register_orthanc("src", orthanc_a, "find,get")
        assert (
            adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
        )
        set_setting(database, "max_attempts", "2")
        set_setting(database, "retry_base_seconds", "0.1")
        job_id = transfer(
            "-s", "src", "-d", "out", "--study", study.study_uid,
            "--series", good.series_uid, "--series", bad.series_uid,
        )  # fmt: skip
        assert run_until_final(database, job_id) == "FAILURE"
        [task] = tasks(database, job_id)
        assert task.instances_expected == 3
        assert task.instances_done == 2
        assert task.attempts == 2
        assert "2 of 3 instances transferred; 1 missing, 0 not stored" in task.message
        assert "1 of 3 expected instances did not arrive:" in task.log
        assert str(odd.SOPInstanceUID) in task.log  # the log names what is missing
        # A study that failed leaves nothing in the folder (its staging folder is removed).
        assert folder_files(tmp_path / "out") == []
        assert list((tmp_path / "out").iterdir()) == []
    finally:
        study_id = orthanc_a.lookup(study.study_uid, "Study")
        orthanc_a.session.delete(f"{orthanc_a.url}/studies/{study_id}").raise_for_status()
