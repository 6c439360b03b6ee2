"""`adit transfer` and `adit jobs ...`: creating, watching and controlling jobs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from adit_cli.context import CliContext, info, pass_context
from adit_cli.options import JOB_ID, Seconds
from adit_core import limits
from adit_core.jobs.actions import JOB_ACTIONS, JobAction
from adit_core.jobs.read import JobSummary, job_options, job_summary, job_tasks, list_jobs
from adit_core.jobs.status import FINAL, Status

if TYPE_CHECKING:
    import psycopg

F = TypeVar("F", bound=Callable[..., object])


def wait_options(f: F) -> F:
    """`--wait` and `--timeout` for the commands that create a job."""
    f = click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=None,
        help="With --wait: give up after this many seconds (exit 2).",
    )(f)
    f = click.option(
        "--wait",
        is_flag=True,
        help="Print the job id, then wait like `adit jobs wait` and exit with its status.",
    )(f)
    return f


def check_wait(wait: bool, timeout: float | None) -> None:
    """Refuse --timeout without --wait before anything is queued."""
    if timeout is not None and not wait:
        raise click.UsageError("--timeout only applies with --wait")


def print_job_id(job_id: int) -> None:
    """The job id alone on stdout, flushed at once (a script may read it while we wait)."""
    click.echo(job_id)
    sys.stdout.flush()


@click.command()
@click.option("--source", "-s", required=True, help="Server to fetch from.")
@click.option("--destination", "-d", required=True, help="Server or folder to send to.")
@click.option("--study", "study_uid", required=True, help="StudyInstanceUID.")
@click.option("--series", "series_uids", multiple=True, help="SeriesInstanceUID (repeatable).")
@click.option("--patient-id", default="", help="PatientID (needed by patient-root servers).")
@click.option("--pseudonym", default="", help="Pseudonymize with this pseudonym.")
@click.option("--trial-protocol-id", default="", help="ClinicalTrialProtocolID to set.")
@click.option("--trial-protocol-name", default="", help="ClinicalTrialProtocolName to set.")
@click.option(
    "--shift-times",
    is_flag=True,
    help="When pseudonymizing, move times of day too (whole hours, within their day; "
    "dates always move by whole days).",
)
@click.option("--urgent", is_flag=True, help="Run before normal work.")
@wait_options
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
    shift_times: bool,
    urgent: bool,
    wait: bool,
    timeout: float | None,
) -> None:
    """Queue a transfer of one study (or some of its series); prints the job id.

    With --wait, waits for the job to end: exit 0 on SUCCESS, 1 on WARNING, FAILURE or
    CANCELED, 2 when --timeout passes first (the job goes on).
    """
    from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job

    check_wait(wait, timeout)
    with state.connection() as conn:
        job = create_transfer_job(
            conn,
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
                extra={"shift_times": True} if shift_times else {},
            ),
        )
    print_job_id(job.id)
    how = f"pseudonymized as {pseudonym}" if pseudonym else "not pseudonymized"
    info(f"queued job {job.id}: {source} → {destination}, {how}")
    if wait:
        wait_for_job(state, job.id, timeout)


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


def _current_user(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


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
    with state.connection() as conn:
        owner = None if everyone else _current_user(conn)
        rows = list_jobs(conn, owner=owner, statuses=list(statuses) or None, limit=limit)
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
    with state.connection() as conn:
        summary = job_summary(conn, job_id)
        tasks = job_tasks(conn, job_id)
        options = job_options(conn, job_id)
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
    with state.connection() as conn:
        job_summary(conn, job_id)  # fails early for an unknown job
    wait_for_job(state, job_id, timeout)


def wait_for_job(state: CliContext, job_id: int, timeout: float | None) -> NoReturn:
    """Follow a job until it ends, one progress line on stderr per change; exit 0 on
    SUCCESS, 1 on WARNING/FAILURE/CANCELED, 2 when `timeout` passes first."""
    from adit_core.events import wait_until

    last: list[str] = []
    with state.db.connect() as conn:
        conn.autocommit = True  # every check reads what was committed since the last one

        def finished() -> bool:
            summary = job_summary(conn, job_id)
            line = f"job {job_id}: {summary.status}, {_progress(summary)}"
            if not last or last[-1] != line:
                last.append(line)
                info(line)
            return Status(summary.status) in FINAL

        if not wait_until(state.db.url, finished, timeout=timeout):
            info(f"job {job_id} did not finish within {timeout:g} s")
            sys.exit(2)
        summary = job_summary(conn, job_id)
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


def _action(action: JobAction) -> click.Command:
    @jobs.command(name=action.name, help=action.help)
    @click.argument("job_id", type=JOB_ID)
    @pass_context
    def command(state: CliContext, job_id: int) -> None:
        from adit_core.jobs.control import perform

        with state.session() as session:
            info(perform(session, action.name, job_id))

    return command


for _job_action in JOB_ACTIONS.values():
    _action(_job_action)

__all__ = ["jobs", "transfer"]
