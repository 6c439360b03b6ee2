"""What a task says when real files meet the rules: burned-in annotation refused, and a
destination that refuses an instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from tests.fixtures.orthanc import start_orthanc
from tests.realworld.conftest import Source
from tests.worker.support import (
    adit,
    register_orthanc,
    run_until_final,
    set_setting,
    tasks,
    transfer,
)

pytestmark = pytest.mark.orthanc

RETIRED_US_STUDY = "999.999.2.19941105.112000"  # color-pl.dcm, color-px.dcm
J2K_CT_STUDY = "1.2.392.200036.9123.100.11.15002200303521616157144527203339851"


def test_burned_in_annotation_refused_names_the_instances(
    database: Database, realworld_source: Source, tmp_path: Path
) -> None:
    set_setting(database, "burned_in_annotation", "refuse")
    register_orthanc("src", realworld_source.orthanc, "find,get")
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
    job_id = transfer("-s", "src", "-d", "out", "--study", RETIRED_US_STUDY, "--pseudonym", "US1")
    assert run_until_final(database, job_id) == "WARNING"
    [task] = tasks(database, job_id)
    assert "2 instances were not transferred because they may show identifying text" in task.message
    sources = [f for f in realworld_source.corpus.files if f.study_uid == RETIRED_US_STUDY]
    for f in sources:
        assert f.sop_instance_uid in task.log
    assert not list((tmp_path / "out").rglob("*.dcm"))


@pytest.fixture(scope="module")
def uncompressed_only(
    orthanc_servers: list[OrthancServer], tmp_path_factory: pytest.TempPathFactory
) -> OrthancServer:
    return start_orthanc(
        orthanc_servers,
        tmp_path_factory.mktemp("orthanc_plain"),
        ae_title="PLAIN",
        config_overrides={"AcceptedTransferSyntaxes": ["1.2.840.10008.1.2.1"]},
    )


def test_a_destination_refusal_is_in_the_task_log_with_its_reason(
    database: Database, realworld_source: Source, uncompressed_only: OrthancServer
) -> None:
    set_setting(database, "max_attempts", "1")
    register_orthanc("src", realworld_source.orthanc, "find,get")
    register_orthanc("dst", uncompressed_only, "store")
    job_id = transfer("-s", "src", "-d", "dst", "--study", J2K_CT_STUDY, "--pseudonym", "CT1")
    assert run_until_final(database, job_id) == "FAILURE"
    [task] = tasks(database, job_id)
    assert "1 instances could not be stored (the destination's answer)" in task.log
    assert "dst accepts no presentation context for CT Image Storage in JPEG 2000" in task.log
    assert uncompressed_only.instance_count() == 0


CT_SMALL_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


def test_shift_times_moves_times_of_day_and_keeps_dates(
    database: Database, realworld_source: Source, tmp_path: Path
) -> None:
    from pydicom import dcmread

    register_orthanc("src", realworld_source.orthanc, "find,qido,wado")
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
    results = {}
    for flag in ((), ("--shift-times",)):
        job_id = transfer(
            "-s", "src", "-d", "out", "--study", CT_SMALL_STUDY, "--pseudonym", "T1", *flag
        )
        assert run_until_final(database, job_id) == "SUCCESS"
        [file] = list((tmp_path / "out").glob(f"adit_*_{job_id}_*/**/*.dcm"))
        results[bool(flag)] = dcmread(file)
    kept, moved = results[False], results[True]
    assert kept.StudyTime == "072730"  # CT_small.dcm's own time: kept by design
    assert moved.StudyTime != kept.StudyTime
    assert moved.StudyDate == kept.StudyDate and moved.SOPInstanceUID == kept.SOPInstanceUID
