"""The transfer task: find what to fetch, stream it through pseudonymization to the destination.

Retrieval, pseudonymization and storing overlap: instances flow one by one through a
bounded pipeline, never a whole study on disk or in memory. What was expected (image-level
C-FIND/QIDO) is compared with what arrived and was stored; a task with anything missing is
never SUCCESS, and its log names the missing instances.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from pydicom import Dataset

from adit_core import registry, settings
from adit_core.burned_in import burned_in_reason
from adit_core.db.database import Database
from adit_core.db.models import DicomFolderRow, DicomServerRow, Job, Task
from adit_core.dicom import operations
from adit_core.dicom.errors import DicomCanceled, DicomError
from adit_core.dicom.instance import DicomInstance
from adit_core.dicom.query import Level, Query
from adit_core.dicom.server import DicomServer, LocalNode
from adit_core.folder_output import FolderError, FolderFull, TaskOutput
from adit_core.folders import instance_parts, job_folder_name
from adit_core.jobs import transitions
from adit_core.pseudonymize import PixelDataChanged, PseudonymizationOptions, Pseudonymizer
from adit_core.pseudonymize_pool import PseudonymizerPool
from adit_worker.cancel import CancelToken
from adit_worker.progress import ProgressReporter

log = logging.getLogger("adit.worker.transfer")

UNLIMITED = 10_000_000
PIPELINE_DEPTH = 16


class TaskFailed(Exception):
    """The task cannot succeed; `transient` says whether another attempt may help."""

    def __init__(self, message: str, *, transient: bool = False, details: list[str] | None = None):
        super().__init__(message.rstrip("."))
        self.transient = transient
        self.details = details or []  # for the task log: what is missing, what failed


class RunnerOptions(TypedDict, total=False):
    """How a worker runs transfers (`adit worker` options)."""

    store_associations: int  # parallel C-STORE associations (or STOW-RS connections)
    move_destination: operations.MoveDestination | None  # our receiver, for C-MOVE
    pseudonymizer_pool: PseudonymizerPool | None  # processes that pseudonymize


@dataclass
class Plan:
    study: Dataset  # the study-level result
    series_uids: list[str] | None  # None: the whole study
    chosen: list[str]  # the series that should arrive
    modalities: list[str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    patient_filter: str = ""  # the PatientID to query series and instances with
    # Retrieve instance by instance: servers cannot resolve a study (or its series) they
    # hold under two PatientIDs (Orthanc's WADO-RS answers 404).
    by_instance: bool = False
    studies: list[Any] = field(default_factory=list)  # study-level results (Datasets)


@dataclass
class Outcome:
    status: str
    message: str
    log: list[str]


@dataclass
class TransferContext:
    task: Task
    job: Job
    source: DicomServer
    destination: DicomServer | None
    folder: Path | None
    folder_name: str
    local: LocalNode
    secret: str
    exclude_modalities: set[str]
    burned_in_annotation: str = "warn"

    @classmethod
    def load(cls, db: Database, task_id: int) -> TransferContext:
        with db.session() as session:
            task = session.get(Task, task_id)
            assert task is not None
            job = session.get(Job, task.job_id)
            assert job is not None
            src = session.get(DicomServerRow, task.source_id)
            if src is None:
                raise TaskFailed("the source server was removed from the registry")
            dst_server = session.get(DicomServerRow, task.destination_id)
            dst_folder = session.get(DicomFolderRow, task.destination_id)
            if dst_server is None and dst_folder is None:
                raise TaskFailed("the destination was removed from the registry")
            current = settings.load(session)
            return cls(
                task=task,
                job=job,
                source=registry.to_dicom_server(src),
                destination=registry.to_dicom_server(dst_server) if dst_server else None,
                folder=Path(dst_folder.path) if dst_folder else None,
                folder_name=dst_folder.name if dst_folder else "",
                local=current.local_node,
                secret=current.secret,
                exclude_modalities=set(current.exclude_modalities),
                burned_in_annotation=current.burned_in_annotation,
            )


class TransferRunner:
    def __init__(
        self,
        db: Database,
        ctx: TransferContext,
        token: CancelToken,
        *,
        move_destination: operations.MoveDestination | None = None,
        store_associations: int = 2,
        pseudonymizer_pool: PseudonymizerPool | None = None,
    ):
        self.db = db
        self.ctx = ctx
        self.token = token
        self.move_destination = move_destination
        self.store_associations = store_associations
        self.pseudonymizer_pool = pseudonymizer_pool
        self.log: list[str] = []
        self.warnings: list[str] = []
        self.sop_classes: dict[str, set[str]] = {}  # series UID → SOP classes listed
        self.instances_by_series: dict[str, list[str]] = {}
        self.listed_patient_ids: set[str] = set()
        self.burned_in_sent: list[tuple[str, str]] = []  # (SOP Instance UID, why)
        self.burned_in_refused: list[tuple[str, str]] = []
        self.defects: list[tuple[str, str]] = []  # pixel data lost or changed: not sent

    # -- discovery ---------------------------------------------------------------------

    def plan(self) -> Plan:
        ctx = self.ctx
        task = ctx.task
        find = lambda q: operations.find(ctx.source, q, limit=UNLIMITED, local=ctx.local)  # noqa: E731
        # Asked without the PatientID: a study stored under several PatientIDs (it happens
        # with real data) shows them all, whatever path retrieves it afterwards.
        studies = find(Query(level=Level.STUDY, study_instance_uid=task.study_uid)).datasets
        if not studies and task.patient_id:  # patient-root servers need the PatientID
            studies = find(
                Query(
                    level=Level.STUDY, study_instance_uid=task.study_uid, patient_id=task.patient_id
                )
            ).datasets
        found_under = list(studies)
        warnings: list[str] = []
        patient_ids = list(dict.fromkeys(str(s.get("PatientID", "")) for s in studies))
        if studies and task.patient_id and task.patient_id not in patient_ids:
            warnings.append(
                f"Mismatching PatientIDs: the task names {task.patient_id!r}, "
                f"the source has {', '.join(repr(p) for p in patient_ids)} for this study."
            )
        mine = [s for s in studies if str(s.get("PatientID", "")) == task.patient_id]
        studies = mine or studies
        if not studies:
            raise TaskFailed(
                f"study {task.study_uid} was not found on {ctx.source.name}"
                + (f" for PatientID {task.patient_id}" if task.patient_id else "")
                + "; check the UID and the source server"
            )
        study = studies[0]
        # Under several PatientIDs the study is taken whole, whichever ID the task names.
        patient_filter = task.patient_id if len(patient_ids) <= 1 else ""
        series = find(
            Query(level=Level.SERIES, study_instance_uid=task.study_uid, patient_id=patient_filter)
        ).datasets
        by_uid = {str(s.SeriesInstanceUID): s for s in series}
        chosen = list(by_uid)
        subset = False
        if task.series_uids:
            subset = True
            missing = [uid for uid in task.series_uids if uid not in by_uid]
            chosen = [uid for uid in task.series_uids if uid in by_uid]
            if missing:
                warnings.append(f"Series not found on the source: {', '.join(missing)}")
            if not chosen:
                raise TaskFailed(f"none of the requested series exist in study {task.study_uid}")
        notes: list[str] = []
        if task.pseudonym and ctx.exclude_modalities:
            kept = [u for u in chosen if str(by_uid[u].get("Modality", "")).upper()
                    not in ctx.exclude_modalities]  # fmt: skip
            skipped = [u for u in chosen if u not in kept]
            if skipped:
                subset = True
                mods = ", ".join(sorted(ctx.exclude_modalities))
                notes.append(
                    f"Skipped {len(skipped)} series of excluded modalities ({mods}) "
                    "because the transfer is pseudonymized."
                )
            chosen = kept
        modalities = sorted({str(by_uid[u].get("Modality", "")) for u in chosen} - {""})
        return Plan(
            study=study,
            series_uids=chosen if subset else None,
            chosen=chosen,
            modalities=modalities,
            notes=notes,
            warnings=warnings,
            patient_filter=patient_filter,
            studies=found_under,
        )

    # -- the pipeline -------------------------------------------------------------------

    def list_expected(self, plan: Plan) -> set[str]:
        """The SOP Instance UIDs the source lists for the chosen series (image-level find).

        Also notes the SOP classes of each series, which C-GET needs to propose one
        presentation context per transfer syntax for them.
        """
        ctx, task = self.ctx, self.ctx.task
        expected: set[str] = set()
        for uid in plan.chosen:
            query = Query(
                level=Level.IMAGE,
                study_instance_uid=task.study_uid,
                series_instance_uid=uid,
                patient_id=plan.patient_filter,
                extra_keys=("PatientID",),
            )
            images = operations.find(
                ctx.source, query, limit=UNLIMITED, local=ctx.local, cancel=self.token.event
            )
            self.listed_patient_ids.update(str(i.get("PatientID", "") or "") for i in images)
            expected |= {str(i.SOPInstanceUID) for i in images}
            self.instances_by_series[uid] = [str(i.SOPInstanceUID) for i in images]
            classes = {str(i.get("SOPClassUID", "") or "") for i in images} - {""}
            self.sop_classes[uid] = classes
        self._set_expected(len(expected))
        return expected

    def run(self, progress: ProgressReporter) -> Outcome:
        ctx = self.ctx
        plan = self.plan()
        self.log += plan.notes + plan.warnings
        self.warnings = list(plan.warnings)
        if not plan.chosen:
            self._set_expected(0)
            return Outcome("SUCCESS", "Nothing to transfer after exclusions.", self.log)
        paths = operations.retrieve_paths(ctx.source, can_move=self.move_destination is not None)
        # A folder destination gets the study only once it is complete: files go to the
        # task's .incomplete folder first and are discarded on every other way out.
        output = self._folder_output() if ctx.folder is not None else None
        try:
            if plan.by_instance or (paths and paths[0] is operations.RetrievePath.C_GET):
                # C-GET needs the SOP classes before it associates, and a retrieval instance
                # by instance needs the instances: list first.
                expected = self.list_expected(plan)
                received, failures, retrieve_error = self._transfer(plan, progress, output)
            else:
                # Listing every instance takes about a second per 600; it runs beside the
                # transfer and is only needed to judge completeness at the end.
                with concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="expected"
                ) as pool:
                    expected_future = pool.submit(self.list_expected, plan)
                    received, failures, retrieve_error = self._transfer(plan, progress, output)
                    expected = expected_future.result()
            if self.token.stopped:
                raise DicomCanceled(ctx.source.name, "transfer", "canceled")
            patient_ids = self._patient_ids(plan)
            if len(patient_ids) > 1:
                text = (
                    f"The study is stored under more than one PatientID on {ctx.source.name}: "
                    + ", ".join(repr(p) for p in patient_ids)
                    + "."
                )
                if text not in self.warnings:
                    self.warnings.append(text)
                    self.log.append(text)
                missing = expected - received
                if missing and paths and paths[0] is operations.RetrievePath.WADO_RS:
                    # Servers cannot resolve such a study at study or series level (Orthanc's
                    # WADO-RS answers 404): ask for what is missing instance by instance.
                    plan.by_instance = True
                    self.instances_by_series = {
                        series: [u for u in uids if u in missing]
                        for series, uids in self.instances_by_series.items()
                    }
                    more, more_failures, retrieve_error = self._transfer(plan, progress, output)
                    received |= more
                    failures += more_failures
            outcome = self._judge(expected, received, failures, retrieve_error)
            if output is not None:
                output.publish()
            return outcome
        except FolderError as exc:
            raise self._folder_failed(exc, output) from None
        finally:
            if output is not None:
                output.discard()

    def _folder_output(self) -> TaskOutput:
        ctx = self.ctx
        assert ctx.folder is not None
        job = ctx.job
        job_dir = job_folder_name(job.kind, job.id, job.created_at, job.owner)
        output = TaskOutput(ctx.folder, ctx.folder_name, job_dir, ctx.task.id)
        try:
            output.open()
        except FolderError as exc:
            raise self._folder_failed(exc, None) from None
        return output

    def _folder_failed(self, exc: FolderError, output: TaskOutput | None) -> TaskFailed:
        written = len(output.written) if output is not None else 0
        removed = f"; the {written} instances written so far were removed" if written else ""
        if exc.transient:
            return TaskFailed(f"{exc}{removed}", transient=True)
        fix = "free space there" if isinstance(exc, FolderFull) else "fix that"
        return TaskFailed(f"{exc}{removed}. {fix.capitalize()}, then run `adit jobs retry`")

    def _patient_ids(self, plan: Plan) -> list[str]:
        """Every PatientID the study was found under (study and instance level)."""
        found = [str(s.get("PatientID", "") or "") for s in plan.studies]
        found += sorted(self.listed_patient_ids)
        return [p for p in dict.fromkeys(found) if p]

    def _transfer(
        self, plan: Plan, progress: ProgressReporter, output: TaskOutput | None
    ) -> tuple[set[str], list[tuple[str, str]], DicomError | None]:
        ctx = self.ctx
        received: set[str] = set()
        instances = operations.retrieve(
            ctx.source,
            ctx.task.study_uid,
            series_uids=plan.series_uids,
            patient_id=ctx.task.patient_id or None,
            local=ctx.local,
            cancel=self.token.event,
            move_destination=self.move_destination,
            sop_classes=self.sop_classes or None,
            instance_uids=self.instances_by_series if plan.by_instance else None,
        )
        retrieve_error: DicomError | None = None
        pseudonymized = bool(ctx.task.pseudonym)
        sent: collections.deque[tuple[str, int]] = collections.deque()

        def source_stream() -> Iterator[DicomInstance]:
            nonlocal retrieve_error
            try:
                for instance in instances:
                    if self.token.stopped:
                        raise DicomCanceled(ctx.source.name, "retrieve", "canceled")
                    if instance.sop_instance_uid in received:
                        continue  # sent twice by the source (e.g. under two PatientIDs)
                    received.add(instance.sop_instance_uid)
                    if pseudonymized and not self._burned_in_allowed(instance):
                        continue
                    if pseudonymized:
                        sent.append((instance.sop_instance_uid, instance.pixel_data_size()))
                    yield instance
            except DicomCanceled:
                raise
            except DicomError as exc:
                # Keep what arrived flowing to the destination; judge completeness after.
                retrieve_error = exc
            finally:
                close = getattr(instances, "close", None)
                if close is not None:
                    close()

        stream: Iterator[DicomInstance] = source_stream()
        if pseudonymized:
            stream = self._checked(self._pseudonymized(stream), sent, progress)
        if output is not None:
            failures = self._to_folder(stream, plan, progress, output)
        else:
            assert ctx.destination is not None
            failures = self._to_server(stream, progress)
        return received, failures, retrieve_error

    def _burned_in_allowed(self, instance: DicomInstance) -> bool:
        """Apply the burned_in_annotation setting; False: leave the instance out."""
        policy = self.ctx.burned_in_annotation
        if policy == "allow":
            return True
        reason = burned_in_reason(instance.header())
        if reason is None:
            return True
        entry = (instance.sop_instance_uid, reason)
        if policy == "refuse":
            self.burned_in_refused.append(entry)
            return False
        self.burned_in_sent.append(entry)
        return True

    def _checked(
        self,
        stream: Iterator[DicomInstance | PixelDataChanged],
        sent: collections.deque[tuple[str, int]],
        progress: ProgressReporter,
    ) -> Iterator[DicomInstance]:
        """Pass on what pseudonymization produced, holding back any instance whose pixel
        data it lost or changed (a defect: the task fails naming it)."""
        for item in stream:
            source_uid, size = sent.popleft()
            if isinstance(item, PixelDataChanged):
                self.defects.append((source_uid, str(item)))
                progress.add(failed=1)
                continue
            out_size = item.pixel_data_size()
            if out_size != size:
                self.defects.append(
                    (source_uid, f"pixel data changed: {size} bytes before, {out_size} after")
                )
                progress.add(failed=1)
                continue
            yield item

    def _pseudonymized(
        self, stream: Iterator[DicomInstance]
    ) -> Iterator[DicomInstance | PixelDataChanged]:
        task, job = self.ctx.task, self.ctx.job
        options = PseudonymizationOptions(
            pseudonym=task.pseudonym,
            trial_protocol_id=str(job.options.get("trial_protocol_id", "")),
            trial_protocol_name=str(job.options.get("trial_protocol_name", "")),
            shift_times=bool(job.options.get("shift_times", False)),
        )
        if self.pseudonymizer_pool is not None:
            return self.pseudonymizer_pool.map(self.ctx.secret, options, stream)
        pseudonymizer = Pseudonymizer(self.ctx.secret, options)

        def one(instance: DicomInstance) -> DicomInstance | PixelDataChanged:
            try:
                return pseudonymizer.instance(instance)
            except PixelDataChanged as error:
                return error

        return (one(instance) for instance in stream)

    def _to_server(
        self, stream: Iterator[DicomInstance], progress: ProgressReporter
    ) -> list[tuple[str, str]]:
        assert self.ctx.destination is not None

        def counted() -> Iterator[DicomInstance]:
            for instance in _prefetch(stream, PIPELINE_DEPTH, self.token):
                yield instance
                progress.add(done=1, nbytes=instance.size)

        result = operations.store(
            self.ctx.destination,
            counted(),
            local=self.ctx.local,
            associations=self.store_associations,
            cancel=self.token.event,
        )
        failed = [(str(uid), str(reason)) for uid, reason in result.failed]
        if failed:
            progress.add(done=-len(failed), failed=len(failed))
        return failed

    def _to_folder(
        self,
        stream: Iterator[DicomInstance],
        plan: Plan,
        progress: ProgressReporter,
        output: TaskOutput,
    ) -> list[tuple[str, str]]:
        """Write into the task's staging folder. A write that fails stops the transfer: the
        next one would fail the same way (full disk, lost mount, permissions)."""
        task = self.ctx.task
        patient = task.pseudonym or task.patient_id or str(plan.study.get("PatientID", ""))
        for instance in _prefetch(stream, PIPELINE_DEPTH, self.token):
            ds = instance.header()  # the path needs a few header values, not the pixels
            output.write(instance_parts(patient, ds, plan.modalities), instance.data)
            progress.add(done=1, nbytes=instance.size)
        return []

    def _judge(
        self,
        expected: set[str],
        received: set[str],
        failures: list[tuple[str, str]],
        retrieve_error: DicomError | None,
    ) -> Outcome:
        missing = sorted(expected - received)
        unexpected = received - expected
        refused = self.burned_in_refused
        stored = len(received) - len(failures) - len(self.defects) - len(refused)
        lines = list(self.log)
        warnings = list(self.warnings)
        if retrieve_error is not None:
            lines.append(f"Retrieval ended with an error: {retrieve_error}")
        if unexpected:
            lines.append(
                f"{len(unexpected)} instances arrived that the source did not list when "
                "queried (added meanwhile?); they were transferred too."
            )
        if self.burned_in_sent:
            text = (
                f"{len(self.burned_in_sent)} instances may show identifying text burned into "
                "their pixels; they were transferred (setting burned_in_annotation=warn)."
            )
            warnings.append(text)
            lines.append(text)
            lines += [f"  {uid}: {reason}" for uid, reason in self.burned_in_sent]
        if refused:
            text = (
                f"{len(refused)} instances were not transferred because they may show "
                "identifying text burned into their pixels (setting "
                "burned_in_annotation=refuse)."
            )
            warnings.append(text)
            lines.append(text)
            lines += [f"  {uid}: {reason}" for uid, reason in refused]
        if self.defects:
            lines.append(
                f"{len(self.defects)} instances were not sent because pseudonymizing them "
                "would lose or change their pixel data (a defect; please report it):"
            )
            lines += [f"  {uid}: {reason}" for uid, reason in self.defects]
        if failures:
            lines.append(
                f"{len(failures)} instances could not be stored (the destination's answer):"
            )
            lines += [f"  {uid}: {reason}" for uid, reason in failures]
        if missing:
            lines.append(f"{len(missing)} of {len(expected)} expected instances did not arrive:")
            lines += [f"  {uid}" for uid in missing]
        if self.defects:
            raise TaskFailed(
                f"{len(self.defects)} instances would have lost or changed pixel data and "
                f"were not sent; {stored} of {len(expected)} transferred",
                details=lines,
            )
        if missing or failures:
            summary = (
                f"{stored} of {len(expected)} instances transferred; "
                f"{len(missing)} missing, {len(failures)} not stored."
            )
            # Losses are often transient (busy archive, network); the caller retries
            # while attempts remain and fails the task after that.
            raise TaskFailed(summary, transient=True, details=lines) from retrieve_error
        if retrieve_error is not None and not received:
            raise retrieve_error
        message = f"{stored} instances transferred."
        if warnings:
            return Outcome("WARNING", message + " " + " ".join(warnings), lines)
        return Outcome("SUCCESS", message, lines)

    def _set_expected(self, count: int) -> None:
        with self.db.session() as session:
            transitions.record_expected(session, self.ctx.task.id, count)


def _prefetch(
    stream: Iterator[DicomInstance], depth: int, token: CancelToken
) -> Iterator[DicomInstance]:
    """Run the producer (retrieve + pseudonymize) in its own thread, `depth` instances ahead."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    done = object()
    error: list[BaseException] = []
    consumer_gone = threading.Event()

    def stopping() -> bool:
        return token.stopped or consumer_gone.is_set()

    def put(item: object) -> bool:
        while not stopping():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in stream:
                if not put(item):
                    break
        except BaseException as exc:
            error.append(exc)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            put(done)

    thread = threading.Thread(target=produce, name="transfer-producer", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = q.get(timeout=0.2)
            except queue.Empty:
                if not thread.is_alive() and q.empty():
                    break
                continue
            if item is done:
                break
            yield item  # type: ignore[misc]
    finally:
        consumer_gone.set()
        thread.join(timeout=60)
    if error:
        raise error[0]
