"""How long `adit` takes to start, against bare Python start-up in the same run.

Runs each command several times (alternating, so load changes hit all alike) and prints
the medians and each command's difference to `python -c pass`, in wall-clock time (the
targets) and in CPU time (what the command costs whatever else the machine is doing).
Targets: `adit --help` within 0.3 s of bare Python; `adit jobs list` and `adit transfer`
(database round trip included, on a throwaway database of the local PostgreSQL) within
0.6 s.

    uv run python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from adit_dev.scratch_database import scratch_database

ADIT = str(Path(sys.executable).with_name("adit"))
STUDY = "1.2.826.0.1.3680043.8.498.1"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds, and the CPU seconds the process used (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
        walls: dict[str, list[float]] = {label: [] for label in commands}
        cpus: dict[str, list[float]] = {label: [] for label in commands}
        for command in commands.values():  # warm the page cache once
            timed(command, env)
        for _ in range(runs):
            for label, command in commands.items():
                wall, cpu = timed(command, env)
                walls[label].append(wall)
                cpus[label].append(cpu)
    baseline = statistics.median(walls["python -c pass"])
    cpu_baseline = statistics.median(cpus["python -c pass"])
    load = os.getloadavg()[0]
    print(f"start-up, medians of {runs} runs ({os.cpu_count()} CPUs, load average {load:.1f})")
    print(
        f"{'':<16} {'wall':>7}  {'over python':>11}  {'target':>6}        {'CPU over python':>15}"
    )
    for label in commands:
        wall = statistics.median(walls[label])
        line = f"{label:<16} {wall:6.3f}s"
        if label in targets:
            extra = wall - baseline
            verdict = "ok" if extra <= targets[label] else "OVER"
            cpu = statistics.median(cpus[label]) - cpu_baseline
            line += f"  {extra:+10.3f}s  {targets[label]:+5.1f}s  {verdict:<4}  {cpu:+14.3f}s"
        print(line)
    if load > (os.cpu_count() or 1):
        print("(the machine is busier than it has CPUs: wall times include waiting for one)")


if __name__ == "__main__":
    main()
