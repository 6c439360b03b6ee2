"""Worker (and receiver) peak memory and CPU per instance at 600 and 2,400 instances.

    uv run python bench/memory.py [--sizes 600,2400] [--kind uniform|rich] [--paths ...]
    uv run python bench/memory.py --quick

For every retrieval path (WADO-RS, C-GET, C-MOVE through `adit receiver`) and study size,
a fresh `adit worker` (and, for C-MOVE, a fresh `adit receiver`) runs one pseudonymized
transfer Orthanc → Orthanc (C-STORE), typed as a user would (see bench/transfer.py).
Prints the peak resident memory (VmHWM) of the worker process itself and of the worker
with its pseudonymizing processes, the receiver's, and CPU time per instance.
Target: the worker under 300 MB at both sizes on every path (flat: no growth with size).
"""

from __future__ import annotations

from common import (
    cpu_seconds,
    machine_line,
    make_study,
    parse,
    parser,
    peak_rss_mb,
    say,
    timed,
    tree_peak_rss_mb,
)
from transfer import PATHS, Setup, adit_transfer, environment


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sizes", default="600,2400", help="study sizes (instances)")
    p.add_argument("--paths", default="wado,get,move")
    p.set_defaults(kind="uniform")
    args = parse(p)
    sizes = [40, 80] if args.quick else [int(s) for s in args.sizes.split(",")]
    kind = args.kinds[0]
    print(machine_line())
    studies = {n: make_study(kind, n, seed=n) for n in sizes}
    rows = []
    with environment(studies.values(), "server") as (adit, source, destination, work, port):
        assert destination is not None
        for key in args.paths.split(","):
            label, name = PATHS[key]
            for n, study in studies.items():
                destination.reset()
                receiver, _ = adit.start_receiver(port)
                worker = adit.start_worker()
                setup = Setup(
                    adit, source, destination, work / "out", work / "staging", worker, receiver
                )
                worker_cpu, receiver_cpu = cpu_seconds(worker.pid), cpu_seconds(receiver.pid)
                say(f"{label}: {n} instances")
                seconds = timed(lambda: adit_transfer(setup, study, name, "MEM"))  # noqa: B023
                worker_cpu = cpu_seconds(worker.pid) - worker_cpu
                receiver_cpu = cpu_seconds(receiver.pid) - receiver_cpu
                own, total = tree_peak_rss_mb(worker.pid)
                received = peak_rss_mb(receiver.pid)
                adit.stop_all()
                if destination.instance_count() != n:
                    raise SystemExit(f"{label}: {destination.instance_count()} of {n} stored")
                rows.append(
                    (
                        label,
                        n,
                        seconds,
                        own,
                        total,
                        received,
                        1000 * worker_cpu / n,
                        1000 * receiver_cpu / n,
                    )
                )
    print(f"\npeak memory of one pseudonymized {kind} transfer, fresh daemons for each line")
    print(
        f"{'path':<8} {'inst':>5} {'time':>7}  {'worker':>7} {'+ its processes':>16} "
        f"{'receiver':>9}  CPU ms/inst (worker, receiver)"
    )
    for label, n, seconds, own, total, received, wcpu, rcpu in rows:
        receiver_text = f"{received} MB" if label == "C-MOVE" else "-"
        cpu_text = f"{wcpu:.2f}" + (f", {rcpu:.2f}" if label == "C-MOVE" else "")
        print(
            f"{label:<8} {n:>5} {seconds:6.1f}s  {own:>4} MB {total:>13} MB "
            f"{receiver_text:>9}  {cpu_text}"
        )
    print(machine_line())


if __name__ == "__main__":
    main()
