"""EXPERIMENT: py-spy profiles of our DIMSE hot paths (only the transfers are sampled).

    uv run python bench/experiments/profile_paths.py cget  [--idle] [--gil] [--runs 3]
    uv run python bench/experiments/profile_paths.py store [--idle] [--gil] [--runs 3]
    uv run python bench/experiments/stacks.py /tmp/adit-profile-cget.txt

cget: adit_core.dicom.dimse.get of one lab study, each instance written to a file.
store: adit_core.dicom.dimse.store of that study's files to a second Orthanc, over one
association (`--associations N` for more).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import fresh_dir
from lab import lab_orthanc
from spy import spy

from adit_core.dicom import dimse
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.server import LocalNode
from adit_dev.orthanc import OrthancServer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("what", choices=["cget", "store"])
    p.add_argument("--kind", default="uniform")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--associations", type=int, default=1)
    p.add_argument("--idle", action="store_true")
    p.add_argument("--gil", action="store_true")
    p.add_argument("--output")
    args = p.parse_args()
    output = args.output or f"/tmp/adit-profile-{args.what}.txt"
    local = LocalNode(ae_title="ADITEXP")
    with lab_orthanc(args.kind) as (orthanc, study), tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        fresh_dir(out)
        server = orthanc.as_dicom_server("lab")

        def cget() -> None:
            for i in dimse.get(server, study.study_uid, local=local):
                (out / f"{i.sop_instance_uid}.dcm").write_bytes(i.data)

        if args.what == "cget":
            cget()  # warm: imports, page cache
            with spy(output, idle=args.idle, gil=args.gil):
                started = time.perf_counter()
                for _ in range(args.runs):
                    fresh_dir(out)
                    cget()
            print(f"{args.runs} C-GETs in {time.perf_counter() - started:.2f}s -> {output}")
            return
        cget()
        files = sorted(out.iterdir())
        with OrthancServer(Path(tmp) / "dst", ae_title="DST") as dst:
            target = dst.as_dicom_server("dst")

            def store() -> None:
                items = (DicomInstance.from_bytes(f.read_bytes()) for f in files)
                result = dimse.store(target, items, local=local, associations=args.associations)
                assert result.stored == len(files), result

            store()
            with spy(output, idle=args.idle, gil=args.gil):
                started = time.perf_counter()
                for _ in range(args.runs):
                    dst.reset()
                    store()
            print(f"{args.runs} C-STORE runs in {time.perf_counter() - started:.2f}s -> {output}")


if __name__ == "__main__":
    main()
