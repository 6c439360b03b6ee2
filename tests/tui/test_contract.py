"""The app's contract with its screens: a typed context, one place that reports failed
workers, and no Textual private API in product code."""

from __future__ import annotations

import ast
import errno
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from textual.app import App

import adit_tui
from adit_core.db.database import Database
from adit_core.jobs.errors import JobError
from adit_tui.config import TuiConfig
from adit_tui.context import AppContext, context_of
from adit_tui.screens.base import AditScreen
from adit_tui.services import Selection
from tests.tui.app_support import notes
from tests.waiting import wait_until

PACKAGE = Path(adit_tui.__file__).parent


class Failing(AditScreen[None]):
    def fail_with(self, error: BaseException, title: str) -> None:
        def work() -> None:
            raise error

        self.run_worker(work, thread=True, exit_on_error=False, description=title)


class ContextApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.context = AppContext(Database("postgresql:///unused"), TuiConfig.for_tests(), self)
        self.shown: list[int] = []

    def on_mount(self) -> None:
        self.push_screen(Failing())

    def show_job(self, job_id: int) -> None:
        self.shown.append(job_id)

    def start_transfer(self, server: str, selections: Sequence[Selection]) -> None:
        raise AssertionError("not used")


async def test_a_failed_worker_is_reported_once_with_its_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages: list[Any] = []
    app = ContextApp()
    async with app.run_test(message_hook=messages.append) as pilot:
        screen = app.screen
        assert isinstance(screen, Failing)
        assert context_of(screen) is app.context is screen.context
        screen.context.navigator.show_job(7)
        assert app.shown == [7]

        screen.fail_with(JobError("job 7 is PENDING; only canceled jobs can be resumed"), "Resume")
        screen.fail_with(OSError(errno.EACCES, "Permission denied", "/x.xlsx"), "Cannot write")
        with caplog.at_level(logging.ERROR, logger="adit.tui"):
            screen.fail_with(KeyError("bug"), "Broken")
            await wait_until(pilot, lambda: len(notes(messages)) == 3)
    assert sorted(notes(messages)) == [
        ("error", "Broken", "KeyError: 'bug'"),
        ("error", "Cannot write", "Permission denied: /x.xlsx"),
        ("error", "Resume", "job 7 is PENDING; only canceled jobs can be resumed"),
    ]
    # Only the bug is logged with its traceback; the others are for the user alone.
    assert [r.getMessage() for r in caplog.records] == ["a worker failed"]


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))]


def test_no_textual_private_api_in_the_app() -> None:
    private = {
        "_bindings",
        "_keymap",
        "_screen_stacks",
        "_compositor",
        "_notifications",
        "_safe_is_dir",
    }
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("textual")
            ):
                hidden = [p for p in node.module.split(".") if p.startswith("_")]
                found += [f"{path.name}: from {node.module}" for _ in hidden]
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == []


def test_screens_reach_the_app_only_through_the_context() -> None:
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            # getattr(self.app, ...) / getattr(app, ...): an attribute looked up by name
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and "app" in ast.unparse(node.args[0])
            ):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            # self.app.db / self.app.config: the app's attributes instead of the context
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("db", "config")
                and ast.unparse(node.value).endswith(".app")
            ):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert found == []
    ignores = [
        f"{path.name}:{n}"
        for path, _tree in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "type: ignore[attr-defined]" in line and "pynetdicom" not in line
    ]
    assert ignores == []
