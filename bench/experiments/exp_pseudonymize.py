"""EXPERIMENT: the worker's own per-instance work: pseudonymization and the process pool.

    uv run python bench/experiments/exp_pseudonymize.py [--instances 300]

For each study kind, per instance, single process:
  reuse        Pseudonymizer.instance (product: header re-use, pixel data copied)
  no_reuse     the same result without re-use: header decoded, pseudonymized, encoded
  whole        dcmread of the whole file, pseudonymize, dcmwrite (what one would do naively)
  drop private the product's re-use with private elements left out before it (they are
               removed anyway); checked byte for byte against the product's output
  fresh elems  how many top-level header elements re-use had to pseudonymize afresh, and
               their share of the header's bytes
And the pool's transport per instance (ProcessPoolExecutor, 2 processes, an identity
function): the whole Part 10 bytes there and back (what PseudonymizerPool.map sends)
versus only the header (everything before the pixel data).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine_line, make_study
from pydicom import dcmread

from adit_core import pseudonymize_reuse
from adit_core.dicom.elements import CutFile, cut_file
from adit_core.dicom.instance import DicomInstance
from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer
from adit_dev.synthetic import to_bytes


def identity(data: bytes) -> bytes:
    return data


def per_instance(fn, items) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for item in items:
        fn(item)
    return 1000 * (time.perf_counter() - started) / len(items)


def measure_kind(kind: str, n: int, pool: ProcessPoolExecutor) -> None:
    options = PseudonymizationOptions(pseudonym="EXP", trial_protocol_id="P1")
    instances = [DicomInstance.from_bytes(to_bytes(ds)) for ds in make_study(kind, n).datasets()]
    cuts = [cut_file(i.data) for i in instances]
    fresh_counts: list[int] = []
    fresh_bytes: list[float] = []
    real = pseudonymize_reuse._decode

    def counting(elements, implicit_vr):  # type: ignore[no-untyped-def]
        fresh_counts.append(len(elements))
        header = sum(len(e.raw) for e in counting.cut.elements)  # type: ignore[attr-defined]
        fresh_bytes.append(sum(len(e.raw) for e in elements) / header)
        return real(elements, implicit_vr)

    pseudonymize_reuse._decode = counting
    reuse = Pseudonymizer("secret", options)
    started = time.perf_counter()
    for instance, cut in zip(instances, cuts, strict=True):
        counting.cut = cut  # type: ignore[attr-defined]
        reuse.instance(instance)
    t_reuse = 1000 * (time.perf_counter() - started) / len(instances)
    pseudonymize_reuse._decode = real

    plain = Pseudonymizer("secret", options)

    def no_reuse(instance: DicomInstance) -> bytes:
        header, pixels = instance.split_pixel_data()  # type: ignore[misc]
        plain(header)
        return DicomInstance.from_header_and_pixels(header, pixels).data

    def whole(instance: DicomInstance) -> bytes:
        ds = dcmread(BytesIO(instance.data))
        plain(ds)
        out = BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()

    # Idea: private elements are removed by our pseudonymization anyway, so they need not
    # be decoded and pseudonymized at all: drop them from the cut before re-use.
    dropping = Pseudonymizer("secret", options)
    expected = [reuse.instance(i).data for i in instances[:50]]

    def drop_private(cut: CutFile) -> bytes:
        public = [e for e in cut.elements if not (e.tag >> 16) & 1]
        return dropping._reuse.instance(dataclasses.replace(cut, elements=public))[0]

    same = [drop_private(c) for c in cuts[:50]] == expected
    t_drop = per_instance(drop_private, cuts)
    t_no_reuse = per_instance(no_reuse, instances)
    t_whole = per_instance(whole, instances)
    headers = [
        i.data[: len(i.data) - len(c.pixel_data)] for i, c in zip(instances, cuts, strict=True)
    ]
    t_pool_full = per_instance(lambda i: pool.submit(identity, i.data).result(), instances)
    t_pool_header = per_instance(lambda h: pool.submit(identity, h).result(), headers)
    elements = statistics.mean(len(c.elements) for c in cuts)
    print(
        f"\n{kind} study, {len(instances)} instances, {elements:.0f} top-level header "
        f"elements, header {statistics.mean(map(len, headers)) / 1000:.1f} KB of "
        f"{statistics.mean(i.size for i in instances) / 1000:.0f} KB"
    )
    print(
        f"  reuse (product)      {t_reuse:6.2f} ms/inst; afresh "
        f"{statistics.mean(fresh_counts):.0f} "
        f"elements, {100 * statistics.mean(fresh_bytes):.0f}% of the header bytes"
    )
    print(
        f"  reuse, private elements dropped undecoded {t_drop:6.2f} ms/inst "
        f"(byte-identical to reuse: {same})"
    )
    print(f"  no_reuse             {t_no_reuse:6.2f} ms/inst")
    print(f"  whole                {t_whole:6.2f} ms/inst")
    print(f"  pool round trip, whole file   {t_pool_full:6.2f} ms/inst (one at a time)")
    print(f"  pool round trip, header only  {t_pool_header:6.2f} ms/inst")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--instances", type=int, default=300)
    args = p.parse_args()
    print(machine_line())
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(int, 0).result()
    for kind in ("uniform", "rich"):
        measure_kind(kind, args.instances, pool)
    pool.shutdown()
    print(machine_line())


if __name__ == "__main__":
    main()
