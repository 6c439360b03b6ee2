"""Creating jobs: rows and queue entries in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from adit_core import fields, node_roles
from adit_core.db.models import Job, Task
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import defer_tasks
from adit_core.jobs.status import JobKind, priority


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


def create_transfer_job(
    session: Session,
    *,
    source: str,
    destination: str,
    items: Sequence[TransferItem],
    options: TransferOptions,
    kind: JobKind = JobKind.SELECTIVE_TRANSFER,
) -> Job:
    """Validate everything, then insert the job, its tasks and their queue entries."""
    options.validated()
    if not items:
        raise JobError("nothing to transfer: give at least one study")
    src = node_roles.resolve_source(session, source, node_roles.TRANSFER_SOURCE)
    dst = node_roles.resolve_destination(session, destination)
    if src.id == dst.id:
        raise JobError("source and destination are the same server")
    tasks = []
    for position, item in enumerate(items):
        study_uid = fields.STUDY_UID.check(item.study_uid, required=True)
        series = [fields.SERIES_UID.check(s, required=True) for s in item.series_uids]
        pseudonym = fields.PSEUDONYM.check(item.pseudonym or options.pseudonym)
        patient_id = fields.PATIENT_ID.check(item.patient_id)
        tasks.append(
            Task(
                position=position,
                source_id=src.id,
                destination_id=dst.id,
                patient_id=patient_id,
                study_uid=study_uid,
                series_uids=list(dict.fromkeys(series)),
                pseudonym=pseudonym,
            )
        )
    job = Job(
        kind=kind.value,
        urgent=options.urgent,
        options={
            "source": src.name,
            "destination": dst.name,
            "pseudonym": options.pseudonym,
            "trial_protocol_id": options.trial_protocol_id,
            "trial_protocol_name": options.trial_protocol_name,
            **options.extra,
        },
    )
    session.add(job)
    session.flush()
    for task in tasks:
        task.job_id = job.id
    session.add_all(tasks)
    session.flush()
    defer_tasks(session, [t.id for t in tasks], priority=priority(kind, options.urgent))
    return job
