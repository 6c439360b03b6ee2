"""A persistent, seeded Orthanc for experiments, so repeated runs skip the upload."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import make_study, say

from adit_dev.orthanc import OrthancServer
from adit_dev.synthetic import StudySpec

LAB = Path(os.environ.get("ADIT_BENCH_LAB", "/tmp/adit-bench-lab"))


@contextlib.contextmanager
def lab_orthanc(
    kind: str = "uniform",
    n: int = 600,
    *,
    ae_title: str = "LAB",
    modalities: dict[str, tuple[str, str, int]] | None = None,
    config: dict[str, object] | None = None,
) -> Iterator[tuple[OrthancServer, StudySpec]]:
    study = make_study(kind, n)
    orthanc = OrthancServer(
        LAB / f"{kind}-{n}", ae_title=ae_title, modalities=modalities, config_overrides=config
    )
    orthanc.start()
    try:
        if study.study_uid not in orthanc.study_uids():
            say(f"uploading {n} {kind} instances to the lab Orthanc ...")
            orthanc.upload_many(study.datasets())
        yield orthanc, study
    finally:
        orthanc.stop()


def experiment_parser(doc: str | None) -> argparse.ArgumentParser:
    """--variant, --runs, --kind, --instances: what every exp_*.py takes."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--variant", default="all", help="comma-separated variants, or all")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--kind", default="uniform")
    p.add_argument("--instances", type=int, default=600)
    return p
