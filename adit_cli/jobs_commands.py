"""`adit transfer` and `adit jobs ...`: creating, watching and controlling jobs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from adit_cli.context import CliContext, info, pass_context
from adit_cli.options import JOB_ID, Seconds
from adit_core import limits
from adit_core.jobs import control
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.errors import JobError
from adit_core.jobs.read import JobSummary, job_summary, job_tasks, list_jobs
from adit_core.jobs.status import FINAL, Status


@click.command()
@click.option("--source", "-s", required=True, help="Server to fetch from.")
@click.option("--destination", "-d", required=True, help="Server or folder to send to.")
@click.option("--study", "study_uid", required=True, help="StudyInstanceUID.")
@click.option("--series", "series_uids", multiple=True, help="SeriesInstanceUID (repeatable).")
@click.option("--patient-id", default="", help="PatientID (needed by patient-root servers).")
@click.option("--pseudonym", default="", help="Pseudonymize with this pseudonym.")
@click.option("--trial-protocol-id", default="", help="ClinicalTrialProtocolID to set.")
@click.option("--trial-protocol-name", default="", help="ClinicalTrialProtocolName to set.")
@click.option("--urgent", is_flag=True, help="Run before normal work.")
@pass_context
def transfer(
    state: CliContext,
    source: str,
    destination: str,
    study_uid: str,
    series_uids: tuple[str, ...],
    patient_id: str,
    pseudonym: str,
    trial_protocol_id: str,
    trial_protocol_name: str,
    urgent: bool,
) -> None:
    """Queue a transfer of one study (or some of its series); prints the job id."""
    with state.session() as session:
        job = create_transfer_job(
            session,
            source=source,
            destination=destination,
            items=[
                TransferItem(study_uid=study_uid, patient_id=patient_id, series_uids=series_uids)
            ],
            options=TransferOptions(
                pseudonym=pseudonym,
                trial_protocol_id=trial_protocol_id,
                trial_protocol_name=trial_protocol_name,
                urgent=urgent,
            ),
        )
        job_id = job.id
    click.echo(job_id)
    how = f"pseudonymized as {pseudonym}" if pseudonym else "not pseudonymized"
    info(f"queued job {job_id}: {source} → {destination}, {how}")


@click.group()
def jobs() -> None:
    """List, inspect, wait for and control jobs."""


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _progress(s: JobSummary) -> str:
    expected = f"/{s.instances_expected}" if s.instances_expected else ""
    return (
        f"tasks {s.tasks_done}/{s.tasks_total}, instances {s.instances_done}{expected}, "
        f"{_fmt_bytes(s.bytes_done)}"
    )


@jobs.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--status", "statuses", multiple=True, type=click.Choice([s.value for s in Status]))
@click.option("--all", "everyone", is_flag=True, help="Jobs of every user, not only yours.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@pass_context
def list_(
    state: CliContext, as_json: bool, statuses: tuple[str, ...], everyone: bool, limit: int
) -> None:
    """List jobs, newest first."""
    with state.session() as session:
        owner = (
            None
            if everyone
            else session.connection().exec_driver_sql("SELECT current_user").scalar()
        )
        rows = list_jobs(session, owner=owner, statuses=list(statuses) or None, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    if not rows:
        info("no jobs")
        return
    for r in rows:
        created = r.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{r.id:>6}  {r.status:<11}  {created}  {r.kind:<18}  {r.source} → {r.destination}  "
            f"{_progress(r)}{'  URGENT' if r.urgent else ''}"
        )


@jobs.command()
@click.argument("job_id", type=JOB_ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (job with its tasks).")
@click.option("--logs", is_flag=True, help="Include each task's log.")
@pass_context
def show(state: CliContext, job_id: int, as_json: bool, logs: bool) -> None:
    """Show a job: status, tasks, counters and messages."""
    with state.session() as session:
        summary = job_summary(session, job_id)
        tasks = job_tasks(session, job_id)
        options = control.get_job(session, job_id).options
    if as_json:
        data = summary.as_json()
        data["options"] = options
        data["tasks"] = [t.as_json() for t in tasks]
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"job {summary.id}  {summary.status}  {summary.kind}  owner {summary.owner}")
    click.echo(f"  {summary.source} → {summary.destination}   {_progress(summary)}")
    if options.get("pseudonym"):
        click.echo(f"  pseudonym {options['pseudonym']}")
    if summary.message:
        click.echo(f"  {summary.message}")
    for t in tasks:
        expected = f"/{t.instances_expected}" if t.instances_expected is not None else ""
        series = f" ({len(t.series_uids)} series)" if t.series_uids else ""
        click.echo(
            f"  task {t.id}  {t.status:<11} study {t.study_uid}{series}  "
            f"{t.instances_done}{expected} instances  attempts {t.attempts}"
        )
        if t.message:
            click.echo(f"      {t.message}")
        if logs and t.log:
            for line in t.log.splitlines():
                click.echo(f"      | {line}")


@jobs.command()
@click.argument("job_id", type=JOB_ID)
@click.option(
    "--timeout",
    type=Seconds(limits.WAIT_SECONDS_MAX),
    default=None,
    help="Give up after this many seconds (exit 2).",
)
@pass_context
def wait(state: CliContext, job_id: int, timeout: float | None) -> None:
    """Wait until a job ends: exit 0 on SUCCESS, 1 on WARNING/FAILURE/CANCELED, 2 on timeout."""
    from adit_core.events import wait_until

    with state.session() as session:
        job_summary(session, job_id)  # fails early for an unknown job
    last: list[str] = []

    def finished() -> bool:
        with state.db.session() as session:
            summary = job_summary(session, job_id)
        line = f"job {job_id}: {summary.status}, {_progress(summary)}"
        if not last or last[-1] != line:
            last.append(line)
            info(line)
        return Status(summary.status) in FINAL

    if not wait_until(state.db.url, finished, timeout=timeout):
        info(f"job {job_id} did not finish within {timeout:g} s")
        sys.exit(2)
    with state.db.session() as session:
        summary = job_summary(session, job_id)
    if summary.message:
        info(summary.message)
    sys.exit(0 if summary.status == Status.SUCCESS else 1)


@jobs.command()
@click.argument("job_id", type=JOB_ID)
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def export(state: CliContext, job_id: int, out: Path | None) -> None:
    """Write a batch query job's results to OUT (.xlsx or .csv).

    Every line of the query file appears: its studies (or series), or one line saying why
    it failed or found nothing (columns Status and Error). The file works as a batch
    transfer file as it is. OUT defaults to batch_query_job_<ID>_results.xlsx.
    """
    from adit_core.batch import default_export_name, export_results

    path = out or Path(default_export_name(job_id))
    with state.session() as session:
        summary = export_results(session, job_id, path)
    info(f"wrote {summary.rows} rows to {summary.path}")
    if summary.tasks_failed:
        info(f"{summary.tasks_failed} lines of the query failed; see the Error column")
    if summary.tasks_unfinished:
        info(
            f"job {job_id} has {summary.tasks_unfinished} lines still to run; "
            "export again when it has finished"
        )


def _action(name: str, doc: str) -> click.Command:
    @jobs.command(name=name, help=doc)
    @click.argument("job_id", type=JOB_ID)
    @pass_context
    def command(state: CliContext, job_id: int) -> None:
        with state.session() as session:
            result = getattr(control, name)(session, job_id)
        if name == "cancel":
            info(f"job {job_id}: {result.status}")
        elif name == "delete":
            info(f"job {job_id} deleted")
        else:
            info(f"job {job_id}: {result} tasks queued again")

    return command


_action("cancel", "Cancel a job: queued tasks are dropped, running ones stop within seconds.")
_action("resume", "Resume a canceled job: its canceled tasks are queued again.")
_action("retry", "Retry the failed tasks of a finished job.")
_action("restart", "Run every task of a finished job again.")
_action("delete", "Delete a job that has not started yet.")

__all__ = ["JobError", "jobs", "transfer"]
