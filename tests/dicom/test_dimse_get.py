"""C-GET streaming against a real Orthanc."""

from __future__ import annotations

import threading
import time

import pytest

from adit_core.dicom import dimse
from adit_core.dicom.dimse import DicomIncompleteRetrieve
from adit_core.dicom.errors import (
    DicomCanceled,
    DicomCapabilityError,
    DicomConnectionError,
    DicomOperationError,
)
from adit_core.dicom.server import DicomServer
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus

pytestmark = pytest.mark.orthanc


@pytest.fixture(scope="module")
def server(orthanc_a: OrthancServer) -> DicomServer:
    return orthanc_a.as_dicom_server("Orthanc A")


def get_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("c-get")]


def test_whole_study(server: DicomServer, orthanc_a: OrthancServer, corpus: Corpus) -> None:
    study = corpus.study("000042")  # MR series plus an SR report
    stream = dimse.get(server, study.study_uid)
    received = list(stream)
    uids = [i.sop_instance_uid for i in received]
    assert len(uids) == len(set(uids))
    assert set(uids) == orthanc_a.instance_uids(study.study_uid) == study.instance_uids()
    assert stream.result.completed == len(uids) == stream.result.received
    assert stream.result.failed == 0
    assert stream.result.bytes_received == sum(i.size for i in received)
    for instance in received:
        ds = instance.dataset()
        assert ds.PatientID == "000042"
        assert str(ds.PatientName) == "Ødegård^Åse"
        assert ds.SOPInstanceUID == instance.sop_instance_uid
        assert ds.file_meta.TransferSyntaxUID == instance.transfer_syntax_uid
    assert {i.sop_class_uid for i in received} == {s.sop_class_uid for s in study.series}
    assert not get_threads()


def test_chosen_series(server: DicomServer, corpus: Corpus) -> None:
    study = corpus.study(corpus.studies_of("0012345")[0].study_uid)
    chosen = [study.series[0], study.series[2]]
    with dimse.get(server, study.study_uid, series_uids=[s.series_uid for s in chosen]) as stream:
        uids = {i.sop_instance_uid for i in stream}
    assert uids == {u for s in chosen for u in s.instance_uids}
    assert stream.result.completed == len(uids)


def test_patient_root_only_server(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    server = orthanc_a.as_dicom_server("Patient root", study_root_get=False)
    study = corpus.study("0098765")
    with pytest.raises(DicomCapabilityError, match="PatientID"):
        dimse.get(server, study.study_uid)
    stream = dimse.get(server, study.study_uid, patient_id="0098765")
    assert {i.sop_instance_uid for i in stream} == study.instance_uids()


def test_closing_early_aborts_and_ends_the_thread(server: DicomServer, corpus: Corpus) -> None:
    study = corpus.study("0098765")
    stream = dimse.get(server, study.study_uid, queue_size=1)
    first = next(stream)
    assert first.sop_instance_uid in study.instance_uids()
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 5
    assert not get_threads()
    with pytest.raises(StopIteration):
        next(stream)

    # Breaking out of a for loop drops the stream, which closes it.
    for _ in dimse.get(server, study.study_uid, queue_size=1):
        break
    deadline = time.monotonic() + 5
    while get_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not get_threads()
    assert dimse.echo(server) > 0


def test_slow_consumer_gets_everything(server: DicomServer, corpus: Corpus) -> None:
    study = corpus.study("0098765")
    uids = set()
    for instance in dimse.get(server, study.study_uid, queue_size=1):
        time.sleep(0.02)  # the server waits for us instead of the queue growing
        uids.add(instance.sop_instance_uid)
    assert uids == study.instance_uids()


def test_cancel(server: DicomServer, corpus: Corpus) -> None:
    study = corpus.study("0098765")
    cancel = threading.Event()
    received = 0
    with pytest.raises(DicomCanceled, match="canceled after"):
        for _ in dimse.get(server, study.study_uid, cancel=cancel, queue_size=1):
            received += 1
            cancel.set()
    assert 1 <= received < study.instance_count
    assert not get_threads()


def test_unknown_study(server: DicomServer) -> None:
    with pytest.raises(DicomOperationError, match=r"0xC000.*no study 1\.2\.3\.4") as caught:
        list(dimse.get(server, "1.2.3.4"))
    assert not caught.value.transient


def test_dead_server() -> None:
    dead = DicomServer(name="Dead PACS", ae_title="DEAD", host="127.0.0.1", port=free_port())
    with pytest.raises(DicomConnectionError, match="Dead PACS"):
        list(dimse.get(dead, "1.2.3.4"))
    assert not get_threads()


def test_partial_and_total_failure(empty_b: OrthancServer, corpus: Corpus) -> None:
    """Orthanc cannot send an instance whose SOP class we did not offer: a failed sub-op."""
    study = corpus.study("0000007")
    datasets = list(study.datasets())
    odd = datasets[0]
    odd.SOPClassUID = odd.file_meta.MediaStorageSOPClassUID = "1.2.826.0.1.3680043.8.498.999.1"
    odd.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.999.2"  # a series of its own
    empty_b.upload_many(datasets)
    server = empty_b.as_dicom_server("Orthanc B")
    normal = study.series[1]
    # Orthanc stops a request at the instance it cannot send, in an order of its own: one
    # request per series (in the order given) keeps this test deterministic.
    received = []
    stream = dimse.get(
        server, study.study_uid, series_uids=[normal.series_uid, odd.SeriesInstanceUID]
    )
    with pytest.raises(DicomIncompleteRetrieve) as caught:
        for instance in stream:
            received.append(instance.sop_instance_uid)
    assert set(received) == set(normal.instance_uids)
    assert caught.value.result is stream.result
    assert stream.result.completed == stream.result.received == len(normal.instance_uids)
    assert stream.result.failed == 1
    assert not caught.value.transient
    assert f"{len(normal.instance_uids)} completed, 1 failed" in str(caught.value)

    with pytest.raises(DicomOperationError, match="every sub-operation failed") as caught_all:
        list(dimse.get(server, study.study_uid, series_uids=[odd.SeriesInstanceUID]))
    assert caught_all.value.transient
