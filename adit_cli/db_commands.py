"""`adit db ...`: schema management."""

from __future__ import annotations

import click

from adit_cli.context import CliContext, info, pass_context


@click.group()
def db() -> None:
    """Manage the job database schema."""


@db.command()
@pass_context
def upgrade(state: CliContext) -> None:
    """Apply every pending migration (safe to run again, and from several hosts)."""
    from adit_core.db.migrate import upgrade as run_upgrade

    before, after = run_upgrade(state.db)
    where = state.db.display_url
    if before == after:
        info(f"database {where} is up to date (revision {after})")
    else:
        info(f"database {where} upgraded from {before or 'empty'} to revision {after}")


@db.command()
@pass_context
def status(state: CliContext) -> None:
    """Show which database is used and its schema revision."""
    from adit_core.db import revision

    with state.db.connect() as conn:
        current = revision.current(conn)
    kind = "embedded" if state.db.embedded else "configured"
    click.echo(f"database: {state.db.display_url} ({kind})")
    click.echo(f"schema revision: {current or 'none'} (this adit: {revision.HEAD})")
