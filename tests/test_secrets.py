"""Credentials inside URLs never reach a listing, a message or a log line, at any level."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from adit_core.db.database import Database
from adit_core.redact import has_credentials, mask_secrets, mask_url
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus
from tests.worker.support import ADIT, adit, folder_files, status, transfer

WEB_PASSWORD = "W3b-s3cret"
WEB_USER = "alice-reader"
DB_PASSWORD = "Db-pa55word"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:secret@pacs:8042/dicom-web", "http://***:***@pacs:8042/dicom-web"),
        ("https://alice@pacs/dicom-web", "https://***@pacs/dicom-web"),
        ("http://a:p@ss@pacs/x?y=z@w", "http://***:***@pacs/x?y=z@w"),  # unencoded @ in it
        ("postgresql://adit:pw@db:5432/adit", "postgresql://***:***@db:5432/adit"),
        ("postgresql://adit@/adit?host=/run&password=pw", "postgresql://***@/adit?host=/run&password=***"),
        ("https://pacs/dicom-web", "https://pacs/dicom-web"),
        ("http://pacs/search?mail=a@b.org", "http://pacs/search?mail=a@b.org"),
        ("", ""),
        (None, ""),
    ],
)  # fmt: skip
def test_mask_url(url: str | None, shown: str) -> None:
    assert mask_url(url) == shown
    assert has_credentials(url) == (shown != (url or ""))


def test_mask_secrets_in_free_text() -> None:
    text = (
        "GET http://bob:hunter2@10.0.0.1/dicom-web/studies failed; "
        "retrying with host=db user=adit password='it\\'s secret' dbname=adit"
    )
    masked = mask_secrets(text)
    assert "hunter2" not in masked and "bob" not in masked and "secret" not in masked
    assert "http://***:***@10.0.0.1/dicom-web/studies" in masked
    assert mask_secrets("nothing to hide here") == "nothing to hide here"


def _url_with_credentials(orthanc: OrthancServer) -> str:
    return orthanc.dicomweb_url.replace("http://", f"http://{WEB_USER}:{WEB_PASSWORD}@", 1)


def test_server_listings_and_messages_mask_url_credentials(
    database: Database, orthanc_a: OrthancServer
) -> None:
    url = _url_with_credentials(orthanc_a)
    result = adit(
        "server", "add", "web", "--ae-title", "WEB", "--host", "127.0.0.1", "--port", "4242",
        "--dicomweb-url", url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "belong in the Authorization header" in result.stderr
    listing = adit("server", "list")
    as_json = adit("server", "list", "--json")
    for output in (result.output, listing.output, as_json.output):
        assert WEB_PASSWORD not in output and WEB_USER not in output
    [row] = json.loads(as_json.stdout)
    assert row["dicomweb_url"] == orthanc_a.dicomweb_url.replace("http://", "http://***:***@")
    assert "http://***:***@127.0.0.1" in listing.stdout

    bad = adit("server", "edit", "web", "--dicomweb-url", f"ftp://{WEB_USER}:{WEB_PASSWORD}@x")
    assert bad.exit_code == 1
    assert WEB_PASSWORD not in bad.output and WEB_USER not in bad.output
    assert "invalid DICOMweb URL 'ftp://***:***@x'" in bad.stderr


def test_database_url_credentials_are_masked(database: Database) -> None:
    with_password = database.url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
    assert DB_PASSWORD in with_password
    env = {**os.environ, "ADIT_DATABASE_URL": with_password}
    run = subprocess.run([*ADIT, "db", "status"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert DB_PASSWORD not in run.stdout + run.stderr
    assert "database: postgresql://***:***@/adit_t_" in run.stdout  # the user is masked too


def test_worker_debug_log_masks_url_credentials(
    database: Database, orthanc_a: OrthancServer, corpus: Corpus, tmp_path: Path
) -> None:
    """A worker at DEBUG logs every DICOMweb request and its database URL's settings: the
    lines are there, the credentials are not."""
    study = corpus.studies_of("0012345")[0]
    result = adit(
        "server", "add", "web", "--ae-title", orthanc_a.ae_title, "--host", "127.0.0.1",
        "--port", str(orthanc_a.dicom_port), "--capabilities", "qido,wado",
        "--dicomweb-url", _url_with_credentials(orthanc_a),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    out.mkdir()
    assert adit("folder", "add", "out", "--path", str(out)).exit_code == 0
    job_id = transfer("-s", "web", "-d", "out", "--study", study.study_uid)
    with_password = database.url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
    env = {**os.environ, "ADIT_DATABASE_URL": with_password}
    for log_format in ("logfmt", "json"):
        env["ADIT_LOG_FORMAT"] = log_format
        run = subprocess.run(
            [*ADIT, "--log-level", "DEBUG", "worker", "--burst", "--pseudonymize-processes", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        log = run.stdout + run.stderr
        assert "QIDO-RS web: GET http://***:***@127.0.0.1" in log  # the line is there
        for secret in (WEB_PASSWORD, WEB_USER, DB_PASSWORD):
            assert secret not in log, f"{secret} leaked into the {log_format} log"
        if log_format == "logfmt":
            assert status(database, job_id) == "SUCCESS"
            assert len(folder_files(out)) == study.instance_count
            assert adit("jobs", "restart", str(job_id)).exit_code == 0
