"""EXPERIMENT: the C-MOVE destination (C-STORE SCP), one variant at a time, vs storescp.

    uv run python bench/experiments/exp_receiver.py [--variant a,b|all] [--runs 3]
        [--kind uniform] [--no-adit]

Every variant receives one study that the lab Orthanc sends by C-MOVE, requested by DCMTK
movescu (the same requester for all); the time is movescu's (Orthanc answers the final
C-MOVE response after the last sub-operation). `_par` variants issue one C-MOVE per
series at once (4 movescu processes; Orthanc opens one association per C-MOVE); `_par2`
serves them with 2 processes sharing the port (SO_REUSEPORT). The SCP variants are in
scp_server.py; `storescp` is DCMTK's (`_par`: with --fork, a process per association);
`adit_receiver` is the real `adit receiver` process with its database (a move request
row is registered before each run, as a worker would).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from common import (
    DCMTK_PDU,
    Adit,
    cpu_seconds,
    dcmtk,
    dcmtk_env,
    fresh_dir,
    machine_line,
    scratch,
    throwaway_database,
    wait_for_port,
)
from lab import experiment_parser, lab_orthanc

from adit_dev.orthanc import free_port


@dataclass
class Variant:
    name: str
    server: str  # scp_server.py variant, "storescp" or "adit"
    processes: int = 1
    parallel: bool = False
    port: int = 0
    ae_title: str = ""
    pids: tuple[int, ...] = ()


VARIANTS = [
    Variant("storescp", "storescp"),
    Variant("adit_receiver", "adit"),
    Variant("pyn_plain", "pyn_plain"),
    Variant("pyn_decode", "pyn_decode"),
    Variant("pyn_fsync", "pyn_fsync"),
    Variant("pyn_tuned", "pyn_tuned"),
    Variant("mini", "mini"),
    Variant("mini_fsync", "mini_fsync"),
    Variant("storescp_par", "storescp", parallel=True),
    Variant("pyn_fsync_par", "pyn_fsync", parallel=True),
    Variant("pyn_fsync_par2", "pyn_fsync", processes=2, parallel=True),
    Variant("mini_fsync_par2", "mini_fsync", processes=2, parallel=True),
]


@contextmanager
def run_server(v: Variant, out: Path, adit: Adit | None) -> Iterator[None]:
    procs: list[subprocess.Popen[bytes]] = []
    if v.server == "storescp":
        fork = ["--fork"] if v.parallel else []
        cmd = [
            dcmtk("storescp"),
            "-aet",
            v.ae_title,
            "-pdu",
            DCMTK_PDU,
            *fork,
            "-od",
            str(out),
            str(v.port),
        ]
        procs.append(subprocess.Popen(cmd, env=dcmtk_env()))
    elif v.server == "adit":
        assert adit is not None
        proc, _ = adit.start_receiver(v.port)
        procs.append(proc)
    else:
        script = Path(__file__).with_name("scp_server.py")
        for _ in range(v.processes):
            reuse = ["--reuse-port"] if v.processes > 1 else []
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(script),
                        v.server,
                        "--port",
                        str(v.port),
                        "--out",
                        str(out),
                        *reuse,
                    ]
                )
            )
            wait_for_port(v.port, procs[-1])
            time.sleep(0.3)  # let a second process bind too
    wait_for_port(v.port, procs[0])
    v.pids = tuple(p.pid for p in procs)
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def move(
    orthanc_port: int, ae: str, destination: str, study_uid: str, series: list[str], parallel: bool
) -> None:
    base = [dcmtk("movescu"), "-S", "-aec", ae, "-aet", "EXPMOVE", "-aem", destination]
    if not parallel:
        keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}"]
        subprocess.run(
            [*base, *keys, "127.0.0.1", str(orthanc_port)],
            env=dcmtk_env(),
            check=True,
            capture_output=True,
        )
        return
    procs = [
        subprocess.Popen(
            [
                *base,
                "-k",
                "QueryRetrieveLevel=SERIES",
                "-k",
                f"StudyInstanceUID={study_uid}",
                "-k",
                f"SeriesInstanceUID={s}",
                "127.0.0.1",
                str(orthanc_port),
            ],
            env=dcmtk_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in series
    ]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("movescu failed")


def main() -> None:
    p = experiment_parser(__doc__)
    p.add_argument("--no-adit", action="store_true", help="leave out adit_receiver")
    args = p.parse_args()
    chosen = [v for v in VARIANTS if args.variant == "all" or v.name in args.variant.split(",")]
    if args.no_adit:
        chosen = [v for v in chosen if v.server != "adit"]
    if not any(v.name == "storescp" for v in chosen):
        chosen.insert(0, VARIANTS[0])
    for i, v in enumerate(chosen):
        v.port, v.ae_title = free_port(), "ADIT" if v.server == "adit" else f"EXP{i}"
    modalities = {v.name: (v.ae_title, "127.0.0.1", v.port) for v in chosen}
    print(machine_line())
    times: dict[str, list[float]] = {v.name: [] for v in chosen}
    cpu: dict[str, list[float]] = {v.name: [] for v in chosen}
    with (
        scratch("adit-exp-") as work,
        throwaway_database() as url,
        lab_orthanc(args.kind, args.instances, modalities=modalities) as (orthanc, study),
    ):
        adit = None
        if any(v.server == "adit" for v in chosen):
            adit = Adit(url, work / "data")
            adit.run("db", "upgrade")
        series = [s.series_uid for s in study.series]
        n = study.instance_count
        with ExitStack() as stack:
            outs = {}
            for v in chosen:
                outs[v.name] = work / v.name
                fresh_dir(outs[v.name])
                stack.enter_context(run_server(v, outs[v.name], adit))
            for _ in range(args.runs):
                for v in chosen:
                    fresh_dir(outs[v.name])
                    if v.server == "adit":
                        with psycopg.connect(url, autocommit=True) as conn:
                            conn.execute("UPDATE move_requests SET closed_at = now()")
                            conn.execute(
                                "INSERT INTO move_requests (source_ae, study_uid, message_id) "
                                "VALUES (%s, %s, 1)",
                                (orthanc.ae_title, study.study_uid),
                            )
                    subprocess.run(["sync"], check=False)
                    c0 = sum(cpu_seconds(pid) for pid in v.pids)
                    t0 = time.perf_counter()
                    move(
                        orthanc.dicom_port,
                        orthanc.ae_title,
                        v.ae_title,
                        study.study_uid,
                        series,
                        v.parallel,
                    )
                    times[v.name].append(time.perf_counter() - t0)
                    cpu[v.name].append(sum(cpu_seconds(pid) for pid in v.pids) - c0)
                    if v.server == "adit":
                        got = sum(1 for f in (work / "data").rglob("*.dcm") if f.is_file())
                        for f in (work / "data").rglob("*.dcm"):
                            f.unlink()
                    else:
                        got = sum(1 for _ in outs[v.name].iterdir())
                    if got != n:
                        raise SystemExit(f"{v.name}: {got} of {n} arrived")
    base = times["storescp"]
    print(f"C-MOVE of {n} {args.kind} instances to each SCP, median of {args.runs}")
    for v in chosen:
        ratio = statistics.median(b / t for b, t in zip(base, times[v.name], strict=True))
        print(
            f"  {v.name:<16} {statistics.median(times[v.name]):6.2f}s "
            f"({min(times[v.name]):.2f}-{max(times[v.name]):.2f})  speed {ratio:.2f}x "
            f"storescp  SCP CPU {1000 * statistics.median(cpu[v.name]) / n:.2f} ms/inst"
        )
    print(machine_line())


if __name__ == "__main__":
    main()
