"""DICOMweb client against real Orthanc servers (no mocks)."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from datetime import date
from pathlib import Path

import pytest
import requests
from pydicom import Dataset

from adit_core.dicom.dicomweb import (
    StowResult,
    dicomweb_session,
    part_to_instance,
    qido,
    qido_ping,
    stow,
    wado_iter,
)
from adit_core.dicom.errors import (
    DicomCanceled,
    DicomCapabilityError,
    DicomConnectionError,
    DicomError,
    DicomOperationError,
)
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.multipart import Part
from adit_core.dicom.query import DateRange, Level, Query
from adit_core.dicom.server import DicomServer
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus, StudySpec, make_study, to_bytes

pytestmark = pytest.mark.orthanc

AUTH_USER = "adit"
AUTH_PASSWORD = "s3cret-Pa55word"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def server_a(orthanc_a: OrthancServer) -> DicomServer:
    return orthanc_a.as_dicom_server("Orthanc A")


def study_uids(result: object) -> set[str]:
    return {str(ds.StudyInstanceUID) for ds in result}  # type: ignore[attr-defined]


def the_study(corpus: Corpus, patient_id: str, modality: str) -> StudySpec:
    return next(s for s in corpus.studies_of(patient_id) if modality in s.modalities)


# -- QIDO-RS -------------------------------------------------------------------------------


def test_qido_study_by_leading_zero_patient_id(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(patient_id="0012345"))
    assert study_uids(result) == {s.study_uid for s in corpus.studies_of("0012345")}
    assert not result.truncated
    assert all(ds.PatientID == "0012345" for ds in result)


def test_qido_non_ascii_names(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(patient_name="Müller, Jürgen"))
    assert study_uids(result) == {s.study_uid for s in corpus.studies_of("0012345")}
    assert {str(ds.PatientName) for ds in result} == {"Müller^Jürgen"}

    result = qido(server_a, Query(patient_name="ødeg", fuzzy_names=True))
    assert study_uids(result) == {s.study_uid for s in corpus.studies_of("000042")}


def test_qido_name_wildcards(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(patient_name="smith", fuzzy_names=True))
    assert study_uids(result) == {s.study_uid for s in corpus.studies_of("0000007")}
    assert len(qido(server_a, Query(patient_name="Smith^John"))) == 1
    assert len(qido(server_a, Query(patient_name="Smith^Jo"))) == 0


def test_qido_study_date_range(server_a: DicomServer, corpus: Corpus) -> None:
    window = DateRange(date(2022, 1, 1), date(2023, 12, 31))
    result = qido(server_a, Query(study_date=window))
    expected = {s.study_uid for s in corpus.studies if "20220101" <= s.study_date <= "20231231"}
    assert expected and study_uids(result) == expected


def test_qido_modalities(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(modalities=("SR",)))
    assert study_uids(result) == {s.study_uid for s in corpus.studies if "SR" in s.modalities}

    result = qido(server_a, Query(modalities=("CT", "SR")))
    expected = {s.study_uid for s in corpus.studies if s.modalities & {"CT", "SR"}}
    assert study_uids(result) == expected
    assert expected != corpus.study_uids()  # the filter really filtered


def test_qido_series_level(server_a: DicomServer, corpus: Corpus) -> None:
    study = the_study(corpus, "000042", "SR")
    result = qido(server_a, Query(level=Level.SERIES, study_instance_uid=study.study_uid))
    assert {ds.SeriesInstanceUID for ds in result} == {s.series_uid for s in study.series}

    result = qido(
        server_a,
        Query(level=Level.SERIES, study_instance_uid=study.study_uid, modalities=("SR",)),
    )
    assert [ds.SeriesInstanceUID for ds in result] == [
        s.series_uid for s in study.series if s.modality == "SR"
    ]

    # Without a study UID: all series of a modality across studies.
    result = qido(server_a, Query(level=Level.SERIES, modalities=("SR",)))
    assert {ds.Modality for ds in result} == {"SR"}


def test_qido_instance_level(server_a: DicomServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0012345", "CT")
    series = study.series[1]
    query = Query(
        level=Level.IMAGE,
        study_instance_uid=study.study_uid,
        series_instance_uid=series.series_uid,
    )
    result = qido(server_a, query)
    assert {ds.SOPInstanceUID for ds in result} == set(series.instance_uids)

    result = qido(server_a, Query(level=Level.IMAGE, study_instance_uid=study.study_uid))
    assert {ds.SOPInstanceUID for ds in result} == study.instance_uids()


def test_qido_patient_level_groups_studies(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(level=Level.PATIENT))
    by_id = {ds.PatientID: ds for ds in result}
    assert set(by_id) == set(corpus.patients)
    assert by_id["0012345"].NumberOfPatientRelatedStudies == 2
    assert str(by_id["0012345"].PatientName) == "Müller^Jürgen"

    result = qido(server_a, Query(level=Level.PATIENT, patient_id="000042"))
    assert [ds.PatientID for ds in result] == ["000042"]


def test_qido_truncation(server_a: DicomServer, corpus: Corpus) -> None:
    result = qido(server_a, Query(), limit=2)
    assert len(result) == 2 and result.truncated and result.limit == 2

    result = qido(server_a, Query(), limit=len(corpus.studies))
    assert len(result) == len(corpus.studies) and not result.truncated

    result = qido(server_a, Query(level=Level.PATIENT), limit=2)
    assert len(result) == 2 and result.truncated


def test_qido_uses_server_max_results(orthanc_a: OrthancServer) -> None:
    server = orthanc_a.as_dicom_server(max_search_results=3)
    result = qido(server, Query())
    assert len(result) == 3 and result.truncated


def test_qido_ping(server_a: DicomServer) -> None:
    assert 0 < qido_ping(server_a) < 5


def test_qido_with_shared_session(server_a: DicomServer, corpus: Corpus) -> None:
    with dicomweb_session(server_a) as session:
        for study in corpus.studies:
            query = Query(study_instance_uid=study.study_uid)
            assert study_uids(qido(server_a, query, session=session)) == {study.study_uid}


# -- WADO-RS -------------------------------------------------------------------------------


def test_wado_whole_study(server_a: DicomServer, orthanc_a: OrthancServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0012345", "CT")
    instances = list(wado_iter(server_a, study.study_uid))
    uids = [i.sop_instance_uid for i in instances]
    assert len(uids) == len(set(uids))
    assert set(uids) == orthanc_a.instance_uids(study.study_uid) == study.instance_uids()
    for instance in (instances[0], instances[-1]):
        assert instance.data == orthanc_a.instance_file(instance.sop_instance_uid)
        assert instance.sop_class_uid == str(instance.dataset().SOPClassUID)
        assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.1"


def test_wado_selected_series(server_a: DicomServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0012345", "CT")
    chosen = [study.series[0], study.series[2]]
    instances = list(
        wado_iter(server_a, study.study_uid, series_uids=[s.series_uid for s in chosen])
    )
    expected = {uid for s in chosen for uid in s.instance_uids}
    assert {i.sop_instance_uid for i in instances} == expected
    assert len(instances) == len(expected)


@pytest.mark.parametrize("chunk_size", [1, 1000, 1 << 20])
def test_wado_chunk_sizes(server_a: DicomServer, corpus: Corpus, chunk_size: int) -> None:
    study = the_study(corpus, "000042", "SR")
    instances = list(wado_iter(server_a, study.study_uid, chunk_size=chunk_size))
    assert {i.sop_instance_uid for i in instances} == study.instance_uids()


def test_wado_cancel(server_a: DicomServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0012345", "CT")
    cancel = threading.Event()
    received = []
    with pytest.raises(DicomCanceled, match="after 2 instance"):
        for instance in wado_iter(server_a, study.study_uid, cancel=cancel):
            received.append(instance)
            if len(received) == 2:
                cancel.set()
    assert len(received) == 2


def test_wado_unknown_study(server_a: DicomServer) -> None:
    with pytest.raises(DicomOperationError) as info:
        list(wado_iter(server_a, "1.2.3.4.5.6.7"))
    assert info.value.status == 404 and not info.value.transient
    assert "HTTP 404" in str(info.value) and "Orthanc A" in str(info.value)


class CuttingProxy:
    """A TCP relay to a real server that drops the connection after `limit` answer bytes."""

    def __init__(self, upstream_port: int, limit: int):
        self.upstream_port = upstream_port
        self.limit = limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        sent = 0
        try:
            while sent < self.limit:
                data = upstream.recv(min(65536, self.limit - sent))
                if not data:
                    break
                client.sendall(data)
                sent += len(data)
        finally:
            # shutdown() sends the FIN even while the pump thread is blocked in recv().
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.listener.close()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)


def _wado_response_size(orthanc: OrthancServer, study_uid: str) -> int:
    response = requests.get(
        f"{orthanc.dicomweb_url}/studies/{study_uid}",
        headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
        timeout=30,
    )
    response.raise_for_status()
    header_size = len(b"HTTP/1.1 200 OK\r\n") + sum(
        len(k) + len(v) + 4 for k, v in response.headers.items()
    )
    return header_size + 2 + len(response.content)


@pytest.mark.parametrize(("cut", "arrived"), [("half", None), ("closing boundary", 12)])
def test_wado_truncated_stream(
    orthanc_a: OrthancServer, corpus: Corpus, cut: str, arrived: int | None
) -> None:
    study = the_study(corpus, "0012345", "CT")
    total = _wado_response_size(orthanc_a, study.study_uid)
    limit = total // 2 if cut == "half" else total - 4  # drops "--\r\n" of the last delimiter
    proxy = CuttingProxy(orthanc_a.http_port, limit)
    server = orthanc_a.as_dicom_server(
        "Flaky", dicomweb_root_url=f"http://127.0.0.1:{proxy.port}/dicom-web"
    )
    received = []
    with pytest.raises(DicomConnectionError) as info:
        for instance in wado_iter(server, study.study_uid):
            received.append(instance)
    assert info.value.transient
    assert f"after {len(received)} instance" in str(info.value)
    assert "Flaky" in str(info.value)
    if arrived is not None:
        assert len(received) == arrived
    else:
        assert 0 < len(received) < study.instance_count


# -- STOW-RS -------------------------------------------------------------------------------


def test_stow_study_into_empty_server(
    server_a: DicomServer, orthanc_a: OrthancServer, empty_b: OrthancServer, corpus: Corpus
) -> None:
    study = the_study(corpus, "0012345", "CT")
    target = empty_b.as_dicom_server("Orthanc B")
    # A small batch size forces several requests; the instances stream straight from A.
    result = stow(target, wado_iter(server_a, study.study_uid), batch_bytes=20_000)
    assert result.ok and not result.failed
    assert sorted(result.stored) == sorted(study.instance_uids())
    assert empty_b.instance_uids() == study.instance_uids()
    sample = study.series[0].instance_uids[0]
    assert empty_b.instance_file(sample) == orthanc_a.instance_file(sample)


def test_stow_broken_instance_is_recorded(empty_b: OrthancServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0000007", "MR")
    good = [DicomInstance.from_bytes(to_bytes(ds)) for ds in study.datasets()]
    broken = DicomInstance(
        data=b"this is not a DICOM file" * 10,
        sop_instance_uid="1.2.826.0.1.3680043.8.498.999",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.4",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    instances = [*good[:2], broken, *good[2:]]
    result = stow(empty_b.as_dicom_server("Orthanc B"), instances)
    assert sorted(result.stored) == sorted(i.sop_instance_uid for i in good)
    assert [uid for uid, _ in result.failed] == [broken.sop_instance_uid]
    assert result.failed[0][1]  # a reason is given
    assert empty_b.instance_uids() == {i.sop_instance_uid for i in good}


def test_stow_into_wrong_study_reports_reason(empty_b: OrthancServer, corpus: Corpus) -> None:
    study = the_study(corpus, "0000007", "MR")
    instances = [DicomInstance.from_bytes(to_bytes(ds)) for ds in study.datasets()][:2]
    result = stow(empty_b.as_dicom_server(), instances, study_uid="1.2.826.0.1.3680043.8.498.1")
    assert result.stored == []
    assert {uid for uid, _ in result.failed} == {i.sop_instance_uid for i in instances}
    assert all("0x" in reason for _, reason in result.failed)
    assert empty_b.instance_count() == 0


def test_stow_nothing() -> None:
    server = DicomServer("nowhere", "X", "127.0.0.1", 1, dicomweb_root_url="http://127.0.0.1:1")
    assert stow(server, []) == StowResult()


# -- errors --------------------------------------------------------------------------------


def test_unreachable_server() -> None:
    port = free_port()
    server = DicomServer(
        "Gone PACS",
        "GONE",
        "127.0.0.1",
        port,
        dicomweb_root_url=f"http://127.0.0.1:{port}/dicom-web",
        authorization_header=basic("user", "hunter2-secret"),
    )
    instance = DicomInstance(b"x" * 200, "1.2.3", "1.2.3", "1.2.840.10008.1.2.1")
    calls = [
        lambda: qido(server, Query()),
        lambda: qido_ping(server),
        lambda: list(wado_iter(server, "1.2.3")),
        lambda: stow(server, [instance]),
    ]
    for call in calls:
        with pytest.raises(DicomConnectionError) as info:
            call()
        message = str(info.value)
        assert "Gone PACS" in message and f"127.0.0.1:{port}" in message
        assert info.value.transient
        assert "hunter2" not in message and server.authorization_header not in message


def test_wrong_prefix_is_http_404(orthanc_a: OrthancServer) -> None:
    server = orthanc_a.as_dicom_server("Misconfigured", dicomweb_root_url=f"{orthanc_a.url}/dcm")
    for call in (
        lambda: qido(server, Query()),
        lambda: list(wado_iter(server, "1.2.3")),
        lambda: stow(server, [DicomInstance(b"x", "1.2.3", "1.2.3", "1.2.3")]),
    ):
        with pytest.raises(DicomOperationError) as info:
            call()
        assert info.value.status == 404 and not info.value.transient
        assert "HTTP 404" in str(info.value) and "Misconfigured" in str(info.value)


def test_no_dicomweb_url() -> None:
    server = DicomServer("DIMSE only", "X", "127.0.0.1", 104)
    with pytest.raises(DicomCapabilityError, match="DIMSE only"):
        qido(server, Query())


class _AuthOrthanc(OrthancServer):
    # OrthancServer's start-up probe sends no credentials; an Orthanc with authentication
    # would never look ready to it.
    def _answers(self, probe: requests.Session) -> bool:
        probe.auth = (AUTH_USER, AUTH_PASSWORD)
        return bool(super()._answers(probe))  # type: ignore[misc]


@pytest.fixture(scope="module")
def orthanc_auth(
    orthanc_servers: list[OrthancServer], tmp_path_factory: pytest.TempPathFactory
) -> OrthancServer:
    server = _AuthOrthanc(
        Path(tmp_path_factory.mktemp("orthanc_auth")),
        ae_title="ORTHANC_AUTH",
        config_overrides={
            "AuthenticationEnabled": True,
            "RegisteredUsers": {AUTH_USER: AUTH_PASSWORD},
        },
    )
    orthanc_servers.append(server)
    server.start()
    return server


def test_authentication(orthanc_auth: OrthancServer, corpus: Corpus) -> None:
    right = basic(AUTH_USER, AUTH_PASSWORD)
    wrong = basic(AUTH_USER, "not-the-password-42")
    good = orthanc_auth.as_dicom_server("Secure PACS", authorization_header=right)
    bad = orthanc_auth.as_dicom_server("Secure PACS", authorization_header=wrong)
    anonymous = orthanc_auth.as_dicom_server("Secure PACS")
    study = the_study(corpus, "0000007", "MR")
    instances = [DicomInstance.from_bytes(to_bytes(ds)) for ds in study.datasets()]

    errors: list[DicomError] = []
    for server in (bad, anonymous):
        for call in (
            lambda s=server: qido(s, Query()),
            lambda s=server: qido_ping(s),
            lambda s=server: list(wado_iter(s, study.study_uid)),
            lambda s=server: stow(s, instances),
        ):
            with pytest.raises(DicomOperationError) as info:
                call()
            assert info.value.status == 401 and not info.value.transient
            assert "HTTP 401" in str(info.value) and "Secure PACS" in str(info.value)
            errors.append(info.value)
    for error in errors:
        text = f"{error} {error!r} {error.detail} {error.args}"
        for secret in (right, wrong, right.split()[1], wrong.split()[1], AUTH_PASSWORD):
            assert secret not in text
    assert "credentials" in str(errors[0])
    assert right not in repr(good) and wrong not in repr(bad)

    assert qido_ping(good) > 0
    assert stow(good, instances).stored == [i.sop_instance_uid for i in instances]
    assert study_uids(qido(good, Query(patient_id="0000007"))) == {study.study_uid}
    back = list(wado_iter(good, study.study_uid))
    assert {i.sop_instance_uid for i in back} == study.instance_uids()


# -- parts without Part 10 framing (some servers send bare data sets) -----------------------


def _bare(ds: Dataset, *, keep_meta: bool) -> bytes:
    data = to_bytes(ds)
    return data[128:].removeprefix(b"DICM") if keep_meta else _dataset_only(data)


def _dataset_only(part10: bytes) -> bytes:
    meta_length = int.from_bytes(part10[140:144], "little")
    return part10[144 + meta_length :]


@pytest.fixture(scope="module")
def sample_dataset() -> Dataset:
    study = make_study(
        patient_id="P1",
        patient_name="Bare^Data",
        birth_date="19700101",
        modality="CT",
        n_series=1,
        n_instances=1,
    )
    return next(study.datasets())


def test_part_without_preamble(sample_dataset: Dataset) -> None:
    instance = part_to_instance(Part({}, _bare(sample_dataset, keep_meta=True)))
    assert instance.data == to_bytes(sample_dataset)
    assert instance.sop_instance_uid == sample_dataset.SOPInstanceUID


def test_part_without_file_meta(sample_dataset: Dataset) -> None:
    headers = {"content-type": 'application/dicom; transfer-syntax="1.2.840.10008.1.2.1"'}
    instance = part_to_instance(Part(headers, _bare(sample_dataset, keep_meta=False)))
    assert instance.sop_instance_uid == sample_dataset.SOPInstanceUID
    assert instance.sop_class_uid == sample_dataset.SOPClassUID
    assert instance.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    decoded = instance.dataset()
    assert decoded.PatientName == "Bare^Data"
    assert decoded.PixelData == sample_dataset.PixelData
