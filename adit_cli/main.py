"""The `adit` command: the TUI without arguments, headless sub-commands otherwise.

Commands are listed in `COMMANDS` and imported only when they run, so `adit --help` and
the quick commands start at once (tests check the table against the commands themselves).
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import click

from adit_cli.context import CliContext, fail
from adit_core import logs
from adit_core.errors import AditError


class Entry(NamedTuple):
    module: str
    attribute: str
    summary: str  # the command's short help, shown by `adit --help` without importing it


COMMANDS: dict[str, Entry] = {
    "batch": Entry("adit_cli.batch_commands", "batch", "Batch file helpers."),
    "batch-query": Entry(
        "adit_cli.batch_commands",
        "batch_query",
        "Queue one search per line of FILE (.xlsx or .csv); prints the job id.",
    ),
    "batch-transfer": Entry(
        "adit_cli.batch_commands",
        "batch_transfer",
        "Queue one transfer per study named in FILE (.xlsx or .csv); prints the job id.",
    ),
    "db": Entry("adit_cli.db_commands", "db", "Manage the job database schema."),
    "demo": Entry(
        "adit_dev.demo",
        "demo",
        "Try ADIT on this machine: everything on loopback, stopped when you quit.",
    ),
    "folder": Entry(
        "adit_cli.folder_commands", "folder", "Register, list and remove destination folders."
    ),
    "jobs": Entry("adit_cli.jobs_commands", "jobs", "List, inspect, wait for and control jobs."),
    "receiver": Entry(
        "adit_cli.daemon_commands",
        "receiver",
        "Run the C-STORE SCP that receives what C-MOVE sends.",
    ),
    "server": Entry(
        "adit_cli.server_commands",
        "server",
        "Register, list, change, remove and check DICOM servers.",
    ),
    "settings": Entry(
        "adit_cli.settings_commands",
        "settings_group",
        "Show and change deployment-wide settings.",
    ),
    "transfer": Entry(
        "adit_cli.jobs_commands",
        "transfer",
        "Queue a transfer of one study (or some of its series); prints the job id.",
    ),
    "worker": Entry(
        "adit_cli.daemon_commands",
        "worker",
        "Run a worker that executes queued tasks (any number, on any host sharing the DB).",
    ),
}


def _database_failure(exc: BaseException) -> str | None:
    """One line for a database driver error, or None when `exc` is not one.

    Only drivers already imported can have raised, so this imports nothing."""
    orig = exc
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        orig = exc.orig
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(orig, psycopg.OperationalError):
        return None
    from adit_core.db.database import unreachable_message

    if orig.sqlstate is None:  # no answer from a server at all
        return f"cannot reach the database: {unreachable_message(orig)}"
    return f"the database stopped the command: {unreachable_message(orig)}"


class AditGroup(click.Group):
    """Loads commands on demand; turns every error a user can act on (`AditError`, and a
    database that cannot be reached) into one line on stderr and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        import importlib

        command = getattr(importlib.import_module(entry.module), entry.attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name].summary) for name in sorted(COMMANDS)])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AditError as exc:
            fail(str(exc))
        except Exception as exc:
            message = _database_failure(exc)
            if message is None:
                raise
            fail(message)


@click.group(
    cls=AditGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Log verbosity on stderr (default WARNING, or ADIT_LOG_LEVEL).",
)
@click.version_option(package_name="adit-tui", prog_name="adit")
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """ADIT-TUI: find, transfer and pseudonymize DICOM studies between PACS and folders.

    Without a command, opens the full-screen app. Without ADIT_DATABASE_URL, every command
    uses an embedded PostgreSQL in ADIT_DATA_DIR.
    """
    logs.configure(log_level)
    state = ctx.ensure_object(CliContext)
    ctx.call_on_close(state.close)
    if ctx.invoked_subcommand is None:
        from adit_tui.app import run_app

        run_app(state)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", 130)


if __name__ == "__main__":
    main()
