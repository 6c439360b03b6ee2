"""Batch query against a real Orthanc, its export, and the export fed back as a batch transfer."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from adit_core.batch import task_lines
from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus, make_study
from tests.batch.files import read_xlsx, write_csv, write_xlsx
from tests.cli import adit
from tests.worker.support import register_orthanc, run_until_final, tasks

EXPORT_HEADER = [
    "Pseudonym", "PatientID", "PatientName", "BirthDate", "ModalitiesInStudy", "StudyDate",
    "StudyTime", "StudyDescription", "NumberOfStudyRelatedInstances", "AccessionNumber",
    "StudyInstanceUID", "SeriesInstanceUID", "SeriesDescription", "SeriesNumber", "QueryLine",
    "Status", "Error",
]  # fmt: skip


def queue(*args: str) -> int:
    result = adit(*args)
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip())


def test_batch_query_export_and_transfer(
    database: Database,
    orthanc_a: OrthancServer,
    empty_b: OrthancServer,
    corpus: Corpus,
    tmp_path: Path,
) -> None:
    register_orthanc("src", orthanc_a, "find,get")
    register_orthanc("dst", empty_b, "store")
    query_file = write_xlsx(
        tmp_path / "query.xlsx",
        [["PatientID", "PatientName", "PatientBirthDate", "Modality", "SeriesDescription",
          "SeriesNumber", "Pseudonym"],
         ["0012345", "", "", "CT, MR", "", "", "SUBJ01"],
         ["", "Ødegård, Åse", "24.11.1980", "MR", "^BEFUND$", "", "SUBJ02"],
         ["0098765", "", "", "CT", "", "2", "SUBJ03"],
         ["7654321", "", "", "MR", "", "", "SUBJ04"],
         ["0000007", "Smith, Jane", "", "MR", "", "", "SUBJ05"],
         ["9999999", "", "", "CT", "", "", "SUBJ06"]],
        text_columns=[0],
    )  # fmt: skip
    job_id = queue("batch-query", str(query_file), "--source", "src")
    assert run_until_final(database, job_id) == "FAILURE"
    assert [t.status for t in tasks(database, job_id)] == [
        "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "FAILURE", "FAILURE",
    ]  # fmt: skip

    export = tmp_path / "results.xlsx"
    result = adit("jobs", "export", str(job_id), str(export))
    assert result.exit_code == 0, result.output
    assert "wrote 7 rows" in result.stderr and "2 lines of the query failed" in result.stderr

    ct, mr = corpus.studies_of("0012345")
    [odegard] = corpus.studies_of("000042")
    [nguyen] = corpus.studies_of("0098765")
    report_series = odegard.series[-1]
    nguyen_2 = nguyen.series[1]
    day = lambda text: datetime.strptime(text, "%Y%m%d")  # noqa: E731
    rows = read_xlsx(export)
    assert rows[0] == EXPORT_HEADER
    assert rows[1:] == [
        ["SUBJ01", "0012345", "Müller, Jürgen", day("19650312"), "CT", day("20230314"),
         "08:15:00", "CT Thorax", 12, ct.accession_number, ct.study_uid, None, None, None,
         2, "SUCCESS", None],
        ["SUBJ01", "0012345", "Müller, Jürgen", day("19650312"), "MR", day("20240109"),
         "14:30:00", "MR Knie links", 8, mr.accession_number, mr.study_uid, None, None, None,
         2, "SUCCESS", None],
        ["SUBJ02", "000042", "Ødegård, Åse", day("19801124"), "MR, SR", day("20220601"),
         "10:00:00", "MR Schädel", 9, odegard.accession_number, odegard.study_uid,
         report_series.series_uid, "Befund", 3, 3, "SUCCESS", None],
        ["SUBJ03", "0098765", "Nguyễn, Thị", day("19920605"), "CT", day("20231120"),
         "09:45:12", "CT Abdomen", 10, nguyen.accession_number, nguyen.study_uid,
         nguyen_2.series_uid, "CT Abdomen Serie 2", 2, 4, "SUCCESS", None],
        ["SUBJ04", "7654321", None, None, None, None, None, None, None, None, None, None, None,
         None, 5, "SUCCESS", "No studies matched."],
        ["SUBJ05", "0000007", "Smith, Jane", None, None, None, None, None, None, None, None,
         None, None, None, 6, "FAILURE",
         "PatientName mismatch for PatientID '0000007': the file says 'Smith^Jane', the "
         "source has 'Smith^John'."],
        ["SUBJ06", "9999999", None, None, None, None, None, None, None, None, None, None, None,
         None, 7, "FAILURE",
         "no patient with PatientID '9999999' on the source; check the ID (leading zeros "
         "lost?)."],
    ]  # fmt: skip

    # The export, unchanged, is the batch transfer file.
    result = adit("batch-transfer", str(export), "-s", "src", "-d", "dst")
    assert result.exit_code == 0, result.output
    transfer_id = int(result.stdout.strip())
    assert "note: line 6: skipped, no study to transfer (SUCCESS: No studies matched.)" in (
        result.stderr
    )
    assert "4 studies (4 pseudonymized, 0 unchanged)" in result.stderr
    assert run_until_final(database, transfer_id) == "SUCCESS", tasks(database, transfer_id)
    transferred = tasks(database, transfer_id)
    assert [(t.study_uid, t.series_uids, t.pseudonym) for t in transferred] == [
        (ct.study_uid, [], "SUBJ01"),
        (mr.study_uid, [], "SUBJ01"),
        (odegard.study_uid, [report_series.series_uid], "SUBJ02"),
        (nguyen.study_uid, [nguyen_2.series_uid], "SUBJ03"),
    ]
    with database.session() as session:
        assert list(task_lines(session, transfer_id).values()) == [[2], [3], [4], [5]]
    expected = 12 + 8 + 1 + len(nguyen_2.instance_uids)
    assert len(empty_b.instance_uids()) == expected
    patients = {p["MainDicomTags"]["PatientID"] for p in empty_b.get_json("/patients?expand")}
    assert patients == {"SUBJ01", "SUBJ02", "SUBJ03"}


def test_indistinct_patients_over_qido_and_csv_export(
    database: Database, empty_b: OrthancServer, tmp_path: Path
) -> None:
    twins = [
        make_study(patient_id=pid, patient_name="Zwilling^Anna", birth_date="19900101",
                   modality="CT", n_series=1, n_instances=1, seed=n, study_date="20240102")
        for n, pid in enumerate(["0100002", "0100001"])
    ]  # fmt: skip
    empty_b.upload_many(ds for study in twins for ds in study.datasets())
    register_orthanc("twins", empty_b, "qido,wado")
    query_file = write_csv(
        tmp_path / "query.csv",
        "PatientName;PatientBirthDate;Modality;Pseudonym\nZwilling, Anna;1990-01-01;CT;Z1\n",
        bom=True,
    )
    job_id = queue("batch-query", str(query_file), "-s", "twins")
    assert run_until_final(database, job_id) == "WARNING"
    export = tmp_path / "results.csv"
    assert adit("jobs", "export", str(job_id), str(export)).exit_code == 0
    with export.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["PatientID"], r["StudyDate"], r["Status"]) for r in rows] == [
        ("0100001", "2024-01-02", "WARNING"),
        ("0100002", "2024-01-02", "WARNING"),
    ]
    assert rows[0]["Error"].startswith(
        "2 studies found. Indistinct patients: 2 patients named 'Zwilling^Anna' born 1990-01-01 "
        "(PatientIDs '0100001', '0100002')"
    )
    assert "SeriesInstanceUID" not in rows[0]
