"""C-STORE one study's files to Orthanc, against DCMTK storescu in the same run.

    uv run python bench/store.py [--instances 600] [--runs 3] [--kind uniform|rich|all]
    uv run python bench/store.py --quick

The study is written as Part 10 files once; every contender sends all of them to an
emptied Orthanc. DCMTK: `storescu +sd +r` over one association (its start-up included).
Ours in-process: adit_core.dicom's C-STORE stream reading each file as it goes, over one
association and over two (the worker's default `--store-associations 2`). Prints times,
same-run speed ratios to storescu (>1 is faster) and the CPU time of ours per instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from common import (
    CpuMeter,
    folder_megabytes,
    interleaved,
    machine_line,
    make_study,
    parse,
    parser,
    say,
    scratch,
    storescu,
    table,
)

from adit_core.dicom import dimse
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import LocalNode
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import Corpus


def files(folder: Path) -> Iterator[DicomInstance]:
    for path in sorted(folder.rglob("*.dcm")):
        yield DicomInstance.from_bytes(path.read_bytes())


def main() -> None:
    args = parse(parser(__doc__))
    print(machine_line())
    with scratch("adit-bench-") as work, OrthancServer(work / "dst", ae_title="DST") as dst:
        server = dst.as_dicom_server("dst")
        local = LocalNode(ae_title="ADITBENCH")
        for kind in args.kinds:
            study = make_study(kind, args.instances)
            n = study.instance_count
            folder = work / kind
            say(f"{kind}: writing {n} files ...")
            Corpus([study]).write(folder)

            def ours(associations: int, folder: Path = folder) -> None:
                result = dimse.store(server, files(folder), local=local, associations=associations)
                if result.stored != n or result.failed:  # noqa: B023
                    raise SystemExit(f"C-STORE stored {result.stored}, failed {result.failed[:3]}")

            contenders: dict[str, Callable[[], object]] = {
                "DCMTK storescu": lambda folder=folder: storescu(dst, folder),
                "ADIT C-STORE, 1 association": lambda: ours(1),
                "ADIT C-STORE, 2 associations": lambda: ours(2),
            }
            meter = CpuMeter()

            def before(label: str, meter: CpuMeter = meter) -> None:
                dst.reset()
                meter.start(label)

            say(f"{kind}: storing {n} instances, {args.runs} runs each")
            samples = interleaved(contenders, args.runs, before=before, after=meter.stop)
            meter.attach(samples)
            megabytes = folder_megabytes(folder)
            table(
                f"C-STORE one {kind} study: {n} instances, {megabytes:.0f} MB, "
                f"median of {args.runs}",
                samples.values(),
                samples["DCMTK storescu"],
                megabytes=megabytes,
                n=n,
                speed=True,
            )
            if dst.instance_count() != n:
                raise SystemExit(f"Orthanc holds {dst.instance_count()} of {n} instances")
    print(machine_line())


if __name__ == "__main__":
    main()
