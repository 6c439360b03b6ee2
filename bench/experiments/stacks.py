"""Summarise py-spy's raw (collapsed) stacks: where the samples are, by thread and function.

    uv run python bench/experiments/stacks.py PROFILE.txt [--top 25] [--idle]

Prints, per thread, its share of samples, then the functions with the most samples on top
of the stack (self) and anywhere in it (inclusive). py-spy records only running (non-idle)
samples unless it was given --idle.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "lib/python3.11/", "bench-dimse/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


# --buckets: each sample goes to the first bucket one of whose markers is in its stack.
BUCKETS = (
    ("pseudonymization (pool processes)", ("Pseudonymizer.instance",)),
    (
        "pool: pickling and pipes",
        ("_process_worker", "_ExecutorManagerThread", "PseudonymizerPool.map", "multiprocessing/"),
    ),
    ("C-STORE send (pynetdicom + ours)", ("dimse_store", "send_encoded", "dimse_outgoing")),
    ("STOW-RS send", ("dicomweb_stow",)),
    (
        "C-GET association thread (pynetdicom + ours)",
        ("_GetJob", "send_c_get", "_wrap_get_move_responses"),
    ),
    ("C-STORE SCP handler (receiver)", ("Receiver._on_store", "_c_store_scp")),
    ("pynetdicom DUL reactors (PDUs in/out)", ("run_reactor",)),
    ("pynetdicom association reactor", ("Association._run_reactor", "Association.run")),
    ("WADO-RS receive", ("dicomweb_wado", "multipart", "wado_iter")),
    ("C-MOVE: reading arrivals", ("receiver_link",)),
    ("folder writes", ("_to_folder", "write_atomic", "instance_path")),
    ("discovery (C-FIND, QIDO)", ("dimse_find", "dicomweb_qido", "list_expected", "plan (")),
    ("pipeline glue (prefetch, progress)", ("_prefetch", "progress", "source_stream")),
    (
        "job system (procrastinate, asyncio, db)",
        ("procrastinate", "asyncio", "sqlalchemy", "psycopg"),
    ),
)


def bucket(stack: str) -> str:
    for name, markers in BUCKETS:
        if any(m in stack for m in markers):
            return name
    return "other"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--buckets", action="store_true", help="only the share of each bucket")
    args = p.parse_args()
    threads: collections.Counter[str] = collections.Counter()
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total = 0
    buckets: collections.Counter[str] = collections.Counter()
    for line in args.profile.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        buckets[bucket(stack)] += count
        frames = stack.split(";")
        thread = "all"
        while frames and frames[0].startswith(("thread (", "process ")):
            # "thread (0x7f..): name" -> name: threads of successive runs share a line
            thread = frames.pop(0).split(": ", 1)[-1]
        names = [short(f) for f in frames]
        total += count
        threads[thread] += count
        if names:
            own[thread][names[-1]] += count
            for name in set(names):
                inclusive[thread][name] += count
    print(f"{total} samples")
    if args.buckets:
        for name, n in buckets.most_common():
            print(f"  {100 * n / total:5.1f}%  {name}")
        return
    for thread, count in threads.most_common():
        print(f"\n== {thread}: {count} samples ({100 * count / total:.0f}%)")
        print("  self:")
        for name, n in own[thread].most_common(args.top):
            print(f"    {100 * n / total:5.1f}%  {name}")
        print("  inclusive:")
        for name, n in inclusive[thread].most_common(args.top):
            print(f"    {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
