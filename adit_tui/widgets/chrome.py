"""The frame every mode shares: a one-line header with the modes as tabs.

    ◆ ADIT  F1 Explorer  F2 Transfer  F3 Jobs  F4 Servers            12:04:59

The current mode is highlighted; each tab shows the key that opens it (taken from the
app's bindings, so keymap overrides show) and can be clicked. The clock is optional
(off in tests and snapshots).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.markup import escape
from textual.widgets import Static

from adit_tui.context import context_of


def mode_tabs(app: App[Any]) -> list[tuple[str, str, str]]:
    """(mode, key, title) for every mode binding of the app, in binding order; keys as the
    config's keymap sets them."""
    keymap = context_of(app).config.keymap
    tabs = []
    seen: set[str] = set()
    for binding in Binding.make_bindings(type(app).BINDINGS):
        if binding.id and binding.id.startswith("app.mode.") and binding.id not in seen:
            seen.add(binding.id)
            mode = binding.id.removeprefix("app.mode.")
            remapped = keymap.get(binding.id)
            if remapped:
                first = remapped.split(",")[0].strip()
                key = (
                    first.upper()
                    if first[1:].isdigit() and first[0] == "f"
                    else (app.get_key_display(binding.with_key(first)))
                )
            else:
                key = binding.key_display or app.get_key_display(binding)
            tabs.append((mode, key, binding.description))
    return tabs


class ModeTabs(Static):
    DEFAULT_CSS = """
    ModeTabs {
        width: 1fr;
        height: 1;
        link-style: none;
        link-color: $foreground;
        link-background: $panel;
        link-style-hover: bold;
    }
    """

    def __init__(self, mode: str | None) -> None:
        super().__init__()
        self.mode = mode

    def on_mount(self) -> None:
        self.update(self.build())

    def build(self) -> Content:
        parts = ["[b] ◆ ADIT [/b]"]
        for mode, key, title in mode_tabs(self.app):
            key, title = escape(key), escape(title)
            if mode == self.mode:
                parts.append(f" [reverse][b] {key} [/b]{title} [/reverse]")
            else:
                parts.append(f" [@click=app.switch_mode('{mode}')][b] {key} [/b]{title} [/]")
        return Content.from_markup("".join(parts))


class Clock(Static):
    """The time of day, to the second."""

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1, self._tick)

    def _tick(self) -> None:
        self.update(f"{datetime.now().time():%X}")


class AppHeader(Horizontal):
    """The mode tabs, and the clock unless the config turns it off."""

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    AppHeader Clock {
        dock: right;
        width: 10;
        content-align: center middle;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, mode: str | None = None, *, show_clock: bool = True) -> None:
        super().__init__()
        self.mode = mode
        self.show_clock = show_clock

    def compose(self) -> ComposeResult:
        yield ModeTabs(self.mode)
        if self.show_clock:
            yield Clock()


def app_header(app: App[Any], mode: str | None = None) -> AppHeader:
    """The header for a mode's screen (the clock per the app's config)."""
    return AppHeader(mode, show_clock=context_of(app).config.show_clock)
