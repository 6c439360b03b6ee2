"""`adit settings list|get|set`: the deployment-wide settings (`adit_core.settings`)."""

from __future__ import annotations

import json
import sys

import click

from adit_cli.context import CliContext, info, pass_context
from adit_core import settings


def _keys_help() -> str:
    lines = ["\b", "Settings (key: what it accepts; default):"]
    for s in settings.SETTINGS.values():
        default = "" if s.secret else f"; default {s.default or 'empty'}"
        lines.append(f"  {s.key}: {s.allowed}{default}")
        lines.append(f"      {s.help}")
    return "\n".join(lines)


def _shown(setting: settings.Setting, value: str) -> str:
    """What may be printed: a secret only says whether it is set."""
    if setting.secret:
        return "set" if value else "not set"
    return value


@click.group(name="settings", epilog=_keys_help())
def settings_group() -> None:
    """Show and change deployment-wide settings.

    Values live in the database and apply to every host: to the next task a worker starts,
    except the receiver's AE title and port, which take effect when the receiver and the
    workers are restarted. The secret is never shown, only whether it is set.
    """


@settings_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_context
def list_(state: CliContext, as_json: bool) -> None:
    """List every setting with its value ("(default)" where it has its default)."""
    with state.connection() as conn:
        entries = settings.listing(conn)
    if as_json:
        data = []
        for s, value in entries:
            row: dict[str, object] = {"key": s.key, "value": None if s.secret else value}
            if s.secret:
                row["set"] = bool(value)
            else:
                row["default"] = s.default
            data.append({**row, "allowed": s.allowed, "help": s.help})
        click.echo(json.dumps(data, indent=2))
        return
    width = max(len(s.key) for s, _ in entries)
    for s, value in entries:
        note = "  (default)" if not s.secret and value == s.default else ""
        click.echo(f"{s.key.ljust(width)}  {_shown(s, value) or '(empty)'}{note}")


@settings_group.command()
@click.argument("key")
@pass_context
def get(state: CliContext, key: str) -> None:
    """Print the value of KEY alone on stdout (for the secret: whether it is set)."""
    setting = settings.definition(key)
    with state.connection() as conn:
        value = settings.get_text(conn, key)
    click.echo(_shown(setting, value))


@settings_group.command(name="set", epilog=_keys_help())
@click.argument("key")
@click.argument("value")
@pass_context
def set_(state: CliContext, key: str, value: str) -> None:
    """Set KEY to VALUE, checked against what the key accepts (listed below).

    VALUE "-" reads the value from stdin (keeps a secret out of the shell history).
    """
    setting = settings.definition(key)
    if value == "-":
        value = sys.stdin.readline().rstrip("\n")
    with state.connection() as conn:
        stored = settings.set_value(conn, key, value)
    if setting.secret:
        info(f"{key} changed: pseudonymized UIDs and date shifts differ from those made before")
    else:
        info(f"{key} = {stored}")
    if setting.needs_restart:
        info("restart `adit receiver` and the workers for it to take effect")
