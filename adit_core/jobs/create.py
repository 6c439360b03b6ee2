"""Creating jobs: rows and queue entries in one transaction, in plain SQL (see `db.sql`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from psycopg.types.json import Jsonb

from adit_core.db import sql
from adit_core.dicom.server import DicomServer
from adit_core.jobs.errors import JobError
from adit_core.jobs.queue import defer_tasks
from adit_core.jobs.status import JobKind, priority

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable

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


@dataclass(frozen=True)
class Node:
    """A registered server (with its address and capabilities) or folder."""

    id: int
    name: str
    kind: str  # "server" or "folder"
    server: DicomServer | None


_SERVER_FIELDS = [f.name for f in fields(DicomServer) if f.name != "name"]


def resolve_node(
    session: Connectable, name: str, role: str, what: str = "server or folder"
) -> Node:
    found = sql.row(
        session,
        "SELECT n.id, n.name, n.kind, s.* FROM dicom_nodes n "
        "LEFT JOIN dicom_servers s ON s.node_id = n.id WHERE n.name = %s",
        (name,),
    )
    if found is None:
        names = sql.rows(session, "SELECT name FROM dicom_nodes ORDER BY name")
        known = ", ".join(r["name"] for r in names) or "none"
        raise JobError(f"no {what} named {name!r} for the {role} (known: {known})")
    server = None
    if found["kind"] == "server":
        server = DicomServer(name=found["name"], **{f: found[f] for f in _SERVER_FIELDS})
    return Node(found["id"], found["name"], found["kind"], server)


def resolve_source(session: Connectable, name: str) -> Node:
    node = resolve_node(session, name, "source")
    server = node.server
    if server is None:
        raise JobError(f"{name!r} is a folder; a source must be a DICOM server")
    if not (server.supports_get or server.supports_move or server.dicomweb_wado):
        raise JobError(f"server {name!r} offers no way to retrieve (C-GET, C-MOVE or WADO-RS)")
    return node


def resolve_destination(session: Connectable, name: str) -> Node:
    node = resolve_node(session, name, "destination")
    server = node.server
    if server is not None and not (server.store or server.dicomweb_stow):
        raise JobError(f"server {name!r} accepts no data (neither C-STORE nor STOW-RS)")
    return node


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
    src = resolve_source(session, source)
    dst = resolve_destination(session, destination)
    if src.id == dst.id:
        raise JobError("source and destination are the same server")
    study_uids, patient_ids, pseudonyms, series = [], [], [], []
    for item in items:
        study_uids.append(check_uid(item.study_uid, "StudyInstanceUID"))
        unique = dict.fromkeys(check_uid(s, "SeriesInstanceUID") for s in item.series_uids)
        # Arrays of arrays do not unnest; UIDs hold no commas, so a comma joins them.
        series.append(",".join(unique))
        pseudonyms.append(check_text(item.pseudonym or options.pseudonym, "the pseudonym"))
        patient_ids.append(check_text(item.patient_id, "the PatientID"))
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
