"""The base of every screen of the app: the typed app context, central worker-error
reporting, and a footer refresh that skips the ones that would change nothing."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.actions import parse as parse_action
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from adit_tui.context import AppContext, context_of
from adit_tui.errors import ReportsWorkerErrors

ResultT = TypeVar("ResultT")


class AditScreen(ReportsWorkerErrors, Screen[ResultT]):
    # Bindings of the screen's other widgets whose id starts with this scope are offered
    # in the command palette too (e.g. the result tree's "copy UID" while the form has focus).
    COMMAND_SCOPE: ClassVar[str] = ""

    _binding_state: list[bool | None] | None = None

    @property
    def context(self) -> AppContext:
        return context_of(self)

    def refresh_bindings_if_changed(self) -> None:
        """`refresh_bindings()` only when an action of the screen became (un)available.

        Cursor moves fire often (a page of rows arriving moves it a hundred times) and
        every refresh rebuilds the footer, so skip the ones that change nothing."""
        state: list[bool | None] = []
        for cls in type(self).__mro__:
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding):
                    _, name, params = parse_action(binding.action)
                    state.append(self.check_action(name, params))
        if self._binding_state != state:
            self._binding_state = state
            self.refresh_bindings()


class AditModal(ModalScreen[ResultT], AditScreen[ResultT]):
    """A modal screen (dims what is below, its keys come first) with the same base."""
