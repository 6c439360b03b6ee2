"""Profile a stretch of code with py-spy attached to this very process.

    with spy("/tmp/cget.txt", idle=True):
        ...  # only this is sampled: imports and set-up stay out of the profile

py-spy comes from PyPI through uvx (`uvx py-spy`), so it is not a project dependency.
Summarise the output with bench/experiments/stacks.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator


@contextlib.contextmanager
def spy(
    output: str,
    *,
    rate: int = 250,
    idle: bool = False,
    gil: bool = False,
    pid: int | None = None,
    subprocesses: bool = False,
) -> Iterator[None]:
    args = [
        "uvx",
        "py-spy",
        "record",
        "--pid",
        str(pid or os.getpid()),
        "-r",
        str(rate),
        "--threads",
        "-f",
        "raw",
        "-o",
        output,
    ]
    args += ["--idle"] if idle else []
    args += ["--gil"] if gil else []
    args += ["--subprocesses"] if subprocesses else []
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.5)  # py-spy attaches
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode not in (0, -signal.SIGINT) and not os.path.exists(output):
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
