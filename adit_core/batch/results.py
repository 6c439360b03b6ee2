"""Batch query results and file lines in the database: written by the worker, read for
export and for showing which line of the file a task came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from adit_core.batch.query_execution import FoundRow
from adit_core.batch.rows import QueryRow
from adit_core.db.models import BatchQueryResult, BatchQueryTask, BatchTransferTask, Task
from adit_core.jobs.status import Status


def load_query(session: Session, task_id: int) -> QueryRow:
    q = session.get(BatchQueryTask, task_id)
    if q is None:
        raise LookupError(f"task {task_id} has no batch query")
    return _query_row({c: getattr(q, c) for c in _QUERY_COLUMNS})


def replace_results(session: Session, task_id: int, rows: list[FoundRow]) -> None:
    """A task's results from its latest run replace those of earlier runs."""
    session.execute(delete(BatchQueryResult).where(BatchQueryResult.task_id == task_id))
    if rows:
        session.execute(
            insert(BatchQueryResult),
            [{"task_id": task_id, "position": i, **asdict(r)} for i, r in enumerate(rows)],
        )


@dataclass
class ExportLine:
    """One line of an export: a result, or the query line itself when it found nothing."""

    query: QueryRow
    status: str
    message: str
    result: FoundRow | None


_RESULT_FIELDS = list(FoundRow.__dataclass_fields__)
_QUERY_COLUMNS = [c.name for c in BatchQueryTask.__table__.columns if c.name != "task_id"]
_FINISHED_OK = (Status.SUCCESS.value, Status.WARNING.value)


def export_lines(session: Session, job_id: int, *, chunk: int = 2000) -> Iterator[ExportLine]:
    """Every task of the job in file order, each with its results (streamed, no ORM objects)."""
    q = BatchQueryTask.__table__.c
    r = BatchQueryResult.__table__.c
    stmt = (
        select(
            Task.id.label("t_id"),
            Task.status.label("t_status"),
            Task.message.label("t_message"),
            r.id.label("r_id"),
            *[q[name].label(f"q_{name}") for name in _QUERY_COLUMNS],
            *[r[name].label(f"r_{name}") for name in _RESULT_FIELDS],
        )
        .join(BatchQueryTask, BatchQueryTask.task_id == Task.id)
        .outerjoin(BatchQueryResult, BatchQueryResult.task_id == Task.id)
        .where(Task.job_id == job_id)
        .order_by(Task.position, Task.id, r.position)
    )
    result = session.connection().execution_options(yield_per=chunk).execute(stmt)
    last_task: int | None = None
    query: QueryRow | None = None
    for row in result.mappings():
        finished_ok = row["t_status"] in _FINISHED_OK
        if row["t_id"] != last_task:
            last_task = row["t_id"]
            query = _query_row({name: row[f"q_{name}"] for name in _QUERY_COLUMNS})
            if not finished_ok or row["r_id"] is None:
                yield ExportLine(query, row["t_status"], row["t_message"], None)
        assert query is not None
        if finished_ok and row["r_id"] is not None:
            found = FoundRow(**{name: row[f"r_{name}"] for name in _RESULT_FIELDS})
            yield ExportLine(query, row["t_status"], row["t_message"], found)


def _query_row(values: dict[str, Any]) -> QueryRow:
    return QueryRow(
        **{
            **values,
            "modalities": tuple(values["modalities"] or ()),
            "series_numbers": tuple(values["series_numbers"] or ()),
        }
    )


def task_lines(session: Session, job_id: int) -> dict[int, list[int]]:
    """Task id → the lines of the batch file it came from (empty for other jobs)."""
    lines: dict[int, list[int]] = {}
    query_lines = select(BatchQueryTask.task_id, BatchQueryTask.line).join(
        Task, Task.id == BatchQueryTask.task_id
    )
    for task_id, line in session.execute(query_lines.where(Task.job_id == job_id)):
        lines[task_id] = [line]
    transfer_lines = select(BatchTransferTask.task_id, BatchTransferTask.lines).join(
        Task, Task.id == BatchTransferTask.task_id
    )
    for task_id, numbers in session.execute(transfer_lines.where(Task.job_id == job_id)):
        lines[task_id] = list(numbers)
    return lines
