"""`adit demo`: the pynetdicom PACS it falls back on, and its set-up (`--no-app`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from adit_core.dicom import dimse, operations
from adit_core.dicom.errors import DicomOperationError
from adit_core.dicom.query import DateRange, Level, Query
from adit_core.dicom.server import DicomServer, LocalNode
from adit_dev.pynetdicom_pacs import PynetdicomPacs
from adit_dev.synthetic import Corpus
from tests.cli import ADIT


@pytest.fixture(scope="module")
def pacs(corpus: Corpus) -> PynetdicomPacs:
    server = PynetdicomPacs(ae_title="DEMO_SRC")
    server.upload_many(corpus.datasets())
    server.start()
    yield server
    server.stop()


def as_server(pacs: PynetdicomPacs, name: str = "demo", **kwargs: object) -> DicomServer:
    return DicomServer(
        name=name, ae_title=pacs.ae_title, host="127.0.0.1", port=pacs.dicom_port, **kwargs
    )  # type: ignore[arg-type]


def test_find_at_every_level(pacs: PynetdicomPacs, corpus: Corpus) -> None:
    server = as_server(pacs, patient_root_find=True)
    studies = operations.find(server, Query(level=Level.STUDY))
    assert {str(d.StudyInstanceUID) for d in studies} == corpus.study_uids()
    mr = operations.find(server, Query(level=Level.STUDY, modalities=("MR",)))
    assert {str(d.PatientID) for d in mr} == {
        s.patient_id for s in corpus.studies if "MR" in s.modalities
    }
    named = operations.find(
        server, Query(level=Level.STUDY, patient_name="müller, jürgen", fuzzy_names=True)
    )
    assert {str(d.PatientID) for d in named} == {"0012345"}
    dated = operations.find(
        server,
        Query(level=Level.STUDY, study_date=DateRange(__import__("datetime").date(2023, 1, 1))),
    )
    assert {str(d.StudyInstanceUID) for d in dated} == {
        s.study_uid for s in corpus.studies if s.study_date >= "20230101"
    }
    study = corpus.studies_of("000042")[0]
    counted = next(d for d in studies if d.StudyInstanceUID == study.study_uid)
    assert int(counted.NumberOfStudyRelatedInstances) == study.instance_count
    assert set(counted.ModalitiesInStudy) == study.modalities
    series = operations.find(server, Query(level=Level.SERIES, study_instance_uid=study.study_uid))
    assert {str(d.SeriesInstanceUID) for d in series} == {s.series_uid for s in study.series}
    one = study.series[0]
    images = operations.find(
        server,
        Query(level=Level.IMAGE, study_instance_uid=study.study_uid,
              series_instance_uid=one.series_uid),
    )  # fmt: skip
    assert {str(d.SOPInstanceUID) for d in images} == set(one.instance_uids)
    patients = operations.find(server, Query(level=Level.PATIENT, patient_id="00*"))
    assert {str(d.PatientID) for d in patients} == {
        p for p in corpus.patients if p.startswith("00")
    }
    capped = operations.find(server, Query(level=Level.STUDY), limit=2)
    assert len(capped) == 2 and capped.truncated


def test_echo_get_and_store(pacs: PynetdicomPacs, corpus: Corpus) -> None:
    server = as_server(pacs)
    assert operations.echo(server)[0] == "C-ECHO"
    study = corpus.studies_of("0012345")[0]
    got = list(operations.retrieve(server, study.study_uid, local=LocalNode("ADIT")))
    assert {i.sop_instance_uid for i in got} == study.instance_uids()
    series = study.series[1]
    got = list(dimse.get(server, study.study_uid, series_uids=[series.series_uid]))
    assert {i.sop_instance_uid for i in got} == set(series.instance_uids)
    # The pixels survive the trip.
    original = next(ds for ds in study.datasets() if ds.SeriesInstanceUID == series.series_uid)
    fetched = next(i for i in got if i.sop_instance_uid == original.SOPInstanceUID)
    assert fetched.dataset().PixelData == original.PixelData
    # C-STORE: what it receives it keeps (here into memory) and answers for.
    with PynetdicomPacs(ae_title="DEMO_STORE") as target:
        operations.store(as_server(target), got)
        assert target.instance_uids() == set(series.instance_uids)


def test_move_to_a_known_destination_and_refuse_unknown(
    pacs: PynetdicomPacs, corpus: Corpus, tmp_path: Path
) -> None:
    destination = PynetdicomPacs(ae_title="DEMO_DST", storage_dir=tmp_path / "dst")
    destination.start()
    try:
        pacs.add_modality("dst", "DEMO_DST", "127.0.0.1", destination.dicom_port)
        server = as_server(pacs)
        study = corpus.studies_of("7654321")[0]
        result = dimse.move(server, study.study_uid, "DEMO_DST")
        assert result.completed == study.instance_count and result.failed == 0
        assert destination.instance_uids() == study.instance_uids()
        assert len(list((tmp_path / "dst").glob("*.dcm"))) == study.instance_count
        # It answers C-FIND on what it received (C-STORE then query: a full destination).
        dst = as_server(destination)
        found = operations.find(dst, Query(level=Level.STUDY))
        assert [str(d.StudyInstanceUID) for d in found] == [study.study_uid]
        with pytest.raises(DicomOperationError, match="unknown"):
            dimse.move(server, study.study_uid, "NOBODY")
    finally:
        destination.stop()


def _demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ADIT_DATABASE_URL"}
    env["ADIT_LOG_LEVEL"] = "WARNING"
    return env


@pytest.mark.services  # starts an embedded PostgreSQL
def test_demo_sets_everything_up_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """The demo's whole set-up with the bundled PACS (embedded PostgreSQL, two servers, a
    folder, worker and receiver), then Ctrl+C (SIGINT): every process it started is gone,
    its temporary data too, exit status 130. (`--check-transfer` would also run a job
    through it; the worker and both PACS paths are tested elsewhere, so CI saves the time.)
    """
    proc = subprocess.Popen(
        [*ADIT, "demo", "--no-app", "--wait", "--pacs", "pynetdicom"],
        env=_demo_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "press Ctrl+C" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(110), "".join(lines)
        out = "".join(lines)
        for name in ("demo-pacs", "demo-research", "demo-folder", "receiver", "worker"):
            assert name in out
        pids = [int(p) for p in re.findall(r"pid (\d+)", out)]
        assert len(pids) == 3 and all(_alive(p) for p in pids), out  # postgres, receiver, worker
        data_dir = Path(re.search(r"data in (\S+)", out).group(1))  # type: ignore[union-attr]
        assert (data_dir / "pgdata").is_dir()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130, "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "".join(lines)
    assert not data_dir.exists(), "the temporary data directory is removed"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False
