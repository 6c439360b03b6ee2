"""How long `adit` takes to start, against bare Python start-up in the same run.

Runs each command several times (alternating, so load changes hit all alike) and prints
the medians and each command's difference to `python -c pass`. Targets: `adit --help`
within 0.3 s of bare Python; `adit jobs list` and `adit transfer` (database round trip
included, on a throwaway database of the local PostgreSQL) within 0.6 s.

    uv run python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from adit_dev.scratch_database import scratch_database

ADIT = str(Path(sys.executable).with_name("adit"))
STUDY = "1.2.826.0.1.3680043.8.498.1"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with scratch_database() as url:
        env = {**os.environ, "ADIT_DATABASE_URL": url}
        for setup in (
            ["db", "upgrade"],
            ["server", "add", "src", "--ae-title", "SRC", "--host", "127.0.0.1", "--port", "1"],
            ["folder", "add", "dst", "--path", "/tmp/adit-bench-startup"],
        ):
            subprocess.run([ADIT, *setup], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "adit --help": [ADIT, "--help"],
            "adit jobs list": [ADIT, "jobs", "list"],
            "adit transfer": [ADIT, "transfer", "-s", "src", "-d", "dst", "--study", STUDY],
        }
        targets = {"adit --help": 0.3, "adit jobs list": 0.6, "adit transfer": 0.6}
        times: dict[str, list[float]] = {label: [] for label in commands}
        for command in commands.values():  # warm the page cache once
            timed(command, env)
        for _ in range(runs):
            for label, command in commands.items():
                times[label].append(timed(command, env))
    baseline = statistics.median(times["python -c pass"])
    print(f"start-up, median of {runs} runs ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    for label, samples in times.items():
        median = statistics.median(samples)
        line = f"{label:<16} {median:6.3f} s"
        if label in targets:
            extra = median - baseline
            verdict = "ok" if extra <= targets[label] else "OVER"
            line += f"   +{extra:.3f} s over python   target +{targets[label]:.1f} s  {verdict}"
        print(line)


if __name__ == "__main__":
    main()
