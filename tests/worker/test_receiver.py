"""The receiver: durable before success, correlation of concurrent moves, quarantine."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest

from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import Corpus, to_bytes
from tests.cli import ADIT
from tests.fixtures.orthanc import Dcmtk
from tests.worker.support import receiver


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADIT_SPOOL_DIR", str(tmp_path / "spool"))
    return tmp_path / "spool"


def test_concurrent_moves_of_the_same_study_do_not_collide(
    database: Database, orthanc_a: OrthancServer, corpus: Corpus, spool: Path
) -> None:
    study = corpus.studies_of("0012345")[0]
    server = orthanc_a.as_dicom_server("a", dicomweb_wado=False, study_root_get=False)
    results: dict[int, list[str]] = {}

    with receiver(database, orthanc_a) as link:

        def run(n: int) -> None:
            results[n] = [i.sop_instance_uid for i in link.receive(server, study.study_uid)]

        threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(results) == 3
    for uids in results.values():
        assert sorted(uids) == sorted(study.instance_uids())  # each got all, exactly once
    assert not list(spool.rglob("*.dcm"))  # consumed files are removed
    with psycopg.connect(database.url) as conn:
        assert conn.execute("SELECT count(*) FROM arrivals WHERE quarantined").fetchone() == (0,)


def test_unrequested_instances_are_quarantined_not_dropped(
    database: Database,
    orthanc_a: OrthancServer,
    corpus: Corpus,
    spool: Path,
    dcmtk: Dcmtk,
    tmp_path: Path,
) -> None:
    ds = next(corpus.studies[0].datasets())
    file = tmp_path / "stray.dcm"
    file.write_bytes(to_bytes(ds))
    with receiver(database, orthanc_a) as link:
        port = _receiver_port(orthanc_a)
        dcmtk.run("storescu", "-aec", link.ae_title, "-aet", "STRAY", "127.0.0.1", str(port), file)
    quarantined = list((spool / "quarantine").rglob("*.dcm"))
    assert len(quarantined) == 1
    assert quarantined[0].read_bytes()[128:132] == b"DICM"
    with psycopg.connect(database.url) as conn:
        row = conn.execute(
            "SELECT calling_ae, sop_instance_uid, quarantined, path FROM arrivals"
        ).fetchone()
    assert row == ("STRAY", str(ds.SOPInstanceUID), True, str(quarantined[0]))


def _receiver_port(orthanc: OrthancServer) -> int:
    modality = orthanc.get_json("/modalities/ADIT/configuration")
    return int(modality["Port"])


def test_receiver_command_answers_echo_and_stops_on_sigterm(
    database: Database, dcmtk: Dcmtk, spool: Path
) -> None:
    port = free_port()
    import os

    env = {**os.environ, "ADIT_DATABASE_URL": database.url, "ADIT_SPOOL_DIR": str(spool)}
    proc = subprocess.Popen(
        [*ADIT, "receiver", "--ae-title", "RECV", "--port", str(port), "--host", "127.0.0.1"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        assert f"receiver RECV listening on 127.0.0.1:{port}" in line
        dcmtk.run("echoscu", "-aec", "RECV", "127.0.0.1", str(port))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
