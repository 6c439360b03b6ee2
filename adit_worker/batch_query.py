"""The batch query task: answer one line of a batch query file and store what it found."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydicom import Dataset

from adit_core import registry, settings
from adit_core.batch.query_execution import BatchQueryError, answer_query
from adit_core.batch.results import load_query, replace_results
from adit_core.batch.rows import QueryRow
from adit_core.db.database import Database
from adit_core.db.models import DicomServerRow, Task
from adit_core.dicom import operations
from adit_core.dicom.errors import DicomCanceled
from adit_core.dicom.query import Query
from adit_core.dicom.server import DicomServer, LocalNode
from adit_worker.cancel import CancelToken
from adit_worker.progress import ProgressReporter
from adit_worker.transfer import Outcome, TaskFailed

log = logging.getLogger("adit.worker.batch_query")

UNLIMITED = 10_000_000


@dataclass
class BatchQueryRunner:
    db: Database
    task_id: int
    query: QueryRow
    source: DicomServer
    local: LocalNode
    token: CancelToken

    def __post_init__(self) -> None:
        self.log: list[str] = []

    @classmethod
    def load(cls, db: Database, task_id: int, token: CancelToken) -> BatchQueryRunner:
        with db.session() as session:
            task = session.get(Task, task_id)
            assert task is not None
            source = session.get(DicomServerRow, task.source_id)
            if source is None:
                raise TaskFailed("the source server was removed from the registry")
            return cls(
                db=db,
                task_id=task_id,
                query=load_query(session, task_id),
                source=registry.to_dicom_server(source),
                local=settings.load(session).local_node,
                token=token,
            )

    def _find(self, query: Query) -> list[Dataset]:
        self._check_cancel()
        return operations.find(self.source, query, limit=UNLIMITED, local=self.local).datasets

    def _check_cancel(self) -> None:
        if self.token.stopped:
            raise DicomCanceled(self.source.name, "batch query", "canceled")

    def run(self, progress: ProgressReporter) -> Outcome:
        self.log.append(f"Line {self.query.line} of the file, searching {self.source.name}")
        try:
            answer = answer_query(self.query, self._find, check_cancel=self._check_cancel)
        except BatchQueryError as exc:
            raise TaskFailed(str(exc)) from None
        self.log += answer.log
        with self.db.session() as session:
            replace_results(session, self.task_id, answer.rows)
        if answer.warnings:
            self.log += answer.warnings
            return Outcome("WARNING", f"{answer.message} {' '.join(answer.warnings)}", self.log)
        return Outcome("SUCCESS", answer.message, self.log)
