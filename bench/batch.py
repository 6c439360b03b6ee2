"""Validate and queue 10,000-row batch files (xlsx and csv), as a user would from the CLI.

    uv run python bench/batch.py [--rows 10000]

Prints, per file: writing it (not part of the target), validating it, and creating the
job with its tasks and queue entries (one committed transaction), each the best of
--runs runs (a fresh job each time). The target is seconds, not minutes, for 10,000 rows.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

from common import scratch, throwaway_database
from sqlalchemy import text

from adit_core.batch import (
    QueryBatch,
    TransferBatch,
    ValidationReport,
    create_batch_query_job,
    create_batch_transfer_job,
    export_results,
    validate_file,
)
from adit_core.batch.columns import QUERY_COLUMNS, TRANSFER_COLUMNS
from adit_core.batch.spreadsheet import write_table
from adit_core.db.database import Database
from adit_core.db.migrate import upgrade
from adit_core.registry import ServerSpec, add_folder, add_server


def query_rows(n: int) -> list[list[object]]:
    start = date(2015, 1, 1)
    return [
        [f"{i:07d}", "", None, "", start + timedelta(days=i % 3000), None, "CT, MR", "",
         "t1|flair" if i % 4 == 0 else "", "", f"SUBJ{i:05d}"]
        for i in range(n)
    ]  # fmt: skip


def transfer_rows(n: int) -> list[list[object]]:
    root = "1.2.826.0.1.3680043.8.498"
    # Two rows per study, the second naming a series: 5,000 tasks for 10,000 rows.
    return [
        [f"{i // 2:07d}", f"{root}.{i // 2}", f"{root}.{i // 2}.{i % 2}" if i % 2 else "",
         f"SUBJ{i // 2:05d}"]
        for i in range(n)
    ]  # fmt: skip


def measure_export(db: Database, job_id: int, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with db.session() as session:
        summary = export_results(session, job_id, path)
    return time.perf_counter() - started, summary.rows


def measure(db: Database, path: Path, kind: str) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    batch = validate_file(path, kind)
    validated = time.perf_counter()
    if isinstance(batch, ValidationReport):
        raise SystemExit(batch.format())
    with db.session() as session:
        if isinstance(batch, QueryBatch):
            job = create_batch_query_job(session, batch, source="pacs")
        else:
            assert isinstance(batch, TransferBatch)
            job = create_batch_transfer_job(session, batch, source="pacs", destination="out")
        job_id = job.id
    queued = time.perf_counter()
    with db.session() as session:
        tasks = session.scalar(
            text("SELECT count(*) FROM tasks WHERE job_id = :id AND queued_job_id IS NOT NULL"),
            {"id": job_id},
        )
    return validated - started, queued - validated, int(tasks or 0), job_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="Best of this many runs.")
    args = parser.parse_args()
    with throwaway_database() as url, scratch("adit-bench-batch-") as folder:
        db = Database(url)
        upgrade(db)
        with db.session() as session:
            add_server(session, ServerSpec("pacs", "PACS", "127.0.0.1", 11112))
            add_folder(session, name="out", path=str(folder / "out"))
        print(f"{'file':<22} {'write':>8} {'validate':>9} {'queue':>8} {'total':>8}  tasks")
        for kind, header, rows in (
            ("query", QUERY_COLUMNS, query_rows(args.rows)),
            ("transfer", TRANSFER_COLUMNS, transfer_rows(args.rows)),
        ):
            for suffix in (".xlsx", ".csv"):
                path = folder / f"{kind}{suffix}"
                started = time.perf_counter()
                write_table(path, header, rows, text_columns={"PatientID", "Pseudonym"})
                written = time.perf_counter() - started
                runs = [measure(db, path, kind) for _ in range(args.runs)]
                validate = min(r[0] for r in runs)
                queue = min(r[1] for r in runs)
                tasks = runs[0][2]
                label = f"{kind} {args.rows:,} rows {suffix}"
                print(
                    f"{label:<22} {written:7.2f}s {validate:8.2f}s {queue:7.2f}s "
                    f"{validate + queue:7.2f}s  {tasks:,}"
                )
                if kind == "query":
                    export_seconds, exported = measure_export(
                        db, runs[0][3], folder / f"export{suffix}"
                    )
                    print(
                        f"  export of that job ({exported:,} lines, {suffix}) {export_seconds:.2f}s"
                    )
        db.dispose()


if __name__ == "__main__":
    main()
