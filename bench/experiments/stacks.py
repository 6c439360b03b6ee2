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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    threads: collections.Counter[str] = collections.Counter()
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
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
