"""The header of one instance (operations.instance_header): WADO-RS metadata when the
server has it, else a C-GET of that instance; the same attributes either way."""

from __future__ import annotations

import threading

import pytest

from adit_core.dicom import operations
from adit_core.dicom.errors import DicomCanceled, DicomCapabilityError, DicomOperationError
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus

pytestmark = pytest.mark.orthanc

WEB_OFF = {"dicomweb_wado": False, "dicomweb_qido": False, "dicomweb_stow": False}


def test_wado_and_c_get_give_the_same_attributes(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    study = corpus.studies[0]
    series = study.series[0]
    sop = series.instance_uids[0]
    by_wado = operations.instance_header(
        orthanc_a.as_dicom_server("web"), study.study_uid, series.series_uid, sop
    )
    by_get = operations.instance_header(
        orthanc_a.as_dicom_server("dimse", **WEB_OFF), study.study_uid, series.series_uid, sop
    )
    for ds in (by_wado, by_get):
        assert str(ds.SOPInstanceUID) == sop
        assert str(ds.SeriesInstanceUID) == series.series_uid
        assert str(ds.PatientID) == study.patient_id
    assert str(by_wado.PatientName) == str(by_get.PatientName)
    assert by_wado.Modality == by_get.Modality == series.modality


def test_a_patient_root_only_server_needs_the_patient_id(
    orthanc_a: OrthancServer, corpus: Corpus
) -> None:
    study = corpus.studies[0]
    series = study.series[0]
    sop = series.instance_uids[0]
    server = orthanc_a.as_dicom_server(
        "patient-root", study_root_get=False, study_root_find=False, **WEB_OFF
    )
    with pytest.raises(DicomCapabilityError, match="needs the PatientID"):
        operations.instance_header(server, study.study_uid, series.series_uid, sop)
    ds = operations.instance_header(
        server, study.study_uid, series.series_uid, sop, patient_id=study.patient_id
    )
    assert str(ds.SOPInstanceUID) == sop


def test_an_unknown_instance_and_a_server_without_either_path(orthanc_a: OrthancServer) -> None:
    dimse = orthanc_a.as_dicom_server("dimse", **WEB_OFF)
    with pytest.raises(DicomOperationError, match="C-GET on dimse failed: the server answered"):
        operations.instance_header(dimse, "1.2.3", "1.2.3.4", "1.2.3.4.5")
    store_only = orthanc_a.as_dicom_server(
        "store-only", study_root_get=False, patient_root_get=False, **WEB_OFF
    )
    with pytest.raises(DicomCapabilityError, match="needs WADO-RS or C-GET"):
        operations.instance_header(store_only, "1.2.3", "1.2.3.4", "1.2.3.4.5")


def test_a_canceled_c_get_stops(orthanc_a: OrthancServer, corpus: Corpus) -> None:
    study = corpus.studies[0]
    series = study.series[0]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DicomCanceled):
        operations.instance_header(
            orthanc_a.as_dicom_server("dimse", **WEB_OFF),
            study.study_uid,
            series.series_uid,
            series.instance_uids[0],
            cancel=cancel,
        )
