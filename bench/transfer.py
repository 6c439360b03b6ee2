"""Whole pseudonymized transfers by each retrieval path, against DCMTK get-then-store.

    uv run python bench/transfer.py          # Orthanc → Orthanc (C-STORE)
    uv run python bench/transfer_folder.py   # Orthanc → a folder
    options: [--instances 600] [--runs 3] [--kind uniform (default)|rich|all]
             [--paths wado,get,move]
             [--stow] [--worker-args "--store-associations 3"] [--quick]

The source Orthanc is registered three times, once per retrieval path: `src-wado`
(DIMSE and DICOMweb: ADIT retrieves by WADO-RS), `src-get` (find,get: C-GET) and
`src-move` (find,move: C-MOVE through a running `adit receiver`, registered at the source).
The destination is a second Orthanc taking C-STORE (`--stow`: STOW-RS), or a folder.

Ours, as a user meets it: with `adit worker` and `adit receiver` already running (they
are daemons), the commands as typed, start-up included:
    job=$(adit transfer -s src-X -d dst --study UID --pseudonym P) && adit jobs wait $job
and, from the same run, the engine alone: the job's creation to its end as the database
recorded them (no command start-up). Also the worker's CPU time per instance (its
process and its pseudonymizing processes) and the receiver's for C-MOVE.

DCMTK has no pseudonymization; its baseline moves the data unchanged:
- to a server: `getscu -od STAGING` then `storescu +sd +r STAGING` (get-then-store);
- to a folder: `getscu -od STAGING`, then `cp -r` of the files into the destination
  folder and `sync` of those files (ADIT fsyncs every file it writes before it reports
  success, and arranges them in patient/study/series folders, which getscu cannot).
Targets (time ratios, same run): at most 1.0x, 0.7x from the DICOMweb source.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from common import (
    Adit,
    Sample,
    children_cpu,
    cpu_seconds,
    folder_megabytes,
    fresh_dir,
    getscu,
    interleaved,
    machine_line,
    make_study,
    parse,
    parser,
    ratio_text,
    ratios,
    say,
    scratch,
    seeded_orthanc,
    storescu,
    table,
    throwaway_database,
    tree_peak_rss_mb,
)

from adit_dev.orthanc import OrthancServer, free_port
from adit_dev.synthetic import StudySpec

PATHS = {
    "wado": ("WADO-RS", "src-wado"),
    "get": ("C-GET", "src-get"),
    "move": ("C-MOVE", "src-move"),
}
DCMTK_LABEL = "DCMTK get-then-store"


def arguments(to: str) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("--to", choices=["server", "folder"], default=to)
    p.add_argument("--paths", default="wado,get,move", help="retrieval paths, comma-separated")
    p.add_argument("--stow", action="store_true", help="destination server takes STOW-RS")
    p.add_argument("--worker-args", default="", help="extra `adit worker` options")
    # Both kinds take ~7 minutes on the 2-core machine; the default stays near 3.
    p.set_defaults(kind="uniform")
    return parse(p)


@dataclass
class Setup:
    adit: Adit
    source: OrthancServer
    destination: OrthancServer | None
    folder: Path
    staging: Path
    worker: subprocess.Popen[bytes]
    receiver: subprocess.Popen[bytes]


def register(adit: Adit, source: OrthancServer, destination: OrthancServer | None,
             folder: Path, stow: bool) -> None:  # fmt: skip
    adit.add_orthanc("src-wado", source, "--dicomweb-url", source.dicomweb_url)
    adit.add_orthanc("src-get", source, "--capabilities", "find,get")
    adit.add_orthanc("src-move", source, "--capabilities", "find,move")
    if destination is not None:
        web = ["--dicomweb-url", destination.dicomweb_url, "--capabilities", "find,stow"]
        adit.add_orthanc("dst", destination, *(web if stow else ["--capabilities", "find,store"]))
    else:
        adit.run("folder", "add", "dst", "--path", str(folder))


def dcmtk_transfer(setup: Setup, study: StudySpec) -> None:
    getscu(setup.source, study.study_uid, setup.staging)
    if setup.destination is not None:
        storescu(setup.destination, setup.staging)
        return
    target = setup.folder / "dcmtk"
    subprocess.run(["cp", "-r", str(setup.staging), str(target)], check=True)
    subprocess.run(["sync", *map(str, target.iterdir())], check=True)


def adit_transfer(setup: Setup, study: StudySpec, source: str, pseudonym: str) -> int:
    """The commands as typed; returns the job id."""
    job = setup.adit.run(
        "transfer", "-s", source, "-d", "dst", "--study", study.study_uid, "--pseudonym", pseudonym
    ).stdout.strip()
    waited = setup.adit.run("jobs", "wait", job, check=False)
    if waited.returncode != 0:
        shown = setup.adit.run("jobs", "show", job, "--logs", check=False).stdout
        raise SystemExit(f"job {job} did not succeed:\n{waited.stderr}\n{shown[-3000:]}")
    return int(job)


def peers_seconds(setup: Setup) -> float:
    """CPU seconds used so far by the Orthanc processes (source and destination)."""
    orthancs = [setup.source, setup.destination]
    return sum(cpu_seconds(o.pid) for o in orthancs if o is not None and o.pid is not None)


def arrived(setup: Setup) -> int:
    if setup.destination is not None:
        return setup.destination.instance_count()
    return sum(1 for p in setup.folder.rglob("*") if p.is_file())


def bench_kind(setup: Setup, kind: str, study: StudySpec, args: argparse.Namespace) -> None:
    n = study.instance_count
    contenders: dict[str, Callable[[], object]] = {
        DCMTK_LABEL: lambda: dcmtk_transfer(setup, study)
    }
    jobs: dict[str, int] = {}
    for key in args.paths.split(","):
        label, source = PATHS[key]

        def ours(label: str = f"ADIT {label}", source: str = source) -> None:
            jobs[label] = adit_transfer(setup, study, source, f"BENCH{kind.upper()}")

        contenders[f"ADIT {label}"] = ours
    engine = {label: Sample(label) for label in contenders if label != DCMTK_LABEL}
    worker_cpu = {label: Sample(label) for label in engine}
    receiver_cpu = Sample("receiver")
    # The peers' CPU per contender: what is left of 2 cores for us depends on it.
    peers_cpu = {label: Sample(label) for label in contenders}
    dcmtk_cpu = Sample(DCMTK_LABEL)
    marks: dict[str, float] = {}
    sizes: list[float] = []

    def before(label: str) -> None:
        if setup.destination is not None:
            setup.destination.reset()
        fresh_dir(setup.folder)
        fresh_dir(setup.staging)
        marks["worker"] = cpu_seconds(setup.worker.pid)
        marks["receiver"] = cpu_seconds(setup.receiver.pid)
        marks["dcmtk"] = children_cpu()
        marks["peers"] = peers_seconds(setup)

    def after(label: str) -> None:
        if (got := arrived(setup)) != n:
            raise SystemExit(f"{label}: {got} of {n} instances at the destination")
        peers_cpu[label].cpu.append(peers_seconds(setup) - marks["peers"])
        if label == DCMTK_LABEL:
            dcmtk_cpu.cpu.append(children_cpu() - marks["dcmtk"])
            sizes.append(folder_megabytes(setup.staging))  # the study's size, as retrieved
            return
        _, seconds = setup.adit.job_times(jobs[label])
        engine[label].times.append(seconds)
        worker_cpu[label].cpu.append(cpu_seconds(setup.worker.pid) - marks["worker"])
        if "MOVE" in label:
            receiver_cpu.cpu.append(cpu_seconds(setup.receiver.pid) - marks["receiver"])

    say(f"{kind}: transferring {n} instances to the {args.to}, {args.runs} runs each")
    samples = interleaved(contenders, args.runs, before=before, after=after)
    megabytes = sizes[-1] if sizes else n * 0.53
    base = samples[DCMTK_LABEL]
    base.cpu = dcmtk_cpu.cpu
    where = "a folder" if setup.destination is None else ("STOW-RS" if args.stow else "C-STORE")
    table(
        f"transfer one {kind} study, pseudonymized, to {where}: {n} instances, "
        f"{megabytes:.0f} MB, median of {args.runs}; ADIT as typed (adit transfer + adit "
        "jobs wait)",
        samples.values(),
        base,
        megabytes=megabytes,
        n=n,
        speed=False,
    )
    print("  the same runs, engine alone (job created → job finished, from the database):")
    for label, sample in engine.items():
        cpu = 1000 * statistics.median(worker_cpu[label].cpu) / n
        extra = ""
        if "MOVE" in label and receiver_cpu.cpu:
            extra = f" + receiver {1000 * statistics.median(receiver_cpu.cpu) / n:.2f}"
        print(
            f"  {label:<38} {sample.median:7.2f}s {sample.spread():>11}  time "
            f"{ratio_text(ratios(sample, base))}  worker CPU {cpu:.2f}{extra} ms/inst"
        )
    cpu = 1000 * statistics.median(dcmtk_cpu.cpu) / n
    print(f"  {DCMTK_LABEL} CPU {cpu:.2f} ms/inst (getscu + storescu or cp)")
    shown = ", ".join(
        f"{label.removeprefix('ADIT ')} {1000 * statistics.median(s.cpu) / n:.2f}"
        for label, s in peers_cpu.items()
    )
    print(f"  Orthanc CPU (source + destination) ms/inst during: {shown}")


@contextlib.contextmanager
def environment(
    studies: Iterable[StudySpec], to: str, *, stow: bool = False
) -> Iterator[tuple[Adit, OrthancServer, OrthancServer | None, Path, int]]:
    """A database, the seeded source Orthanc, the destination (Orthanc or a folder), the
    servers registered; yields (adit, source, destination, work folder, receiver port).
    The daemons are the caller's to start (adit.start_worker/start_receiver)."""
    with scratch("adit-bench-") as work, throwaway_database() as url:
        adit = Adit(url, work / "data")
        adit.run("db", "upgrade")
        receiver_port = free_port()
        modalities = {"adit": ("ADIT", "127.0.0.1", receiver_port)}
        source = seeded_orthanc(work, "SRC", studies, modalities=modalities)
        destination = None
        try:
            if to == "server":
                destination = OrthancServer(work / "dst", ae_title="DST")
                destination.start()
            register(adit, source, destination, work / "out", stow)
            yield adit, source, destination, work, receiver_port
        finally:
            adit.stop_all()
            source.stop()
            if destination is not None:
                destination.stop()


def main(to: str = "server") -> None:
    args = arguments(to)
    print(machine_line())
    studies = {kind: make_study(kind, args.instances) for kind in args.kinds}
    with environment(studies.values(), args.to, stow=args.stow) as env:
        adit, source, destination, work, receiver_port = env
        receiver, _ = adit.start_receiver(receiver_port)
        worker = adit.start_worker(*args.worker_args.split())
        setup = Setup(adit, source, destination, work / "out", work / "staging", worker, receiver)
        for kind, study in studies.items():
            bench_kind(setup, kind, study, args)
        own, total = tree_peak_rss_mb(worker.pid)
        print(f"\nworker peak RSS over the whole run: {own} MB (with its processes {total} MB)")
    print(machine_line())


if __name__ == "__main__":
    main()
