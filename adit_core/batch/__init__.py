"""Batch query and batch transfer: files in, validated rows, jobs, results out.

The public API (used by the CLI and the TUI):

- `validate_file(path, kind)` → `QueryBatch | TransferBatch` or a `ValidationReport`
  listing every `Problem(line, column, message)`;
- `create_batch_query_job(session, batch, source=...)` and
  `create_batch_transfer_job(session, batch, source=..., destination=...)` → `CreatedJob`;
- `export_results(session, job_id, path)` → `ExportSummary`;
- `write_template(kind, path)`; `task_lines(session, job_id)`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names load on first use: the spreadsheet and DICOM code behind them cost about a second
# to import, which a batch command checking a CSV file or creating a job does not need.
_HOMES = {
    "ExportSummary": "export",
    "default_export_name": "export",
    "export_results": "export",
    "StudyGroup": "grouping",
    "group_by_study": "grouping",
    "create_batch_query_job": "jobs",
    "create_batch_transfer_job": "jobs",
    "BatchKind": "report",
    "Problem": "report",
    "ValidationReport": "report",
    "task_lines": "results",
    "BatchFile": "rows",
    "QueryBatch": "rows",
    "QueryRow": "rows",
    "TransferBatch": "rows",
    "TransferRow": "rows",
    "MAX_FILE_BYTES": "table",
    "MAX_ROWS": "table",
    "write_template": "template",
    "validate_file": "validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


if TYPE_CHECKING:
    from adit_core.batch.export import ExportSummary, default_export_name, export_results
    from adit_core.batch.grouping import StudyGroup, group_by_study
    from adit_core.batch.jobs import create_batch_query_job, create_batch_transfer_job
    from adit_core.batch.report import BatchKind, Problem, ValidationReport
    from adit_core.batch.results import task_lines
    from adit_core.batch.rows import BatchFile, QueryBatch, QueryRow, TransferBatch, TransferRow
    from adit_core.batch.table import MAX_FILE_BYTES, MAX_ROWS
    from adit_core.batch.template import write_template
    from adit_core.batch.validate import validate_file

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "BatchFile",
    "BatchKind",
    "ExportSummary",
    "Problem",
    "QueryBatch",
    "QueryRow",
    "StudyGroup",
    "TransferBatch",
    "TransferRow",
    "ValidationReport",
    "create_batch_query_job",
    "create_batch_transfer_job",
    "default_export_name",
    "export_results",
    "group_by_study",
    "task_lines",
    "validate_file",
    "write_template",
]
