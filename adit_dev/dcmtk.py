"""DCMTK's command line tools as independent peers (tests and benchmarks).

Inside `uv run`, pynetdicom's console scripts (findscu, storescu, getscu, movescu,
storescp, echoscu) shadow DCMTK's on PATH, and DCMTK leaves Nagle's algorithm on unless
TCP_NODELAY=1 is set (about 40 ms lost per instance). `dcmtk_env()` fixes both.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def _venv_dirs() -> set[Path]:
    return {Path(sys.prefix).resolve(), Path(sys.executable).parent.resolve()}


def _path_without_venv(path: str) -> str:
    venv = _venv_dirs()
    kept = []
    for entry in path.split(os.pathsep):
        if not entry:
            continue
        resolved = Path(entry).resolve()
        if not any(resolved == v or v in resolved.parents for v in venv):
            kept.append(entry)
    return os.pathsep.join(kept)


def dcmtk_env() -> dict[str, str]:
    """os.environ plus TCP_NODELAY=1, without the virtualenv on PATH."""
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    env["PATH"] = _path_without_venv(env.get("PATH", os.defpath))
    return env


def dcmtk_tool(name: str) -> str | None:
    """Full path of a DCMTK command line tool, never pynetdicom's namesake."""
    return shutil.which(name, path=dcmtk_env()["PATH"])
