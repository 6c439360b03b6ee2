"""C-ECHO, association failures and C-FIND against real Orthanc servers."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date
from io import BytesIO

import pytest
from pydicom import Dataset
from pydicom.filereader import read_dataset
from pynetdicom import AE, build_context
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

from adit_core.dicom import dimse
from adit_core.dicom.dimse_association import open_association
from adit_core.dicom.dimse_find import _fix_charset
from adit_core.dicom.errors import (
    DicomAssociationRejected,
    DicomCanceled,
    DicomCapabilityError,
    DicomConnectionError,
)
from adit_core.dicom.query import DateRange, Level, Query
from adit_core.dicom.server import DicomServer, LocalNode
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus
from tests.fixtures.orthanc import start_orthanc

pytestmark = pytest.mark.orthanc

# A PACS that checks the called AE title and, like some real ones, ignores some matching
# keys: its Lua filter turns PatientBirthDate in every incoming C-FIND into a return key.
SLOPPY_LUA = """
function IncomingFindRequestFilter(source, origin)
  source['0010,0030'] = ''
  return source
end
"""


@pytest.fixture(scope="module")
def study_root(orthanc_a: OrthancServer) -> DicomServer:
    return orthanc_a.as_dicom_server("Orthanc A", patient_root_find=False)


@pytest.fixture(scope="module")
def patient_root(orthanc_a: OrthancServer) -> DicomServer:
    return orthanc_a.as_dicom_server("Orthanc A (patient root)", study_root_find=False)


@pytest.fixture(scope="module")
def sloppy(
    orthanc_servers: list[OrthancServer],
    tmp_path_factory: pytest.TempPathFactory,
    corpus: Corpus,
) -> OrthancServer:
    workdir = tmp_path_factory.mktemp("orthanc_sloppy")
    script = workdir / "ignore-birth-date.lua"
    script.write_text(SLOPPY_LUA, encoding="utf-8")
    server = start_orthanc(
        orthanc_servers,
        workdir,
        ae_title="SLOPPY",
        config_overrides={"DicomCheckCalledAet": True, "LuaScripts": [str(script)]},
    )
    server.upload_many(corpus.datasets())
    return server


def uids(result: object, key: str) -> set[str]:
    return {str(ds.get(key)) for ds in result}  # type: ignore[attr-defined]


def names(result: object) -> set[str]:
    return {str(ds.PatientName) for ds in result}  # type: ignore[attr-defined]


# --- echo and association failures ---------------------------------------------------


def test_echo(study_root: DicomServer) -> None:
    seconds = dimse.echo(study_root)
    assert 0 < seconds < 5


def test_echo_to_a_closed_port_names_the_server() -> None:
    dead = DicomServer(name="Dead PACS", ae_title="DEAD", host="127.0.0.1", port=free_port())
    started = time.monotonic()
    with pytest.raises(DicomConnectionError) as caught:
        dimse.echo(dead)
    assert time.monotonic() - started < 5
    assert caught.value.transient
    assert "Dead PACS" in str(caught.value)
    assert "C-ECHO" in str(caught.value)
    assert f"127.0.0.1:{dead.port}" in str(caught.value)


def test_wrong_called_ae_title_is_rejected(sloppy: OrthancServer) -> None:
    wrong = sloppy.as_dicom_server("Sloppy PACS", ae_title="NOT_SLOPPY")
    with pytest.raises(DicomAssociationRejected) as caught:
        dimse.echo(wrong)
    message = str(caught.value)
    assert "Sloppy PACS" in message
    # Orthanc answers A-ASSOCIATE-RJ and closes the socket at once; under load pynetdicom
    # sometimes sees the close first and reports an abort. Both name the AE title.
    assert "Called AE title not recognised" in message or "aborted the association" in message
    assert "NOT_SLOPPY" in message
    assert not caught.value.transient
    dimse.echo(sloppy.as_dicom_server("Sloppy PACS"))  # the right title is accepted


def test_no_accepted_context_is_a_rejection(orthanc_a: OrthancServer) -> None:
    # Orthanc offers no C-FIND for the (retired) patient/study-only model.
    server = orthanc_a.as_dicom_server("Orthanc A")
    with pytest.raises(DicomAssociationRejected, match="accepted none of the proposed"):
        open_association(
            server, LocalNode(), [build_context("1.2.840.10008.5.1.4.1.2.3.1")], operation="C-FIND"
        )


# --- C-FIND ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["study_root", "patient_root"])
def test_every_level_in_both_models(
    model: str, corpus: Corpus, request: pytest.FixtureRequest
) -> None:
    server: DicomServer = request.getfixturevalue(model)
    mr = next(s for s in corpus.studies_of("0012345") if "MR" in s.modalities)
    series = mr.series[1]

    patients = dimse.find(server, Query(level=Level.PATIENT))
    assert uids(patients, "PatientID") == set(corpus.patients)

    studies = dimse.find(server, Query(level=Level.STUDY, patient_id="0012345"))
    assert uids(studies, "StudyInstanceUID") == {s.study_uid for s in corpus.studies_of("0012345")}

    found = dimse.find(
        server,
        Query(level=Level.SERIES, patient_id="0012345", study_instance_uid=mr.study_uid),
    )
    assert uids(found, "SeriesInstanceUID") == {s.series_uid for s in mr.series}

    images = dimse.find(
        server,
        Query(
            level=Level.IMAGE,
            patient_id="0012345",
            study_instance_uid=mr.study_uid,
            series_instance_uid=series.series_uid,
        ),
    )
    assert uids(images, "SOPInstanceUID") == set(series.instance_uids)
    assert not images.truncated


def test_patient_root_needs_a_patient_id(patient_root: DicomServer) -> None:
    with pytest.raises(DicomCapabilityError, match="exact PatientID"):
        dimse.find(patient_root, Query(level=Level.STUDY, patient_name="Smith*"))


def test_patient_level_on_a_study_root_only_server(
    orthanc_a: OrthancServer, corpus: Corpus
) -> None:
    server = orthanc_a.as_dicom_server("Study root only", patient_root_find=False)
    patients = dimse.find(server, Query(level=Level.PATIENT, patient_id="0012345"))
    assert len(patients) == 1
    assert patients.datasets[0].NumberOfPatientRelatedStudies == 2
    assert str(patients.datasets[0].PatientName) == "Müller^Jürgen"


@pytest.mark.parametrize(
    ("typed", "fuzzy", "expected"),
    [
        ("Müller, Jürgen", False, {"Müller^Jürgen"}),
        ("müller, j", True, {"Müller^Jürgen"}),
        ("Ødegård, Åse", False, {"Ødegård^Åse"}),
        ("Nguyễn", True, {"Nguyễn^Thị"}),
        ("Yamada", True, {"Yamada^Tarou=山田^太郎=やまだ^たろう"}),
        ("S", True, {"Smith^John"}),
        ("Müller, J", False, set()),  # not fuzzy: must match the whole name
    ],
)
def test_names(study_root: DicomServer, typed: str, fuzzy: bool, expected: set[str]) -> None:
    result = dimse.find(study_root, Query(level=Level.STUDY, patient_name=typed, fuzzy_names=fuzzy))
    assert names(result) == expected


def test_leading_zero_patient_id(study_root: DicomServer, corpus: Corpus) -> None:
    found = dimse.find(study_root, Query(level=Level.STUDY, patient_id="0012345"))
    assert len(found) == 2
    assert uids(found, "PatientID") == {"0012345"}
    assert len(dimse.find(study_root, Query(level=Level.STUDY, patient_id="12345"))) == 0


def test_date_range(study_root: DicomServer, corpus: Corpus) -> None:
    window = DateRange(date(2022, 1, 1), date(2023, 12, 31))
    found = dimse.find(study_root, Query(level=Level.STUDY, study_date=window))
    expected = {s.study_uid for s in corpus.studies if "20220101" <= s.study_date <= "20231231"}
    assert uids(found, "StudyInstanceUID") == expected
    assert len(expected) == 3


def test_modality_list_is_merged_without_duplicates(
    study_root: DicomServer, corpus: Corpus
) -> None:
    # The study of 000042 has MR and SR series: both sub-queries find it.
    found = dimse.find(study_root, Query(level=Level.STUDY, modalities=("MR", "SR")))
    expected = {s.study_uid for s in corpus.studies if s.modalities & {"MR", "SR"}}
    assert uids(found, "StudyInstanceUID") == expected
    assert len(found) == len(expected)

    series = dimse.find(study_root, Query(level=Level.SERIES, modalities=("SR", "CT")))
    expected_series = {
        se.series_uid for s in corpus.studies for se in s.series if se.modality in {"SR", "CT"}
    }
    assert uids(series, "SeriesInstanceUID") == expected_series


def test_cap_reports_truncation(study_root: DicomServer, corpus: Corpus) -> None:
    capped = dimse.find(study_root, Query(level=Level.IMAGE), limit=5)
    assert len(capped) == 5
    assert capped.truncated
    assert capped.limit == 5

    exact = dimse.find(study_root, Query(level=Level.IMAGE), limit=corpus.instance_count)
    assert len(exact) == corpus.instance_count
    assert not exact.truncated

    server_cap = dimse.find(
        replace(study_root, max_search_results=3),
        Query(level=Level.STUDY),
    )
    assert len(server_cap) == 3
    assert server_cap.truncated
    # The association was released cleanly after the C-CANCEL: the server still answers.
    assert dimse.echo(study_root) > 0


def test_a_set_cancel_event_stops_a_find_at_its_next_response(
    study_root: DicomServer, corpus: Corpus
) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DicomCanceled, match="C-FIND"):
        dimse.find(study_root, Query(level=Level.IMAGE), limit=corpus.instance_count, cancel=cancel)
    found = dimse.find(study_root, Query(level=Level.IMAGE), limit=corpus.instance_count)
    assert len(found) == corpus.instance_count  # the server goes on answering


def test_results_are_refiltered_client_side(sloppy: OrthancServer, corpus: Corpus) -> None:
    server = sloppy.as_dicom_server("Sloppy PACS")
    query = Query(
        level=Level.STUDY, patient_birth_date=DateRange(date(1960, 1, 1), date(1970, 1, 1))
    )
    # Asked directly, the sloppy server ignores the birth date and answers every study.
    ae = AE("ADIT")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(server.host, server.port, ae_title=server.ae_title)
    raw: list[Dataset] = [
        ds
        for _, ds in assoc.send_c_find(
            query.identifier(), StudyRootQueryRetrieveInformationModelFind
        )
        if ds is not None
    ]
    assoc.release()
    assert len(raw) == len(corpus.studies)

    found = dimse.find(server, query)
    assert uids(found, "PatientID") == {"0012345"}
    assert len(found) == 2


@pytest.mark.parametrize(
    ("encoded", "charset", "name"),
    [
        ("Nguyễn^Thị".encode(), "ISO_IR 192", "Nguyễn^Thị"),
        ("Müller^Jürgen".encode("latin-1"), "ISO_IR 100", "Müller^Jürgen"),
        (b"Smith^John", None, "Smith^John"),
    ],
)
def test_undeclared_character_set_is_guessed(
    encoded: bytes, charset: str | None, name: str
) -> None:
    """Some servers send non-ASCII names without SpecificCharacterSet."""
    value = encoded + b" " * (len(encoded) % 2)
    raw = b"\x10\x00\x10\x00PN" + len(value).to_bytes(2, "little") + value
    ds = read_dataset(BytesIO(raw), is_implicit_VR=False, is_little_endian=True)
    _fix_charset(ds)
    assert ds.get("SpecificCharacterSet") == charset
    assert str(ds.PatientName) == name
