"""The app shell: modes one key away, the header tabs, keymap and config, the palette."""

from __future__ import annotations

import ast
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Input

from adit_core.db.database import Database
from adit_tui.app import AditApp, known_binding_ids
from adit_tui.commands import screen_commands
from adit_tui.config import ANSI_THEME, TuiConfig, environment_defaults, load_config
from adit_tui.screens.explorer import ExplorerScreen
from adit_tui.screens.jobs import JobsScreen
from adit_tui.screens.servers import ServersScreen
from adit_tui.screens.transfer import TransferScreen
from adit_tui.widgets.chrome import ModeTabs
from tests.tui.app_support import make_app
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
THEMES = {"textual-dark", "nord", "ansi-dark"}


# -- config (no app needed) ------------------------------------------------------------


def test_config_file_is_read_and_bad_values_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "tui.toml"
    path.write_text(
        'theme = "nord"\nanimation = "basic"\nclock = false\n[keys]\n"app.mode.transfer" = "f6,6"\n'
    )
    config = load_config(path, environ={}, known_themes=THEMES)
    assert (config.theme, config.animation_level, config.show_clock) == ("nord", "basic", False)
    assert config.keymap == {"app.mode.transfer": "f6,6"}
    assert config.problems == []

    path.write_text('theme = "no-such"\nanimation = "wild"\nclock = "yes"\nspeed = 3\n')
    config = load_config(path, environ={}, known_themes=THEMES)
    assert (config.theme, config.animation_level, config.show_clock) == (
        "textual-dark",
        "full",
        True,
    )
    text = "\n".join(config.problems)
    assert "unknown theme 'no-such'" in text and "animation must be one of" in text
    assert "clock must be true or false" in text and "unknown setting 'speed'" in text

    path.write_text("theme = [unclosed\n")
    config = load_config(path, environ={}, known_themes=THEMES)
    assert config.theme == "textual-dark" and "not valid TOML" in config.problems[0]


def test_config_location_and_terminal_defaults(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('theme = "textual-ansi"\n')
    config = load_config(environ={"ADIT_TUI_CONFIG": str(path)}, known_themes=THEMES)
    assert config.path == path and config.theme == ANSI_THEME
    assert environment_defaults({"NO_COLOR": "1"}).theme == ANSI_THEME
    assert environment_defaults({"TERM": "linux"}).theme == ANSI_THEME
    assert environment_defaults({"TERM": "xterm-256color"}).theme == "textual-dark"
    assert environment_defaults({"SSH_CONNECTION": "a 1 b 22"}).animation_level == "basic"
    # A missing file is no problem at all.
    assert load_config(tmp_path / "missing.toml", environ={}).problems == []


def test_every_binding_has_an_id_and_a_tooltip() -> None:
    from textual.binding import Binding

    from adit_tui.screens.confirm_transfer import ConfirmTransferScreen
    from adit_tui.screens.tags import TagsScreen
    from adit_tui.widgets.dicom_browser import DicomTree, SelectableDicomTree

    for cls in (AditApp, ExplorerScreen, TransferScreen, TagsScreen, ConfirmTransferScreen,
                DicomTree, SelectableDicomTree):  # fmt: skip
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), (cls, binding)
            assert binding.id and binding.tooltip, (cls, binding.key)
    assert {"app.mode.explorer", "explorer.tags", "transfer.submit"} <= known_binding_ids()


def test_adit_core_never_imports_textual() -> None:
    for path in (ROOT / "adit_core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith("textual"), f"{path} imports {name}"
    services = ast.parse((ROOT / "adit_tui" / "services.py").read_text(encoding="utf-8"))
    assert not any(
        isinstance(n, (ast.Import, ast.ImportFrom)) and "textual" in ast.dump(n)
        for n in ast.walk(services)
    )


# -- the running app -------------------------------------------------------------------


async def test_modes_are_one_key_away_and_in_the_palette(database: Database) -> None:
    app = make_app(database)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, ExplorerScreen)
        tabs = str(app.screen.query_one(ModeTabs).build())
        for text in ("F1 Explorer", "F2 Transfer", "F3 Jobs", "F4 Servers"):
            assert text in tabs
        for key, screen in (("f2", TransferScreen), ("f3", JobsScreen), ("f4", ServersScreen),
                            ("f1", ExplorerScreen)):  # fmt: skip
            await pilot.press(key)
            await wait_until(pilot, lambda s=screen: isinstance(app.screen, s), what=key)
        # Digits work too wherever they are not typed into a field.
        app.screen.browser.results.focus()
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, JobsScreen))
        # Every mode got the header with its own tab highlighted.
        assert app.screen.query_one(ModeTabs).mode == "jobs"
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(app.screen, TransferScreen))
        # ...but in a field, a digit is just a digit.
        assert isinstance(app.focused, Input)
        await pilot.press("4")
        assert isinstance(app.screen, TransferScreen) and app.focused.value == "4"

        # The command palette offers the current screen's commands with their keys.
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, ExplorerScreen))
        app.screen.browser.results.focus()
        titles = {title for title, *_ in screen_commands(app.screen)}
        # The screen's, the focused tree's, the app's (modes) and other widgets' in scope.
        assert {"Search", "Explorer", "Transfer", "Jobs", "Servers", "Copy UID"} <= titles
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"servers")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ServersScreen))


async def test_keymap_overrides_and_config_problems_are_notified(
    database: Database, tmp_path: Path
) -> None:
    config = TuiConfig.for_tests()
    config.keymap = {"app.mode.servers": "f9", "no.such.binding": "x"}
    config.problems.append("tui.toml: unknown setting 'speed' (ignored)")
    app = AditApp(database, config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("speed" in m for m in messages)
        assert any("no.such.binding" in m for m in messages)
        app.screen.browser.results.focus()
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, ServersScreen))
        assert "F9 Servers" in str(app.screen.query_one(ModeTabs).build())
