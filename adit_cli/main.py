"""The `adit` command: the TUI without arguments, headless sub-commands otherwise."""

from __future__ import annotations

import importlib.util

import click
import psycopg
import sqlalchemy.exc

from adit_cli.context import CliContext, fail
from adit_core import logs
from adit_core.errors import AditError


class AditGroup(click.Group):
    """Turns the errors users can act on into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except AditError as exc:
            fail(str(exc))
        except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
            orig = getattr(exc, "orig", exc)
            fail(f"cannot reach the database: {str(orig).strip().splitlines()[0]}")


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
        if importlib.util.find_spec("adit_tui.app") is None:
            click.echo(ctx.get_help())
            click.echo(
                "\nThe full-screen app is not part of this build yet; the commands above "
                "cover everything headless.",
                err=True,
            )
            return
        from adit_tui.app import run_app

        run_app(state)


def _register() -> None:
    from adit_cli import (
        batch_commands,
        daemon_commands,
        db_commands,
        folder_commands,
        jobs_commands,
        server_commands,
    )
    from adit_dev import demo

    cli.add_command(db_commands.db)
    cli.add_command(jobs_commands.transfer)
    cli.add_command(jobs_commands.jobs)
    cli.add_command(daemon_commands.worker)
    cli.add_command(daemon_commands.receiver)
    cli.add_command(demo.demo)
    cli.add_command(server_commands.server)
    cli.add_command(folder_commands.folder)
    for command in batch_commands.COMMANDS:
        cli.add_command(command)


_register()


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", 130)


if __name__ == "__main__":
    main()
