"""Transfer a study Orthanc → Orthanc with pseudonymization, against DCMTK in the same run.

    uv run python bench/transfer.py [--instances 600] [--memory-instances 600,2400]

DCMTK baseline: getscu into a folder, then storescu of that folder (no pseudonymization:
DCMTK has none). Ours: a pseudonymized transfer job run by an `adit worker` that is already
up (as in production), from the job's creation to its end. Also prints the worker's peak
memory (VmHWM) per study size, a fresh worker for each; the target is flat, under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from common import ROOT, dcmtk, dcmtk_env, ratio_line, scratch, throwaway_database

from adit_core.db.database import Database
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import big_study

ADIT = [sys.executable, "-m", "adit_cli.main"]


def run_adit(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([*ADIT, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"adit {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def start_worker(env: dict[str, str], url: str, extra: list[str]) -> subprocess.Popen[bytes]:
    before = _worker_ids(url)
    proc = subprocess.Popen([*ADIT, "worker", *extra], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while _worker_ids(url) == before:
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("the worker did not start")
        time.sleep(0.05)
    return proc


def _worker_ids(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM procrastinate_workers")}


def peak_rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def run_job(url: str, study_uid: str, pseudonym: str) -> tuple[float, str]:
    """Create the job in-process (no CLI start-up in the timing) and wait for its end."""
    db = Database(url)
    started = time.perf_counter()
    with db.session() as session:
        job_id = create_transfer_job(
            session,
            source="src",
            destination="dst",
            items=[TransferItem(study_uid=study_uid)],
            options=TransferOptions(pseudonym=pseudonym),
        ).id
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            (state,) = conn.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()
            if state in ("SUCCESS", "WARNING", "FAILURE", "CANCELED"):
                break
            time.sleep(0.02)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=600)
    parser.add_argument("--memory-instances", default="600,2400")
    parser.add_argument(
        "--worker-args",
        default="",
        help='extra `adit worker` options, e.g. "--store-associations 3"',
    )
    args = parser.parse_args()
    sizes = sorted({args.instances, *(int(n) for n in args.memory_instances.split(",") if n)})

    with (
        scratch("adit-bench-") as work,
        throwaway_database() as url,
        OrthancServer(work / "a", ae_title="SRC") as src,
        OrthancServer(work / "b", ae_title="DST") as dst,
    ):
        if True:
            env = dict(os.environ, ADIT_DATABASE_URL=url, ADIT_DATA_DIR=str(work / "data"))
            run_adit(env, "db", "upgrade")
            run_adit(env, "server", "add", "src", "--ae-title", src.ae_title, "--host", src.host,
                     "--port", str(src.dicom_port), "--dicomweb-url", src.dicomweb_url)  # fmt: skip
            run_adit(env, "server", "add", "dst", "--ae-title", dst.ae_title, "--host", dst.host,
                     "--port", str(dst.dicom_port), "--dicomweb-url", dst.dicomweb_url)  # fmt: skip
            rows = []
            for n in sizes:
                study = big_study(n_instances=n, seed=n).studies[0]
                print(f"uploading {n} instances ...", file=sys.stderr)
                src.upload_many(study.datasets())
                megabytes = n * 526_000 / 1e6

                dst.reset()
                out = work / f"getscu-{n}"
                out.mkdir()
                started = time.perf_counter()
                subprocess.run(
                    [dcmtk("getscu"), "-S", "-aec", src.ae_title, "-aet", "BENCH",
                     "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study.study_uid}",
                     "-od", str(out), src.host, str(src.dicom_port)],
                    env=dcmtk_env(), check=True, capture_output=True,
                )  # fmt: skip
                subprocess.run(
                    [dcmtk("storescu"), "-aec", dst.ae_title, "-aet", "BENCH", "+sd", "+r",
                     dst.host, str(dst.dicom_port), str(out)],
                    env=dcmtk_env(), check=True, capture_output=True,
                )  # fmt: skip
                dcmtk_seconds = time.perf_counter() - started
                assert len(dst.instance_uids()) == n, "DCMTK baseline incomplete"

                dst.reset()
                worker = start_worker(env, url, args.worker_args.split())
                try:
                    ours, state = run_job(url, study.study_uid, f"BENCH{n}")
                    peak_mb = peak_rss_mb(worker.pid)
                finally:
                    worker.terminate()
                    worker.wait(60)
                if state != "SUCCESS" or len(dst.instance_uids()) != n:
                    sys.exit(f"transfer of {n} instances ended {state}")
                rows.append((n, megabytes, dcmtk_seconds, ours, peak_mb))
                src.reset()

    print("transfer Orthanc → Orthanc, pseudonymized by ADIT; DCMTK = getscu + storescu")
    for n, megabytes, dcmtk_seconds, ours, peak_mb in rows:
        print(
            ratio_line(f"DCMTK getscu+storescu ({n})", dcmtk_seconds, dcmtk_seconds, megabytes, n)
        )
        line = ratio_line(f"ADIT worker ({n})", ours, dcmtk_seconds, megabytes, n)
        print(f"{line}  time {ours / dcmtk_seconds:4.2f}x DCMTK  worker peak RSS {peak_mb} MB")


if __name__ == "__main__":
    main()
