"""EXPERIMENT: C-STORE sending, one variant at a time, against storescu in the same run.

    uv run python bench/experiments/exp_store.py [--variant a,b|all] [--runs 3]
        [--kind uniform] [--orthanc-pdu 131072]

Every variant sends one study's Part 10 files (read as it goes) to an emptied Orthanc:
  storescu        DCMTK storescu +sd +r, one association (the baseline)
  storescu_x2     two storescu processes, each half of the files
  adit            adit_core.dicom.dimse.store, 1 association (product code)
  adit_x2         the same, 2 associations (the worker's default)
  adit_tuned      adit in a process without pynetdicom's log handlers, with recv_into
                  and a 0.2 ms GIL switch interval
  mini            bench/experiments/mini_dimse.py store_files, 1 association
  mini_x2         mini, 2 associations in 2 processes
`--orthanc-pdu` sets the destination's MaximumPduLength, which caps what we send per PDU.
"""

from __future__ import annotations

import multiprocessing
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import children_cpu, cpu_seconds, machine_line, make_study, scratch, storescu
from exp_cget import STORAGE, _pool
from lab import experiment_parser

from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus


def adit_store(host: str, port: int, ae: str, files: list[str], associations: int) -> int:
    from adit_core.dicom import dimse
    from adit_core.dicom.instance import DicomInstance
    from adit_core.dicom.server import DicomServer, LocalNode

    server = DicomServer(name="dst", ae_title=ae, host=host, port=port)
    items = (DicomInstance.from_bytes(Path(f).read_bytes()) for f in files)
    result = dimse.store(
        server, items, local=LocalNode(ae_title="ADITEXP"), associations=associations
    )
    return result.stored


def mini_store(host: str, port: int, ae: str, files: list[str]) -> int:
    import mini_dimse

    return mini_dimse.store_files(host, port, ae, (Path(f).read_bytes() for f in files), STORAGE)


def main() -> None:
    p = experiment_parser(__doc__)
    p.add_argument("--orthanc-pdu", type=int, default=131072)
    args = p.parse_args()
    names = ["storescu", "storescu_x2", "adit", "adit_x2", "adit_tuned", "mini", "mini_x2"]
    chosen = names if args.variant == "all" else ["storescu", *args.variant.split(",")]
    print(machine_line())
    study = make_study(args.kind, args.instances)
    n = study.instance_count
    times: dict[str, list[float]] = {name: [] for name in chosen}
    cpu: dict[str, list[float]] = {name: [] for name in chosen}
    config = {"MaximumPduLength": args.orthanc_pdu}
    with (
        scratch("adit-exp-") as work,
        OrthancServer(work / "dst", ae_title="DST", config_overrides=config) as dst,
    ):
        folder = work / "files"
        paths = [str(p) for p in Corpus([study]).write(folder)]
        halves = [work / "half0", work / "half1"]
        for i, path in enumerate(paths):
            target = halves[i % 2] / Path(path).name
            target.parent.mkdir(exist_ok=True)
            target.symlink_to(path)
        host, port, ae = dst.host, dst.dicom_port, dst.ae_title
        pools = {
            "plain": _pool(processes=2),
            "tuned": _pool("patch_recv_into", "patch_no_log_handlers", "patch_switch_interval"),
        }

        def in_pools(fn: Callable[..., int], pool: str, *parts: list[str]) -> None:
            futures = [pools[pool].submit(fn, host, port, ae, part) for part in parts]
            assert sum(f.result() for f in futures) == n

        def storescu_x2() -> None:
            workers = [threading.Thread(target=storescu, args=(dst, half)) for half in halves]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        variants: dict[str, Callable[[], object]] = {
            "storescu": lambda: storescu(dst, folder),
            "storescu_x2": storescu_x2,
            "adit": lambda: adit_store(host, port, ae, paths, 1),
            "adit_x2": lambda: adit_store(host, port, ae, paths, 2),
            "adit_tuned": lambda: (
                pools["tuned"].submit(adit_store, host, port, ae, paths, 1).result()
            ),
            "mini": lambda: mini_store(host, port, ae, paths),
            "mini_x2": lambda: in_pools(mini_store, "plain", paths[0::2], paths[1::2]),
        }
        pids = [pid for pool in pools.values() for pid in pool._processes]  # type: ignore[attr-defined]

        def used() -> float:
            return time.process_time() + children_cpu() + sum(cpu_seconds(p) for p in pids)

        try:
            for _ in range(args.runs):
                for name in chosen:
                    dst.reset()
                    subprocess.run(["sync"], check=False)
                    c0, t0 = used(), time.perf_counter()
                    variants[name]()
                    times[name].append(time.perf_counter() - t0)
                    cpu[name].append(used() - c0)
                    if dst.instance_count() != n:
                        raise SystemExit(f"{name}: Orthanc holds {dst.instance_count()} of {n}")
        finally:
            for pool in pools.values():
                pool.shutdown()
    base = times["storescu"]
    print(
        f"C-STORE of {n} {args.kind} instances to Orthanc (MaximumPduLength "
        f"{args.orthanc_pdu}), median of {args.runs}"
    )
    for name in chosen:
        ratio = statistics.median(b / t for b, t in zip(base, times[name], strict=True))
        print(
            f"  {name:<12} {statistics.median(times[name]):6.2f}s "
            f"({min(times[name]):.2f}-{max(times[name]):.2f})  speed {ratio:.2f}x storescu  "
            f"CPU {1000 * statistics.median(cpu[name]) / n:.2f} ms/inst"
        )
    print(machine_line())


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    main()
