"""C-MOVE of one study through a real `adit receiver`, against DCMTK movescu → storescp.

    uv run python bench/move.py [--instances 600] [--runs 3] [--kind uniform|rich|all]
    uv run python bench/move.py --quick

The source Orthanc knows two destinations: the `adit receiver` process (AE ADIT) and a
DCMTK storescp (largest PDU). DCMTK: `movescu` until its final response, storescp having
written every file. Ours: what a worker's C-MOVE retrieval does (adit_worker's
ReceiverLink, in-process): announce the move in the database, send the C-MOVE, and read
each arrival the receiver recorded (the receiver writes each file durably: temporary
file, fsync, rename, database row) until the move has ended and every file was read.
Also shown: when the receiver had recorded the last arrival, and the receiver's and
storescp's CPU time per instance. Target: at least 0.8x DCMTK's speed.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
from common import (
    Adit,
    Sample,
    cpu_seconds,
    fresh_dir,
    interleaved,
    machine_line,
    make_study,
    movescu,
    parse,
    parser,
    ratio_text,
    ratios,
    say,
    scratch,
    seeded_orthanc,
    storescp,
    table,
    throwaway_database,
)

from adit_core.db.database import Database
from adit_core.dicom.server import LocalNode
from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import StudySpec
from adit_worker.receiver_link import ReceiverLink


def last_arrival_seconds(url: str) -> float:
    """Seconds from the latest move request's creation to its last recorded arrival."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM max(a.received_at) - r.created_at) FROM move_requests r "
            "JOIN arrivals a ON a.move_request_id = r.id "
            "WHERE r.id = (SELECT max(id) FROM move_requests) GROUP BY r.created_at"
        ).fetchone()
    return float(row[0]) if row else float("nan")


def bench_kind(
    kind: str,
    study: StudySpec,
    runs: int,
    orthanc: OrthancServer,
    link: ReceiverLink,
    url: str,
    receiver: subprocess.Popen[bytes],
    scp: subprocess.Popen[bytes],
    out: Path,
) -> None:
    n, uid = study.instance_count, study.study_uid
    server = orthanc.as_dicom_server("src")
    local = LocalNode(ae_title="ADITBENCH")
    consumed = [0]

    def ours() -> None:
        consumed[0] = 0
        for instance in link.receive(server, uid, local=local):
            consumed[0] += instance.size

    dcmtk_label, ours_label = "DCMTK movescu → storescp", "ADIT C-MOVE → adit receiver → worker"
    contenders: dict[str, Callable[[], object]] = {
        dcmtk_label: lambda: movescu(orthanc, uid, "STORESCP"),
        ours_label: ours,
    }
    scp_cpu, receiver_cpu = Sample("storescp"), Sample("adit receiver")
    arrived = Sample("receiver recorded the last arrival")
    marks: dict[str, float] = {}

    def before(label: str) -> None:
        fresh_dir(out)
        marks["scp"], marks["receiver"] = cpu_seconds(scp.pid), cpu_seconds(receiver.pid)

    def after(label: str) -> None:
        if label == dcmtk_label:
            scp_cpu.cpu.append(cpu_seconds(scp.pid) - marks["scp"])
            if (got := sum(1 for _ in out.iterdir())) != n:
                raise SystemExit(f"storescp received {got} of {n}")
            return
        receiver_cpu.cpu.append(cpu_seconds(receiver.pid) - marks["receiver"])
        arrived.times.append(last_arrival_seconds(url))
        if consumed[0] == 0:
            raise SystemExit("nothing arrived through adit receiver")

    say(f"{kind}: moving {n} instances, {runs} runs each")
    samples = interleaved(contenders, runs, before=before, after=after)
    megabytes = consumed[0] / 1e6
    base = samples[dcmtk_label]
    table(
        f"C-MOVE one {kind} study: {n} instances, {megabytes:.0f} MB, median of {runs}",
        samples.values(),
        base,
        megabytes=megabytes,
        n=n,
        speed=True,
    )
    print(
        f"  adit receiver recorded its last arrival after {arrived.median:.2f} s "
        f"(speed {ratio_text(ratios(base, arrived))})"
    )
    for sample in (scp_cpu, receiver_cpu):
        print(f"  {sample.label} CPU {1000 * statistics.median(sample.cpu) / n:.2f} ms/instance")


def main() -> None:
    args = parse(parser(__doc__))
    print(machine_line())
    studies = {kind: make_study(kind, args.instances) for kind in args.kinds}
    with scratch("adit-bench-") as work, throwaway_database() as url:
        adit = Adit(url, work / "data")
        adit.run("db", "upgrade")
        receiver, receiver_port = adit.start_receiver()
        scp_port = free_port()
        out = work / "storescp"
        fresh_dir(out)
        db = Database(url)
        modalities = {
            "adit": ("ADIT", "127.0.0.1", receiver_port),
            "storescp": ("STORESCP", "127.0.0.1", scp_port),
        }
        orthanc = seeded_orthanc(work, "SRC", studies.values(), modalities=modalities)
        link = ReceiverLink(db, "ADIT")
        try:
            with storescp(out, scp_port) as scp:
                for kind, study in studies.items():
                    bench_kind(kind, study, args.runs, orthanc, link, url, receiver, scp, out)
        finally:
            orthanc.stop()
            adit.stop_all()
            db.dispose()
    print(machine_line())


if __name__ == "__main__":
    main()
