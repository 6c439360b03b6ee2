"""`adit folder ...`: destination folders."""

from __future__ import annotations

import json

import click

from adit_cli.context import CliContext, info, pass_context
from adit_core import registry


@click.group()
def folder() -> None:
    """Register, list and remove destination folders."""


@folder.command()
@click.argument("name")
@click.option("--path", "path", required=True, help="Folder on the worker hosts.")
@click.option("--create", is_flag=True, help="Create the folder (and its parents) if missing.")
@click.option("--quota-gb", help="Refuse transfers that would exceed this size.")
@click.option("--warn-size-gb", help="Warn administrators above this size.")
@pass_context
def add(
    state: CliContext,
    name: str,
    path: str,
    create: bool,
    quota_gb: str | None,
    warn_size_gb: str | None,
) -> None:
    """Register a destination folder called NAME.

    PATH must be an existing directory this user can write into (or use --create); it must
    be mounted at the same place on every worker host.
    """
    quota = registry.parse_gigabytes(quota_gb, "--quota-gb")
    warn = registry.parse_gigabytes(warn_size_gb, "--warn-size-gb")
    absolute = registry.absolute_folder_path(path)
    with state.session() as session:
        registry.add_folder(session, name, absolute, quota_gb=quota, warn_size_gb=warn)
        # After the name was accepted, so that a refused name creates no directory.
        registry.check_folder_path(absolute, create=create)
    info(f"added folder {name} ({absolute})")


@folder.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_context
def list_(state: CliContext, as_json: bool) -> None:
    """List registered folders."""
    with state.session() as session:
        rows = [
            {
                "name": r.name,
                "path": r.path,
                "quota_gb": float(r.quota_gb) if r.quota_gb is not None else None,
                "warn_size_gb": float(r.warn_size_gb) if r.warn_size_gb is not None else None,
            }
            for r in registry.list_folders(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        info("no folders registered; add one with `adit folder add`")
        return
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        quota = f"  quota {r['quota_gb']:g} GB" if r["quota_gb"] else ""
        click.echo(f"{str(r['name']).ljust(width)}  {r['path']}{quota}")


@folder.command()
@click.argument("name")
@pass_context
def remove(state: CliContext, name: str) -> None:
    """Remove a registered folder (files in it stay)."""
    with state.session() as session:
        registry.remove_node(session, name, "folder")
    info(f"removed folder {name}")
