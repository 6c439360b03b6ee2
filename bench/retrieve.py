"""Retrieve one 600-instance study three ways and compare with DCMTK getscu in the same run.

    uv run python bench/retrieve.py [--instances 600] [--runs 3]

Prints each path's median time and its speed as a ratio to getscu (>1 is faster).
Target: WADO-RS at least 0.8x getscu. Everything runs on loopback.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from common import dcmtk, dcmtk_env, median_of, ratio_line, scratch

from adit_core.dicom import dicomweb, dimse
from adit_core.dicom.server import LocalNode
from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import big_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    study = big_study(n_instances=args.instances).studies[0]
    with (
        scratch("adit-bench-") as work,
        OrthancServer(work / "orthanc", ae_title="BENCH") as orthanc,
    ):
        print(f"generating and uploading {study.instance_count} instances ...", file=sys.stderr)
        orthanc.upload_many(study.datasets())
        server = orthanc.as_dicom_server("bench")
        local = LocalNode(ae_title="ADITBENCH")
        out = work / "out"
        sizes: list[int] = []

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        def getscu() -> None:
            subprocess.run(
                [dcmtk("getscu"), "-S", "-aec", orthanc.ae_title, "-aet", "ADITBENCH",
                 "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study.study_uid}",
                 "-od", str(out), orthanc.host, str(orthanc.dicom_port)],
                env=dcmtk_env(), check=True, capture_output=True,
            )  # fmt: skip

        def write_all(instances) -> None:  # type: ignore[no-untyped-def]
            sizes.clear()
            for i in instances:
                (out / f"{i.sop_instance_uid}.dcm").write_bytes(i.data)
                sizes.append(i.size)

        def wado() -> None:
            write_all(dicomweb.wado_iter(server, study.study_uid))

        def cget() -> None:
            write_all(dimse.get(server, study.study_uid, local=local))

        results = {}
        for label, fn in (("DCMTK getscu", getscu), ("ADIT WADO-RS", wado), ("ADIT C-GET", cget)):
            results[label] = median_of(args.runs, fn, before=fresh)
            count = len(list(out.iterdir()))
            if count != study.instance_count:
                sys.exit(f"{label}: {count} of {study.instance_count} instances arrived")
        megabytes = sum(sizes) / 1e6
        baseline = results["DCMTK getscu"]
        print(
            f"retrieve {study.instance_count} instances ({megabytes:.0f} MB), median of {args.runs}"
        )
        for label, seconds in results.items():
            print(ratio_line(label, seconds, baseline, megabytes, study.instance_count))


if __name__ == "__main__":
    main()
