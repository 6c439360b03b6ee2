"""Creating batch jobs from validated files: rows, tasks and queue entries in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adit_core import node_roles
from adit_core.batch.grouping import group_by_study
from adit_core.batch.rows import QueryBatch, TransferBatch
from adit_core.db import sql
from adit_core.jobs.create import CreatedJob, TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import defer_tasks
from adit_core.jobs.status import JobKind, priority

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable


def create_batch_query_job(
    session: Connectable, batch: QueryBatch, *, source: str, urgent: bool = False
) -> CreatedJob:
    """One task per line of the file; each is queued at once (10,000 lines take seconds)."""
    if not batch.rows:
        raise JobError("the file has no rows to query")
    src = node_roles.resolve_source(session, source, node_roles.QUERY_SOURCE)
    job = sql.row(
        session,
        "INSERT INTO jobs (kind, urgent, options) VALUES (%s, %s, %s) RETURNING id",
        (
            JobKind.BATCH_QUERY.value,
            urgent,
            Jsonb({"source": src.name, "file": batch.path.name, "rows": len(batch.rows)}),
        ),
    )
    assert job is not None
    rows = batch.rows
    # One INSERT ... SELECT FROM unnest(arrays) per table: row-by-row inserts of 10,000
    # lines spent seconds building and parsing SQL.
    inserted = sql.rows(
        session,
        "INSERT INTO tasks (job_id, position, source_id, patient_id, pseudonym) "
        "SELECT %(job)s, u.position, %(source)s, u.patient_id, u.pseudonym "
        "FROM unnest(%(positions)s::integer[], %(patient_ids)s::text[], "
        "%(pseudonyms)s::text[]) AS u(position, patient_id, pseudonym) "
        "RETURNING id, position",
        {
            "job": job["id"],
            "source": src.id,
            "positions": list(range(len(rows))),
            "patient_ids": [r.patient_id for r in rows],
            "pseudonyms": [r.pseudonym for r in rows],
        },
    )
    task_ids = [r["id"] for r in sorted(inserted, key=lambda r: r["position"])]
    sql.execute(
        session,
        "INSERT INTO batch_query_tasks (task_id, line, patient_id, patient_name, "
        "patient_birth_date, accession_number, study_date_from, study_date_until, "
        "modalities, study_description, series_description, series_numbers, pseudonym) "
        "SELECT u.task_id, u.line, u.patient_id, u.patient_name, u.birth_date, u.accession, "
        "u.date_from, u.date_until, string_to_array(u.modalities, ','), u.study_description, "
        "u.series_description, string_to_array(u.series_numbers, ',')::integer[], "
        "u.pseudonym "
        "FROM unnest(%(task_ids)s::bigint[], %(lines)s::integer[], "
        "%(patient_ids)s::text[], %(names)s::text[], %(births)s::date[], "
        "%(accessions)s::text[], %(froms)s::date[], %(untils)s::date[], "
        "%(modalities)s::text[], %(study_descriptions)s::text[], "
        "%(series_descriptions)s::text[], %(series_numbers)s::text[], "
        "%(pseudonyms)s::text[]) AS u(task_id, line, patient_id, patient_name, "
        "birth_date, accession, date_from, date_until, modalities, study_description, "
        "series_description, series_numbers, pseudonym)",
        {
            "task_ids": task_ids,
            "lines": [r.line for r in rows],
            "patient_ids": [r.patient_id for r in rows],
            "names": [r.patient_name for r in rows],
            "births": [r.patient_birth_date for r in rows],
            "accessions": [r.accession_number for r in rows],
            "froms": [r.study_date_from for r in rows],
            "untils": [r.study_date_until for r in rows],
            # Modalities never contain a comma (`adit_core.fields`), so a comma joins them safely.
            "modalities": [",".join(r.modalities) for r in rows],
            "study_descriptions": [r.study_description for r in rows],
            "series_descriptions": [r.series_description for r in rows],
            "series_numbers": [",".join(map(str, r.series_numbers)) for r in rows],
            "pseudonyms": [r.pseudonym for r in rows],
        },
    )
    defer_tasks(session, task_ids, priority=priority(JobKind.BATCH_QUERY, urgent))
    return CreatedJob(job["id"], task_ids)


def create_batch_transfer_job(
    session: Connectable,
    batch: TransferBatch,
    *,
    source: str,
    destination: str,
    trial_protocol_id: str = "",
    trial_protocol_name: str = "",
    urgent: bool = False,
    shift_times: bool = False,
) -> CreatedJob:
    """One task per study (rows grouped by ADIT's rules), pseudonyms from the file."""
    groups = group_by_study(batch.rows)
    if not groups:
        raise JobError("the file names no study to transfer")
    job = create_transfer_job(
        session,
        source=source,
        destination=destination,
        items=[
            TransferItem(
                study_uid=g.study_uid,
                patient_id=g.patient_id,
                series_uids=g.series_uids,
                pseudonym=g.pseudonym,
            )
            for g in groups
        ],
        options=TransferOptions(
            trial_protocol_id=trial_protocol_id,
            trial_protocol_name=trial_protocol_name,
            urgent=urgent,
            extra={
                "file": batch.path.name,
                "rows": len(batch.rows),
                "studies": len(groups),
                **({"shift_times": True} if shift_times else {}),
            },
        ),
        kind=JobKind.BATCH_TRANSFER,
    )
    # A task's file lines as one comma-joined string each (arrays of arrays do not unnest).
    sql.execute(
        session,
        "INSERT INTO batch_transfer_tasks (task_id, lines) "
        "SELECT u.task_id, string_to_array(u.lines, ',')::integer[] "
        "FROM unnest(%(task_ids)s::bigint[], %(lines)s::text[]) AS u(task_id, lines)",
        {"task_ids": job.task_ids, "lines": [",".join(map(str, g.lines)) for g in groups]},
    )
    return job
