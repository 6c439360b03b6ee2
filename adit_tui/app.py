"""The ADIT app: one Textual App with a mode per area, each one key away.

    F1/1 Explorer · F2/2 Transfer · F3/3 Jobs · F4/4 Servers · ctrl+p commands · ctrl+q quit

`adit` (no arguments) calls `run_app`; tests build `AditApp(db, config=TuiConfig.for_tests())`.
Over SSH the app exits when its terminal goes away (SIGHUP, or stdin/stdout no longer a
tty), so a dropped link never leaves a process spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import BUILTIN_THEMES

from adit_core.db.database import Database
from adit_tui.config import TuiConfig, load_config
from adit_tui.context import AppContext
from adit_tui.errors import ReportsWorkerErrors
from adit_tui.screens.batch import BatchScreen
from adit_tui.screens.explorer import ExplorerScreen
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.servers import ServersScreen
from adit_tui.screens.transfer import TransferScreen
from adit_tui.services import Selection
from adit_tui.widgets.chrome import AppHeader, app_header

log = logging.getLogger("adit.tui")

# Seconds between checks that stdin/stdout are still a terminal, and the grace period
# a clean exit gets after the terminal went away before the process ends regardless.
TTY_CHECK_SECONDS = 2.0
HARD_EXIT_SECONDS = 5.0
EXIT_TERMINAL_LOST = 129  # 128 + SIGHUP, as a shell would report it


def _mode_binding(key: str, display: str, mode: str, title: str) -> Binding:
    return Binding(
        key,
        f"app.switch_mode('{mode}')",
        title,
        key_display=display,
        id=f"app.mode.{mode}",
        tooltip=f"Switch to the {title} mode",
    )


class AditApp(ReportsWorkerErrors, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ADIT"

    MODES = {
        "explorer": ExplorerScreen,
        "transfer": TransferScreen,
        "jobs": JobsScreen,
        "servers": ServersScreen,
        "batch": BatchScreen,
    }
    DEFAULT_MODE = "explorer"

    BINDINGS = [
        _mode_binding("f1,1", "F1", "explorer", "Explorer"),
        _mode_binding("f2,2", "F2", "transfer", "Transfer"),
        _mode_binding("f3,3", "F3", "jobs", "Jobs"),
        _mode_binding("f4,4", "F4", "servers", "Servers"),
        _mode_binding("f5,5", "F5", "batch", "Batch"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True,
                tooltip="Quit the app (running jobs continue in the workers)"),
        Binding("question_mark", "toggle_keys", "Keys", id="app.keys", show=False,
                tooltip="Show or hide every key of the focused part of the screen"),
    ]  # fmt: skip

    def __init__(
        self,
        db: Database,
        *,
        config: TuiConfig | None = None,
        watch_terminal: bool = False,
    ) -> None:
        self.config = config or load_config(known_themes=set(BUILTIN_THEMES))
        super().__init__()
        self.db = db
        self.context = AppContext(db, self.config, navigator=self)
        self.watch_terminal = watch_terminal
        self._terminal_gone = False
        self._run_finished = threading.Event()
        self.animation_level = self.config.animation_level
        self.theme = self.config.theme if self.config.theme in BUILTIN_THEMES else "textual-dark"
        if self.config.keymap:
            unknown = sorted(set(self.config.keymap) - known_binding_ids())
            for binding_id in unknown:
                self.config.problems.append(
                    f"{self.config.path or 'config'}: no key binding with id {binding_id!r} "
                    "(see README, 'The app')"
                )
            self.set_keymap({k: v for k, v in self.config.keymap.items() if k not in set(unknown)})

    # -- start and stop ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_changed)
        for problem in self.config.problems:
            self.notify(problem, title="Config", severity="warning", timeout=10)
        if self.watch_terminal:
            self._watch_terminal()

    def run(self, *args: Any, **kwargs: Any) -> None:
        try:
            return super().run(*args, **kwargs)
        finally:
            self._run_finished.set()

    def _screen_changed(self, screen: Screen[Any]) -> None:
        """Give every mode's base screen the mode header (if it does not compose one)."""
        mode = self.current_mode
        if self.screen_stack[0] is screen and not screen.query(AppHeader):
            screen.mount(app_header(self, mode), before=0 if screen.children else None)

    # -- SSH hygiene ---------------------------------------------------------------------

    def _watch_terminal(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self.terminal_lost, "SIGHUP")
            # SIGTERM: leave like ctrl+q, restoring the terminal (and letting `adit demo`
            # stop what it started).
            loop.add_signal_handler(signal.SIGTERM, self.exit, None, 128 + signal.SIGTERM)
        self.set_interval(TTY_CHECK_SECONDS, self._check_terminal, name="tty-watchdog")

    def _check_terminal(self) -> None:
        for stream in (sys.__stdin__, sys.__stdout__):
            try:
                alive = stream is not None and os.isatty(stream.fileno())
            except (OSError, ValueError):
                alive = False
            if not alive:
                self.terminal_lost("the terminal is gone")
                return

    def terminal_lost(self, why: str = "") -> None:
        """Exit because nobody can see us any more; forced after a grace period."""
        if self._terminal_gone:
            return
        self._terminal_gone = True
        log.warning("terminal lost, exiting", extra={"reason": why})

        def force() -> None:
            if not self._run_finished.wait(HARD_EXIT_SECONDS):
                os._exit(EXIT_TERMINAL_LOST)

        threading.Thread(target=force, name="adit-hard-exit", daemon=True).start()
        self.exit(return_code=EXIT_TERMINAL_LOST)

    # -- navigation ----------------------------------------------------------------------

    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def show_job(self, job_id: int) -> None:
        """Switch to the Jobs mode and open that job."""
        self.run_worker(
            self._show_job(job_id),
            group="show-job",
            exclusive=True,
            exit_on_error=False,
            description=f"Show job {job_id}",
        )

    async def _show_job(self, job_id: int) -> None:
        await self.switch_mode("jobs")
        screen = self.screen_stack[0]
        assert isinstance(screen, JobsScreen)
        screen.open_job(job_id)

    def start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        """Switch to the Transfer mode with these studies (or series) of `server` marked."""
        self.run_worker(
            self._start_transfer(server, selections),
            group="start-transfer",
            exclusive=True,
            exit_on_error=False,
            description="Open in Transfer",
        )

    async def _start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        await self.switch_mode("transfer")
        screen = self.screen_stack[0]
        assert isinstance(screen, TransferScreen)
        screen.preselect(server, list(selections))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, title in (
            ("explorer", "Explorer"),
            ("transfer", "Transfer"),
            ("jobs", "Jobs"),
            ("servers", "Servers"),
            ("batch", "Batch"),
        ):
            yield SystemCommand(
                f"Go to {title}", f"Switch to the {title} mode", lambda m=mode: self.switch_mode(m)
            )


def known_binding_ids() -> set[str]:
    """Every binding id the keymap may override (for checking the config)."""
    from textual.dom import DOMNode

    ids: set[str] = set()
    seen: set[type] = set()

    def visit(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for item in cls.__dict__.get("BINDINGS", []):
            if isinstance(item, Binding) and item.id:
                ids.add(item.id)
        sub: type
        for sub in cls.__subclasses__():
            visit(sub)

    # Every DOM class imported so far: the app's screens, their modals and widgets.
    visit(DOMNode)
    return ids


def run_app(cli_context: Any) -> None:
    """`adit` without arguments: check the database, then run the app in this terminal."""
    # A transaction on a current schema (upgrades the embedded database, refuses an old one).
    with cli_context.session():
        pass
    app = AditApp(cli_context.db, watch_terminal=True)
    app.run()
    if app.return_code not in (None, 0):
        sys.exit(app.return_code)
