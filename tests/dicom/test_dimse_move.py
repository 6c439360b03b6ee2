"""C-MOVE from a real Orthanc to a DCMTK storescp run by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread

from adit_core.dicom import dimse
from adit_core.dicom.dimse import DicomIncompleteRetrieve
from adit_core.dicom.errors import DicomCanceled, DicomCapabilityError, DicomOperationError
from adit_core.dicom.server import DicomServer
from adit_dev.dcmtk import dcmtk_env, dcmtk_tool
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus

pytestmark = [pytest.mark.orthanc, pytest.mark.dcmtk]


@dataclass
class StoreScp:
    ae_title: str
    port: int
    folder: Path

    def received(self) -> set[str]:
        return {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in self.files()}

    def files(self) -> list[Path]:
        return [p for p in self.folder.iterdir() if p.is_file()]

    def clear(self) -> None:
        shutil.rmtree(self.folder)
        self.folder.mkdir()


@pytest.fixture(scope="module")
def storescp(
    tmp_path_factory: pytest.TempPathFactory, orthanc_a: OrthancServer
) -> Iterator[StoreScp]:
    executable = dcmtk_tool("storescp")
    if executable is None:
        pytest.fail("DCMTK's storescp not found; install the Debian package dcmtk")
    folder = tmp_path_factory.mktemp("storescp")
    scp = StoreScp("MOVE_DEST", free_port(), folder)
    process = subprocess.Popen(
        [executable, "-aet", scp.ae_title, "-od", str(folder), str(scp.port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", scp.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("storescp did not start")
                time.sleep(0.05)
        orthanc_a.add_modality("move-dest", scp.ae_title, "127.0.0.1", scp.port)
        yield scp
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def server(orthanc_a: OrthancServer) -> DicomServer:
    return orthanc_a.as_dicom_server("Orthanc A")


def test_move_study(server: DicomServer, storescp: StoreScp, corpus: Corpus) -> None:
    storescp.clear()
    study = corpus.study("000042")
    result = dimse.move(server, study.study_uid, storescp.ae_title)
    assert result.completed == study.instance_count
    assert result.failed == result.warning == 0
    assert result.failed_sop_uids == []
    assert storescp.received() == study.instance_uids()
    assert len(storescp.files()) == study.instance_count


def test_move_series(server: DicomServer, storescp: StoreScp, corpus: Corpus) -> None:
    storescp.clear()
    study = corpus.study("0098765")
    series = study.series[1]
    result = dimse.move(server, study.study_uid, storescp.ae_title, series_uids=[series.series_uid])
    assert result.completed == len(series.instance_uids)
    assert storescp.received() == set(series.instance_uids)


def test_move_patient_root(orthanc_a: OrthancServer, storescp: StoreScp, corpus: Corpus) -> None:
    storescp.clear()
    server = orthanc_a.as_dicom_server("Patient root", study_root_move=False)
    study = corpus.study("0000007")
    with pytest.raises(DicomCapabilityError):
        dimse.move(server, study.study_uid, storescp.ae_title)
    result = dimse.move(server, study.study_uid, storescp.ae_title, patient_id="0000007")
    assert result.completed == study.instance_count
    assert storescp.received() == study.instance_uids()


def test_unknown_destination_is_a_clear_permanent_error(
    server: DicomServer, corpus: Corpus
) -> None:
    study = corpus.study("000042")
    with pytest.raises(DicomOperationError) as caught:
        dimse.move(server, study.study_uid, "NOBODY")
    error = caught.value
    assert error.status == 0xC000
    assert not error.transient
    message = str(error)
    # Orthanc answers 0xC000 alike for an unknown destination and for an instance it
    # cannot send: the message names both causes and where to look.
    assert "cannot send to 'NOBODY' (not registered there, or not reachable)" in message
    assert "Orthanc A's log says which" in message
    assert dimse.echo(server) > 0


def test_unknown_study(server: DicomServer, storescp: StoreScp) -> None:
    with pytest.raises(DicomOperationError, match=r"no study 1\.2\.3\.4"):
        dimse.move(server, "1.2.3.4", storescp.ae_title)


def test_cancel(server: DicomServer, storescp: StoreScp, corpus: Corpus) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DicomCanceled):
        dimse.move(server, corpus.study("0098765").study_uid, storescp.ae_title, cancel=cancel)
    assert dimse.echo(server) > 0


def test_failed_sub_operations_are_reported(
    empty_b: OrthancServer, storescp: StoreScp, corpus: Corpus
) -> None:
    storescp.clear()
    study = corpus.study("0000007")
    datasets = list(study.datasets())
    odd = datasets[0]  # a SOP class storescp does not know: its sub-operation fails
    odd.SOPClassUID = odd.file_meta.MediaStorageSOPClassUID = "1.2.826.0.1.3680043.8.498.999.1"
    odd.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.999.2"
    empty_b.upload_many(datasets)
    empty_b.add_modality("move-dest", storescp.ae_title, "127.0.0.1", storescp.port)
    server = empty_b.as_dicom_server("Orthanc B")
    normal = study.series[1]

    # Orthanc answers a request whose first instance fails with 0xC000 and no counts; the
    # series before it arrived, and the error says which request failed.
    with pytest.raises(DicomIncompleteRetrieve, match="to the request for series") as caught:
        dimse.move(
            server,
            study.study_uid,
            storescp.ae_title,
            series_uids=[normal.series_uid, odd.SeriesInstanceUID],
        )
    assert caught.value.result.completed == len(normal.instance_uids)
    assert storescp.received() == set(normal.instance_uids)

    # A whole-study move stops at that instance, in Orthanc's own order: the instances
    # after it count as failed (from its last pending response).
    storescp.clear()
    try:
        result = dimse.move(server, study.study_uid, storescp.ae_title)
    except DicomOperationError:
        return  # the odd instance came first: nothing was moved, nothing to count
    assert result.failed >= 1
    assert result.completed + result.failed == study.instance_count
    received = storescp.received()
    assert len(received) == result.completed
    assert received <= study.instance_uids() - {odd.SOPInstanceUID}
