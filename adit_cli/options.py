"""Parameter types shared by the commands: every number typed on the command line has a
range, checked before anything touches the database (the rules live in adit_core.limits)."""

from __future__ import annotations

import click

from adit_core import limits

JOB_ID = click.IntRange(1, limits.DATABASE_ID_MAX)
SEARCH_RESULTS = click.IntRange(1, limits.SEARCH_RESULTS_MAX)


class Seconds(click.ParamType):
    """A finite, non-negative number of seconds up to `maximum` (no nan, no inf)."""

    name = "seconds"

    def __init__(self, maximum: float):
        self.maximum = maximum

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            value = repr(value)
        try:
            return limits.seconds(str(value), "the value", maximum=self.maximum)
        except ValueError as exc:
            self.fail(str(exc).replace("the value ", "", 1), param, ctx)
