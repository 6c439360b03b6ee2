"""Creating jobs: rows and queue entries in one transaction, in plain SQL (see `db.sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adit_core import fields, node_roles
from adit_core.db import sql
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import defer_tasks
from adit_core.jobs.status import JobKind, priority

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable


@dataclass
class TransferItem:
    """One study to move, or some of its series."""

    study_uid: str
    patient_id: str = ""
    series_uids: Sequence[str] = ()
    pseudonym: str = ""


@dataclass
class TransferOptions:
    pseudonym: str = ""
    trial_protocol_id: str = ""
    trial_protocol_name: str = ""
    urgent: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def validated(self) -> TransferOptions:
        self.pseudonym = fields.PSEUDONYM.check(self.pseudonym)
        self.trial_protocol_id = fields.TRIAL_PROTOCOL_ID.check(self.trial_protocol_id)
        self.trial_protocol_name = fields.TRIAL_PROTOCOL_NAME.check(self.trial_protocol_name)
        return self


@dataclass(frozen=True)
class CreatedJob:
    id: int
    task_ids: list[int]  # in the order of the items


def create_transfer_job(
    session: Connectable,
    *,
    source: str,
    destination: str,
    items: Sequence[TransferItem],
    options: TransferOptions,
    kind: JobKind = JobKind.SELECTIVE_TRANSFER,
) -> CreatedJob:
    """Validate everything, then insert the job, its tasks and their queue entries."""
    options.validated()
    if not items:
        raise JobError("nothing to transfer: give at least one study")
    src = node_roles.resolve_source(session, source, node_roles.TRANSFER_SOURCE)
    dst = node_roles.resolve_destination(session, destination)
    if src.id == dst.id:
        raise JobError("source and destination are the same server")
    study_uids, patient_ids, pseudonyms, series = [], [], [], []
    for item in items:
        study_uids.append(fields.STUDY_UID.check(item.study_uid, required=True))
        unique = dict.fromkeys(fields.SERIES_UID.check(s, required=True) for s in item.series_uids)
        # Arrays of arrays do not unnest; UIDs hold no commas, so a comma joins them.
        series.append(",".join(unique))
        pseudonyms.append(fields.PSEUDONYM.check(item.pseudonym or options.pseudonym))
        patient_ids.append(fields.PATIENT_ID.check(item.patient_id))
    job = sql.row(
        session,
        "INSERT INTO jobs (kind, urgent, options) VALUES (%s, %s, %s) RETURNING id",
        (
            kind.value,
            options.urgent,
            Jsonb(
                {
                    "source": src.name,
                    "destination": dst.name,
                    "pseudonym": options.pseudonym,
                    "trial_protocol_id": options.trial_protocol_id,
                    "trial_protocol_name": options.trial_protocol_name,
                    **options.extra,
                }
            ),
        ),
    )
    assert job is not None
    inserted = sql.rows(
        session,
        "INSERT INTO tasks (job_id, position, source_id, destination_id, patient_id, "
        "study_uid, series_uids, pseudonym) "
        "SELECT %(job)s, u.position - 1, %(src)s, %(dst)s, u.patient_id, u.study_uid, "
        "string_to_array(u.series, ','), u.pseudonym "
        "FROM unnest(%(patient_ids)s::text[], %(study_uids)s::text[], %(series)s::text[], "
        "%(pseudonyms)s::text[]) WITH ORDINALITY AS u(patient_id, study_uid, series, "
        "pseudonym, position) "
        "ORDER BY u.position RETURNING id, position",
        {
            "job": job["id"],
            "src": src.id,
            "dst": dst.id,
            "patient_ids": patient_ids,
            "study_uids": study_uids,
            "series": series,
            "pseudonyms": pseudonyms,
        },
    )
    task_ids = [r["id"] for r in sorted(inserted, key=lambda r: r["position"])]
    defer_tasks(session, task_ids, priority=priority(kind, options.urgent))
    return CreatedJob(job["id"], task_ids)
