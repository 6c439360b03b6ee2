"""`adit server echo` against real servers, and the ways it fails."""

from __future__ import annotations

import pytest

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer, free_port
from tests.cli import adit


def add(name: str, *args: str) -> None:
    result = adit("server", "add", name, *args)
    assert result.exit_code == 0, result.output


def test_echo_over_dimse_and_over_dicomweb(database: Database, orthanc_a: OrthancServer) -> None:
    add("pacs", "--ae-title", orthanc_a.ae_title, "--host", "127.0.0.1",
        "--port", str(orthanc_a.dicom_port))  # fmt: skip
    result = adit("server", "echo", "pacs")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("C-ECHO to pacs succeeded in ")

    add("web", "--ae-title", "WEB", "--host", "127.0.0.1", "--port", "1",
        "--dicomweb-url", orthanc_a.dicomweb_url, "--capabilities", "qido,wado")  # fmt: skip
    result = adit("server", "echo", "web")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("QIDO-RS to web succeeded in ")


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_echo_of_an_unreachable_server_names_it(database: Database, kind: str) -> None:
    port = str(free_port())
    if kind == "dimse":
        add("gone", "--ae-title", "GONE", "--host", "127.0.0.1", "--port", port)
    else:
        url = f"http://127.0.0.1:{port}/dicom-web"
        add("gone", "--ae-title", "GONE", "--host", "127.0.0.1", "--port", port,
            "--dicomweb-url", url, "--capabilities", "qido")  # fmt: skip
    result = adit("server", "echo", "gone")
    assert result.exit_code == 1
    assert "on gone failed" in result.stderr
    assert "Traceback" not in result.output


def test_echo_with_a_wrong_ae_title_is_refused_by_a_strict_server(
    database: Database,
    orthanc_servers,
    tmp_path_factory,  # type: ignore[no-untyped-def]
) -> None:
    from tests.fixtures.orthanc import start_orthanc

    strict = start_orthanc(
        orthanc_servers,
        tmp_path_factory.mktemp("strict"),
        ae_title="STRICT",
        config_overrides={"DicomCheckCalledAet": True},
    )
    add("strict", "--ae-title", "WRONG", "--host", "127.0.0.1", "--port", str(strict.dicom_port))
    result = adit("server", "echo", "strict")
    assert result.exit_code == 1
    assert "strict" in result.stderr and "WRONG" in result.stderr
