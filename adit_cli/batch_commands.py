"""`adit batch-query`, `adit batch-transfer` and `adit batch template`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import adit_core.batch as batch_api
from adit_cli.context import CliContext, info, pass_context
from adit_cli.jobs_commands import check_wait, print_job_id, wait_for_job, wait_options
from adit_core.batch.report import BatchKind

if TYPE_CHECKING:
    import psycopg

    from adit_core.jobs.create import CreatedJob

    Create = Callable[[psycopg.Connection[Any]], CreatedJob]

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _validated(path: Path, kind: BatchKind) -> batch_api.BatchFile:
    """The checked file, or the report on stderr and exit status 1."""
    result = batch_api.validate_file(path, kind)
    if isinstance(result, batch_api.ValidationReport):
        info(result.format())
        sys.exit(1)
    for warning in result.warnings:
        info(f"warning: {warning}")
    if isinstance(result, batch_api.TransferBatch):
        for skipped in result.skipped:
            info(f"note: {skipped}")
    return result


def _queue(state: CliContext, dry_run: bool, create: Create) -> int | None:
    """Create the job; with --dry-run everything is checked and then rolled back."""
    with state.connection() as conn:
        job = create(conn)
        if not dry_run:
            return job.id
        conn.rollback()
        return None


def _report(state: CliContext, job_id: int, wait: bool, timeout: float | None, what: str) -> None:
    print_job_id(job_id)
    info(f"queued job {job_id}: {what}")
    if wait:
        wait_for_job(state, job_id, timeout)


@click.command("batch-query")
@click.argument("file", type=_FILE)
@click.option("--source", "-s", required=True, help="Server to search.")
@click.option("--urgent", is_flag=True, help="Run before normal work.")
@click.option("--dry-run", is_flag=True, help="Check the file and the server; queue nothing.")
@wait_options
@pass_context
def batch_query(
    state: CliContext,
    file: Path,
    source: str,
    urgent: bool,
    dry_run: bool,
    wait: bool,
    timeout: float | None,
) -> None:
    """Queue one search per line of FILE (.xlsx or .csv); prints the job id.

    Export the results with `adit jobs export ID OUT.xlsx`; that file works as a batch
    transfer file as it is. With --wait, waits like `adit jobs wait` (exit 0 on SUCCESS,
    1 on WARNING, FAILURE or CANCELED, 2 when --timeout passes first).
    """
    check_wait(wait, timeout)
    batch = _validated(file, BatchKind.QUERY)
    assert isinstance(batch, batch_api.QueryBatch)

    def create(conn: psycopg.Connection[Any]) -> CreatedJob:
        return batch_api.create_batch_query_job(conn, batch, source=source, urgent=urgent)

    job_id = _queue(state, dry_run, create)
    lines = f"{len(batch.rows)} lines"
    if job_id is None:
        info(f"{file.name} is valid: {lines} would be searched on {source}; nothing was queued")
        return
    _report(state, job_id, wait, timeout, f"{lines} of {file.name}, searching {source}")


@click.command("batch-transfer")
@click.argument("file", type=_FILE)
@click.option("--source", "-s", required=True, help="Server to fetch from.")
@click.option("--destination", "-d", required=True, help="Server or folder to send to.")
@click.option("--trial-protocol-id", default="", help="ClinicalTrialProtocolID to set.")
@click.option("--trial-protocol-name", default="", help="ClinicalTrialProtocolName to set.")
@click.option(
    "--shift-times",
    is_flag=True,
    help="When pseudonymizing, move times of day too (whole hours, within their day).",
)
@click.option("--urgent", is_flag=True, help="Run before normal work.")
@click.option("--dry-run", is_flag=True, help="Check the file and the servers; queue nothing.")
@wait_options
@pass_context
def batch_transfer(
    state: CliContext,
    file: Path,
    source: str,
    destination: str,
    trial_protocol_id: str,
    trial_protocol_name: str,
    shift_times: bool,
    urgent: bool,
    dry_run: bool,
    wait: bool,
    timeout: float | None,
) -> None:
    """Queue one transfer per study named in FILE (.xlsx or .csv); prints the job id.

    Rows of one study are merged: a row without SeriesInstanceUID means the whole study.
    Rows with a Pseudonym are pseudonymized with it; rows without are sent unchanged.
    With --wait, waits like `adit jobs wait` (exit 0 on SUCCESS, 1 on WARNING, FAILURE or
    CANCELED, 2 when --timeout passes first).
    """
    check_wait(wait, timeout)
    batch = _validated(file, BatchKind.TRANSFER)
    assert isinstance(batch, batch_api.TransferBatch)

    def create(conn: psycopg.Connection[Any]) -> CreatedJob:
        return batch_api.create_batch_transfer_job(
            conn,
            batch,
            source=source,
            destination=destination,
            trial_protocol_id=trial_protocol_id,
            trial_protocol_name=trial_protocol_name,
            urgent=urgent,
            shift_times=shift_times,
        )

    job_id = _queue(state, dry_run, create)
    groups = batch_api.group_by_study(batch.rows)
    pseudonymized = sum(1 for g in groups if g.pseudonym)
    what = (
        f"{len(batch.rows)} lines → {len(groups)} studies "
        f"({pseudonymized} pseudonymized, {len(groups) - pseudonymized} unchanged)"
    )
    if job_id is None:
        info(f"{file.name} is valid: {what}, {source} → {destination}; nothing was queued")
        return
    _report(state, job_id, wait, timeout, f"{what}, {source} → {destination}")


@click.group()
def batch() -> None:
    """Batch file helpers."""


@batch.command()
@click.argument("kind", type=click.Choice([k.value for k in BatchKind]))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def template(kind: str, out: Path) -> None:
    """Write an example batch query or transfer file (.xlsx or .csv) with text ID columns."""
    batch_api.write_template(kind, out)
    more = "; the Help sheet explains the columns" if out.suffix.lower() == ".xlsx" else ""
    info(f"wrote {out}: replace the example rows with yours{more}")


COMMANDS = (batch_query, batch_transfer, batch)
