"""C-STORE streams into a real (emptied) Orthanc."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.uid import ImplicitVRLittleEndian

from adit_core.dicom import dimse
from adit_core.dicom.errors import DicomCanceled, DicomConnectionError
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.retry import RetryPolicy
from adit_core.dicom.server import DicomServer
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus, to_bytes

pytestmark = pytest.mark.orthanc

FAST_RETRY = RetryPolicy(attempts=3, total_time=5, initial_delay=0.05, max_delay=0.2)


def instances(corpus: Corpus) -> Iterator[DicomInstance]:
    for ds in corpus.datasets():
        yield DicomInstance.from_bytes(to_bytes(ds))


@pytest.mark.parametrize("associations", [1, 3])
def test_stream_arrives_complete(empty_b: OrthancServer, corpus: Corpus, associations: int) -> None:
    server = empty_b.as_dicom_server("Orthanc B")
    result = dimse.store(server, instances(corpus), associations=associations)
    assert result.failed == []
    assert result.stored == corpus.instance_count
    assert result.associations == associations
    assert result.bytes == sum(len(to_bytes(ds)) for ds in corpus.datasets())
    assert empty_b.instance_uids() == corpus.instance_uids()


def test_relay_from_c_get(orthanc_a: OrthancServer, empty_b: OrthancServer, corpus: Corpus) -> None:
    study = corpus.study("000042")
    source = orthanc_a.as_dicom_server("Orthanc A")
    result = dimse.store(empty_b.as_dicom_server("Orthanc B"), dimse.get(source, study.study_uid))
    assert result.stored == study.instance_count
    assert empty_b.instance_uids() == study.instance_uids()
    for uid in study.instance_uids():  # the same data sets (Orthanc writes its own file meta)
        copy = dcmread(BytesIO(empty_b.instance_file(uid)))
        assert copy == dcmread(BytesIO(orthanc_a.instance_file(uid)))


@pytest.mark.filterwarnings("ignore:Expected implicit VR")  # pydicom, reading the garbage file
def test_mixed_items_failures_recorded_and_new_contexts_negotiated(
    empty_b: OrthancServer, corpus: Corpus, tmp_path: Path
) -> None:
    datasets = list(corpus.study("0098765").datasets())
    as_path = tmp_path / "one.dcm"
    as_path.write_bytes(to_bytes(datasets[0]))
    garbage = tmp_path / "garbage.dcm"
    garbage.write_bytes(b"not DICOM at all" * 20)
    implicit = BytesIO()
    datasets[1].file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    dcmwrite(implicit, datasets[1], implicit_vr=True, enforce_file_format=True)
    unknown_class = datasets[2]
    unknown_class.SOPClassUID = "1.2.826.0.1.3680043.8.498.999.1"  # no server knows it
    unknown_class.file_meta.MediaStorageSOPClassUID = unknown_class.SOPClassUID
    items: list[DicomInstance | Dataset | Path] = [
        as_path,
        garbage,
        DicomInstance.from_bytes(implicit.getvalue()),  # sent as is: Implicit VR context
        unknown_class,
        *datasets[3:],
    ]
    result = dimse.store(empty_b.as_dicom_server("Orthanc B"), items)

    failed = dict(result.failed)
    assert set(failed) == {str(garbage), unknown_class.SOPInstanceUID}
    assert "not a DICOM file" in failed[str(garbage)]
    assert "accepts no presentation context" in failed[unknown_class.SOPInstanceUID]
    expected = {ds.SOPInstanceUID for ds in datasets} - {unknown_class.SOPInstanceUID}
    assert result.stored == len(expected)
    assert empty_b.instance_uids() == expected
    # Implicit VR and the unknown class each needed a context the first association lacked.
    assert result.associations == 3


def test_broken_association_is_reestablished(empty_b: OrthancServer, corpus: Corpus) -> None:
    server = empty_b.as_dicom_server("Orthanc B")

    def restarting() -> Iterator[DicomInstance]:
        for n, instance in enumerate(instances(corpus)):
            if n == 5:
                # A crash drops our association mid-stream. (A clean stop would wait for the
                # association to end first.)
                assert empty_b.pid is not None
                os.kill(empty_b.pid, signal.SIGKILL)
                empty_b.stop()
                empty_b.start()
            yield instance

    result = dimse.store(server, restarting(), policy=FAST_RETRY)
    assert result.failed == []
    assert result.stored == corpus.instance_count
    assert result.associations == 2
    assert empty_b.instance_uids() == corpus.instance_uids()


@pytest.mark.parametrize("associations", [1, 3])
def test_dead_server(corpus: Corpus, associations: int) -> None:
    dead = DicomServer(name="Dead PACS", ae_title="DEAD", host="127.0.0.1", port=free_port())
    with pytest.raises(DicomConnectionError, match="Dead PACS") as caught:
        dimse.store(dead, instances(corpus), associations=associations, policy=FAST_RETRY)
    assert caught.value.transient
    assert not [t for t in threading.enumerate() if t.name.startswith("c-store")]


def test_cancel(empty_b: OrthancServer, corpus: Corpus) -> None:
    cancel = threading.Event()

    def canceling() -> Iterator[DicomInstance]:
        for n, instance in enumerate(instances(corpus)):
            if n == 3:
                cancel.set()
            yield instance

    with pytest.raises(DicomCanceled, match="3 stored"):
        dimse.store(empty_b.as_dicom_server("Orthanc B"), canceling(), cancel=cancel)
    assert empty_b.instance_count() == 3
