"""Running the `adit` command in tests: in-process (CliRunner) or as a real process."""

from __future__ import annotations

import sys

from click.testing import CliRunner, Result

from adit_cli.main import cli

# `adit` as a separate process (the console script may not be on PATH inside the venv).
ADIT = [sys.executable, "-m", "adit_cli.main"]


def adit(*args: str) -> Result:
    """`adit ARGS...` in this process; stdout and stderr apart, exceptions not swallowed."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)
