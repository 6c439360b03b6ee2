"""SQLAlchemy models of the application tables (the schema itself lives in schema/).

DICOM servers and folders share one `dicom_nodes` table (joined inheritance), so jobs
and tasks can point at "a source" or "a destination" with one foreign key, and a name
identifies a node whatever its kind.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DicomNode(Base):
    __tablename__ = "dicom_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "node"}


class DicomServerRow(DicomNode):
    __tablename__ = "dicom_servers"

    node_id: Mapped[int] = mapped_column(
        ForeignKey("dicom_nodes.id", ondelete="CASCADE"), primary_key=True
    )
    ae_title: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(Text)
    port: Mapped[int] = mapped_column(Integer)
    patient_root_find: Mapped[bool] = mapped_column(Boolean, default=False)
    patient_root_get: Mapped[bool] = mapped_column(Boolean, default=False)
    patient_root_move: Mapped[bool] = mapped_column(Boolean, default=False)
    study_root_find: Mapped[bool] = mapped_column(Boolean, default=False)
    study_root_get: Mapped[bool] = mapped_column(Boolean, default=False)
    study_root_move: Mapped[bool] = mapped_column(Boolean, default=False)
    store: Mapped[bool] = mapped_column(Boolean, default=False)
    dicomweb_root_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    dicomweb_qido: Mapped[bool] = mapped_column(Boolean, default=False)
    dicomweb_wado: Mapped[bool] = mapped_column(Boolean, default=False)
    dicomweb_stow: Mapped[bool] = mapped_column(Boolean, default=False)
    qido_prefix: Mapped[str] = mapped_column(Text, default="")
    wado_prefix: Mapped[str] = mapped_column(Text, default="")
    stow_prefix: Mapped[str] = mapped_column(Text, default="")
    authorization_header: Mapped[str | None] = mapped_column(Text, nullable=True)
    max_search_results: Mapped[int] = mapped_column(Integer, default=200)

    __mapper_args__ = {"polymorphic_identity": "server"}


class DicomFolderRow(DicomNode):
    __tablename__ = "dicom_folders"

    node_id: Mapped[int] = mapped_column(
        ForeignKey("dicom_nodes.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(Text)
    quota_gb: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)
    warn_size_gb: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)

    __mapper_args__ = {"polymorphic_identity": "folder"}


class Setting(Base):
    """Deployment-wide settings, one row per key (values as text)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# procrastinate's queue (its own SQL creates it); declared here only so that
# tasks.queued_job_id can name its foreign key.
procrastinate_jobs = Table(
    "procrastinate_jobs", Base.metadata, Column("id", BigInteger, primary_key=True)
)


class Job(Base):
    """A unit of user intent (a transfer, a batch); its status is derived from its tasks."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("jobs_owner_created", "owner", text("created_at DESC")),
        Index("jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text, server_default=text("current_user"))
    status: Mapped[str] = mapped_column(Text, server_default="PENDING")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Task(Base):
    """One study (or some of its series) to move, with its progress and log."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("tasks_job_status", "job_id", "status"),
        Index("tasks_job_position", "job_id", "position", "id"),
        Index("tasks_queued_job", "queued_job_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A server or folder that tasks name cannot be removed (registry.remove_node says so).
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("dicom_nodes.id", ondelete="RESTRICT"), nullable=True
    )
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("dicom_nodes.id", ondelete="RESTRICT"), nullable=True
    )
    patient_id: Mapped[str] = mapped_column(Text, default="")
    study_uid: Mapped[str] = mapped_column(Text, default="")
    series_uids: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    pseudonym: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(Text, server_default="PENDING")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    log: Mapped[str] = mapped_column(Text, default="")
    instances_expected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instances_done: Mapped[int] = mapped_column(Integer, default=0)
    instances_failed: Mapped[int] = mapped_column(Integer, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    queued_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("procrastinate_jobs.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BatchQueryTask(Base):
    """The query of one batch query task (one line of the file)."""

    __tablename__ = "batch_query_tasks"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[str] = mapped_column(Text, default="")
    patient_name: Mapped[str] = mapped_column(Text, default="")
    patient_birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    accession_number: Mapped[str] = mapped_column(Text, default="")
    study_date_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    study_date_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    modalities: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    study_description: Mapped[str] = mapped_column(Text, default="")
    series_description: Mapped[str] = mapped_column(Text, default="")
    series_numbers: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    pseudonym: Mapped[str] = mapped_column(Text, default="")


class BatchQueryResult(Base):
    """One study (or series) a batch query task found; DICOM values as the source sent them."""

    __tablename__ = "batch_query_results"
    __table_args__ = (Index("batch_query_results_task", "task_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[str] = mapped_column(Text, default="")
    patient_name: Mapped[str] = mapped_column(Text, default="")
    patient_birth_date: Mapped[str] = mapped_column(Text, default="")
    modalities_in_study: Mapped[str] = mapped_column(Text, default="")
    study_date: Mapped[str] = mapped_column(Text, default="")
    study_time: Mapped[str] = mapped_column(Text, default="")
    study_description: Mapped[str] = mapped_column(Text, default="")
    number_of_study_related_instances: Mapped[int | None] = mapped_column(Integer, nullable=True)
    accession_number: Mapped[str] = mapped_column(Text, default="")
    study_instance_uid: Mapped[str] = mapped_column(Text)
    series_instance_uid: Mapped[str] = mapped_column(Text, default="")
    series_description: Mapped[str] = mapped_column(Text, default="")
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)


class BatchTransferTask(Base):
    """Which lines of the batch transfer file a task (one study) came from."""

    __tablename__ = "batch_transfer_tasks"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    lines: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class MoveRequest(Base):
    """A C-MOVE a worker is about to send: the receiver files what arrives under it."""

    __tablename__ = "move_requests"
    __table_args__ = (
        Index("move_requests_open", "study_uid", postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True
    )
    source_ae: Mapped[str] = mapped_column(Text)
    study_uid: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int] = mapped_column(Integer)  # 1-65535: the C-MOVE's Message ID
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Arrival(Base):
    """One instance the receiver wrote durably (under a move request, or quarantined)."""

    __tablename__ = "arrivals"
    __table_args__ = (Index("arrivals_request", "move_request_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    move_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("move_requests.id", ondelete="CASCADE"), nullable=True
    )
    calling_ae: Mapped[str] = mapped_column(Text, server_default="")
    study_uid: Mapped[str] = mapped_column(Text, server_default="")
    series_uid: Mapped[str] = mapped_column(Text, server_default="")
    sop_instance_uid: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    quarantined: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
