"""Where the receiver puts what C-MOVE delivers, shared with the workers.

Receiver and workers must see the same spool directory (same host, or a shared volume in
compose.yaml). ``ADIT_SPOOL_DIR`` overrides the default under the data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from adit_core.config import data_dir


def spool_dir() -> Path:
    configured = os.environ.get("ADIT_SPOOL_DIR")
    return Path(configured).expanduser() if configured else data_dir() / "spool"


def request_dir(request_id: int) -> Path:
    return spool_dir() / "moves" / str(request_id)


def quarantine_dir() -> Path:
    return spool_dir() / "quarantine"
