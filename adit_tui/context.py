"""What screens and widgets get from the app, typed: the database, the config, navigation.

A screen reaches the app only through `AppContext` (`AditScreen.context`, or
`context_of(widget)`), never through attributes looked up by name. The real app and the
test harnesses both provide one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from textual.dom import DOMNode

from adit_core.db.database import Database
from adit_tui.config import TuiConfig
from adit_tui.services import Selection


class Navigator(Protocol):
    """Moving between modes with something in hand."""

    def show_job(self, job_id: int) -> None:
        """Switch to the Jobs mode and open that job."""

    def start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        """Switch to the Transfer mode with these studies (or series) of `server` marked."""


@dataclass(frozen=True)
class AppContext:
    db: Database
    config: TuiConfig
    navigator: Navigator


@runtime_checkable
class ProvidesContext(Protocol):
    """An app that screens can run in (AditApp, or a test harness)."""

    @property
    def context(self) -> AppContext: ...


def context_of(node: DOMNode) -> AppContext:
    app = node.app
    if not isinstance(app, ProvidesContext):
        raise TypeError(f"{type(app).__name__} provides no AppContext for its screens")
    return app.context
