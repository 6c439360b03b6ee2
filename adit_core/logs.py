"""Structured logging for administrators: logfmt lines (default) or JSON lines.

Fields passed with ``extra={...}`` appear as key=value pairs. Set ``ADIT_LOG_FORMAT=json``
for JSON lines and ``ADIT_LOG_LEVEL`` (DEBUG, INFO, WARNING) for verbosity. Every line, at
every level and from every library, passes through `redact.mask_secrets` on its way out, so
credentials inside URLs never reach a log.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from adit_core.redact import mask_secrets

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"logger={record.name}"]
        parts.append(f"msg={_quote(record.getMessage())}")
        parts += [f"{k}={_quote(str(v))}" for k, v in _fields(record).items()]
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return mask_secrets(" ".join(parts))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(
            {
                k: v if isinstance(v, (int, float, bool)) else str(v)
                for k, v in _fields(record).items()
            }
        )
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return mask_secrets(json.dumps(data, ensure_ascii=False))


def _quote(value: str) -> str:
    if value and not any(c in value for c in ' "=\n\t'):
        return value
    return json.dumps(value, ensure_ascii=False)


def configure(level: str | None = None) -> None:
    level = (level or os.environ.get("ADIT_LOG_LEVEL") or "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    fmt = os.environ.get("ADIT_LOG_FORMAT", "logfmt").lower()
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pynetdicom logs every PDU at INFO; keep it to warnings unless debugging.
    if level != "DEBUG":
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
