"""Retrieve one study by C-GET and WADO-RS, against DCMTK getscu in the same run.

    uv run python bench/retrieve.py [--instances 600] [--runs 3] [--kind uniform|rich|all]
    uv run python bench/retrieve.py --quick

Each contender writes every instance of the study as a file into an empty folder, like
`getscu -od`: ours in-process (adit_core.dicom's C-GET stream and WADO-RS stream, no
worker, no job), getscu as a process (its start-up included, ~20 ms) with the largest PDU
it accepts. Prints each path's median time with its spread and its speed as a same-run
ratio to getscu (>1 is faster). Targets: C-GET at least 0.8x getscu, WADO-RS at least 1x.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from common import (
    CpuMeter,
    folder_megabytes,
    fresh_dir,
    getscu,
    interleaved,
    machine_line,
    make_study,
    parse,
    parser,
    say,
    scratch,
    seeded_orthanc,
    table,
)

from adit_core.dicom import dicomweb, dimse
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import LocalNode


def write_all(instances: Iterable[DicomInstance], out: Path) -> None:
    for instance in instances:
        (out / f"{instance.sop_instance_uid}.dcm").write_bytes(instance.data)


def main() -> None:
    args = parse(parser(__doc__))
    print(machine_line())
    studies = {kind: make_study(kind, args.instances) for kind in args.kinds}
    with scratch("adit-bench-") as work:
        orthanc = seeded_orthanc(work, "BENCH", studies.values())
        server = orthanc.as_dicom_server("bench")
        local = LocalNode(ae_title="ADITBENCH")
        out = work / "out"
        try:
            for kind, study in studies.items():
                n = study.instance_count
                uid = study.study_uid
                contenders: dict[str, Callable[[], object]] = {
                    "DCMTK getscu": lambda: getscu(orthanc, uid, out),  # noqa: B023
                    "ADIT C-GET": lambda: write_all(dimse.get(server, uid, local=local), out),  # noqa: B023
                    "ADIT WADO-RS": lambda: write_all(dicomweb.wado_iter(server, uid), out),  # noqa: B023
                }

                meter = CpuMeter()

                def before(label: str, meter: CpuMeter = meter) -> None:
                    fresh_dir(out)
                    meter.start(label)

                def after(label: str, meter: CpuMeter = meter, n: int = n) -> None:
                    meter.stop(label)
                    if (got := sum(1 for _ in out.iterdir())) != n:
                        raise SystemExit(f"{label}: {got} of {n} instances arrived")

                say(f"{kind}: retrieving {n} instances, {args.runs} runs each")
                samples = interleaved(contenders, args.runs, before=before, after=after)
                meter.attach(samples)
                table(
                    f"retrieve one {kind} study: {n} instances, {folder_megabytes(out):.0f} MB, "
                    f"median of {args.runs}",
                    samples.values(),
                    samples["DCMTK getscu"],
                    megabytes=folder_megabytes(out),
                    n=n,
                    speed=True,
                )
        finally:
            orthanc.stop()
    print(machine_line())


if __name__ == "__main__":
    main()
