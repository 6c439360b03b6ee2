"""The Orthanc dev server and its fixtures, checked through REST and independent DCMTK peers."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pytest
import requests
from pydicom import dcmread

from adit_core.dicom.server import Capability
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import PRIVATE_CREATOR, PRIVATE_GROUP, Corpus, to_bytes
from tests.fixtures.orthanc import Dcmtk, start_orthanc

pytestmark = pytest.mark.orthanc


def test_orthanc_a_holds_the_corpus(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    assert orthanc_a.instance_count() == corpus.instance_count
    assert orthanc_a.study_uids() == corpus.study_uids()
    assert orthanc_a.instance_uids() == corpus.instance_uids()
    study = corpus.study("000042")
    assert orthanc_a.instance_uids(study.study_uid) == study.instance_uids()


def test_configuration_is_applied(orthanc_a: OrthancServer) -> None:
    system = orthanc_a.get_json("/system")
    assert system["DicomAet"] == "ORTHANC_A"
    assert system["DicomPort"] == orthanc_a.dicom_port
    assert "dicom-web" in orthanc_a.get_json("/plugins")


def test_file_read_back_is_what_was_uploaded(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    original = next(corpus.study("0098765").datasets())
    data = orthanc_a.instance_file(original.SOPInstanceUID)
    assert data == to_bytes(original)
    ds = dcmread(BytesIO(data))
    assert str(ds.PatientName) == "Nguyễn^Thị"
    assert ds.PatientID == "0098765"
    assert ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)[0x01].value == "0098765"


def test_study_instance_files(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    study = corpus.studies[0]
    files = [dcmread(BytesIO(b)) for b in orthanc_a.study_instance_files(study.study_uid)]
    assert {ds.SOPInstanceUID for ds in files} == study.instance_uids()
    assert {ds.StudyInstanceUID for ds in files} == {study.study_uid}


def test_rest_keeps_leading_zeros_and_names(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    patients = orthanc_a.get_json("/patients", params={"expand": ""})
    tags = {p["MainDicomTags"]["PatientID"]: p["MainDicomTags"]["PatientName"] for p in patients}
    assert tags == corpus.patients


def test_dicomweb_qido(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    response = requests.get(
        f"{orthanc_a.dicomweb_url}/studies", params={"PatientID": "000042"}, timeout=10
    )
    response.raise_for_status()
    [study] = response.json()
    assert study["0020000D"]["Value"] == [corpus.study("000042").study_uid]


def test_add_modality_and_as_dicom_server(orthanc_a: OrthancServer) -> None:
    orthanc_a.add_modality("ADIT_TEST", "ADIT_TEST", "127.0.0.1", 11999)
    config = orthanc_a.get_json("/modalities", params={"expand": ""})["ADIT_TEST"]
    assert (config["AET"], config["Host"], config["Port"]) == ("ADIT_TEST", "127.0.0.1", 11999)

    server = orthanc_a.as_dicom_server("a", max_search_results=5)
    assert (server.name, server.ae_title, server.port) == ("a", "ORTHANC_A", orthanc_a.dicom_port)
    assert server.capabilities() == set(Capability)
    assert server.patient_root_find and server.patient_root_move
    assert server.dicomweb_url("") == orthanc_a.dicomweb_url
    assert server.max_search_results == 5


def test_reset_empties(empty_b: OrthancServer, corpus: Corpus) -> None:
    assert empty_b.upload_many(corpus.study("0000007").datasets()) == 6
    assert empty_b.instance_count() == 6
    empty_b.reset()
    assert empty_b.instance_count() == 0
    assert empty_b.study_uids() == set()


@pytest.mark.dcmtk
def test_dcmtk_tools_are_dcmtk_not_pynetdicom(dcmtk: Dcmtk) -> None:
    # Inside `uv run`, pynetdicom's findscu/storescu come first on PATH.
    assert dcmtk.env["TCP_NODELAY"] == "1"
    assert "dcmtk" in dcmtk.run("findscu", "--version").stdout.lower()


@pytest.mark.dcmtk
def test_findscu_finds_study(
    orthanc_a: OrthancServer, corpus: Corpus, dcmtk: Dcmtk, tmp_path: Path
) -> None:
    dcmtk.run(
        "findscu", "-S", "-X", "-od", tmp_path, "-aec", orthanc_a.ae_title,
        "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=0012345",
        "-k", "StudyInstanceUID", "-k", "PatientName",
        orthanc_a.host, str(orthanc_a.dicom_port),
    )  # fmt: skip
    answers = [dcmread(p) for p in sorted(tmp_path.glob("rsp*.dcm"))]
    assert {ds.StudyInstanceUID for ds in answers} == {
        s.study_uid for s in corpus.studies_of("0012345")
    }
    assert {(ds.PatientID, str(ds.PatientName)) for ds in answers} == {("0012345", "Müller^Jürgen")}


@pytest.mark.dcmtk
def test_findscu_gets_non_latin1_names_intact(
    orthanc_a: OrthancServer, dcmtk: Dcmtk, tmp_path: Path
) -> None:
    dcmtk.run(
        "findscu", "-S", "-X", "-od", tmp_path, "-aec", orthanc_a.ae_title,
        "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=7654321", "-k", "PatientName",
        orthanc_a.host, str(orthanc_a.dicom_port),
    )  # fmt: skip
    [answer] = [dcmread(p) for p in tmp_path.glob("rsp*.dcm")]
    assert str(answer.PatientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう"


@pytest.mark.dcmtk
def test_storescu_into_empty_b(
    empty_b: OrthancServer, corpus: Corpus, dcmtk: Dcmtk, tmp_path: Path
) -> None:
    ds = next(corpus.study("000042").datasets())
    path = tmp_path / "one.dcm"
    path.write_bytes(to_bytes(ds))
    dcmtk.run("storescu", "-aec", empty_b.ae_title, empty_b.host, str(empty_b.dicom_port), path)
    assert empty_b.instance_uids() == {ds.SOPInstanceUID}
    assert dcmread(BytesIO(empty_b.instance_file(ds.SOPInstanceUID))).PatientName == "Ødegård^Åse"


def test_start_failure_reports_log(orthanc_a: OrthancServer, tmp_path: Path) -> None:
    clash = OrthancServer(tmp_path, dicom_port=orthanc_a.dicom_port)
    with pytest.raises(RuntimeError, match="already in use") as excinfo:
        clash.start()
    assert str(orthanc_a.dicom_port) in str(excinfo.value)
    assert not clash.running


def test_restart_on_same_storage(
    orthanc_servers: list[OrthancServer], tmp_path: Path, corpus: Corpus
) -> None:
    server = start_orthanc(orthanc_servers, tmp_path, ae_title="ORTHANC_C")
    server.upload(next(corpus.datasets()))
    pid = server.pid
    assert pid is not None
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.start()
    assert server.instance_count() == 1
    server.terminate()  # the session waits for it, in parallel with the others
