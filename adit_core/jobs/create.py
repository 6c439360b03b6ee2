"""Creating jobs: rows and queue entries in one transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from adit_core import registry
from adit_core.db.models import DicomFolderRow, DicomNode, DicomServerRow, Job, Task
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import defer_tasks
from adit_core.jobs.status import JobKind, priority

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_FORBIDDEN = re.compile(r"[\\\x00-\x1f\x7f]")


def check_uid(uid: str, what: str = "UID") -> str:
    uid = uid.strip()
    if not uid or len(uid) > 64 or not _UID.match(uid):
        raise JobError(f"invalid {what} {uid!r}: digits and dots, at most 64 characters")
    return uid


def check_text(value: str, what: str, max_length: int = 64) -> str:
    value = value.strip()
    if len(value) > max_length:
        raise JobError(f"{what} is longer than {max_length} characters")
    if _FORBIDDEN.search(value):
        raise JobError(f"{what} must not contain backslashes or control characters")
    return value


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
        self.pseudonym = check_text(self.pseudonym, "the pseudonym")
        self.trial_protocol_id = check_text(self.trial_protocol_id, "the trial protocol ID")
        self.trial_protocol_name = check_text(self.trial_protocol_name, "the trial protocol name")
        return self


def _node(session: Session, name: str, role: str) -> DicomNode:
    node = session.scalar(select(DicomNode).where(DicomNode.name == name))
    if node is None:
        known = (
            ", ".join(session.scalars(select(DicomNode.name).order_by(DicomNode.name))) or "none"
        )
        raise JobError(f"no server or folder named {name!r} for the {role} (known: {known})")
    return node


def resolve_source(session: Session, name: str) -> DicomServerRow:
    node = _node(session, name, "source")
    if not isinstance(node, DicomServerRow):
        raise JobError(f"{name!r} is a folder; a source must be a DICOM server")
    server = registry.to_dicom_server(node)
    if not (server.supports_get or server.supports_move or server.dicomweb_wado):
        raise JobError(f"server {name!r} offers no way to retrieve (C-GET, C-MOVE or WADO-RS)")
    return node


def resolve_destination(session: Session, name: str) -> DicomNode:
    node = _node(session, name, "destination")
    if isinstance(node, DicomServerRow):
        server = registry.to_dicom_server(node)
        if not (server.store or server.dicomweb_stow):
            raise JobError(f"server {name!r} accepts no data (neither C-STORE nor STOW-RS)")
    elif not isinstance(node, DicomFolderRow):
        raise JobError(f"{name!r} cannot be a destination")
    return node


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
    src = resolve_source(session, source)
    dst = resolve_destination(session, destination)
    if src.id == dst.id:
        raise JobError("source and destination are the same server")
    tasks = []
    for position, item in enumerate(items):
        study_uid = check_uid(item.study_uid, "StudyInstanceUID")
        series = [check_uid(s, "SeriesInstanceUID") for s in item.series_uids]
        pseudonym = check_text(item.pseudonym or options.pseudonym, "the pseudonym")
        patient_id = check_text(item.patient_id, "the PatientID")
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
