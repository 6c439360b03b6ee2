"""The app's own settings: a small TOML file, read once at start-up.

Where: ``$ADIT_TUI_CONFIG``, else ``tui.toml`` in the user config directory
(``~/.config/adit/tui.toml``). Everything is optional::

    theme = "nord"            # any Textual theme; "textual-ansi" follows the terminal palette
    animation = "basic"       # none, basic or full
    clock = true              # the clock in the header
    cursor_blink = true

    [keys]                    # binding id = key(s), comma separated
    "app.mode.explorer" = "f1,1"
    "explorer.search" = "f5"

A file that cannot be read, or a bad value, never stops the app: the value falls back to
its default and the app shows a notification saying what was wrong and where.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs

AnimationLevel = Literal["none", "basic", "full"]
ANIMATION_LEVELS: tuple[AnimationLevel, ...] = ("none", "basic", "full")
DEFAULT_THEME = "textual-dark"
# Textual 8 calls its terminal-palette themes ansi-dark/ansi-light; "textual-ansi" is our name
# for "follow the terminal's own colours" and maps to ansi-dark.
ANSI_THEME = "ansi-dark"
THEME_ALIASES = {"textual-ansi": ANSI_THEME, "ansi": ANSI_THEME}
_DUMB_TERMS = frozenset({"dumb", "linux", "vt100", "vt220"})


@dataclass
class TuiConfig:
    theme: str = DEFAULT_THEME
    animation_level: AnimationLevel = "full"
    show_clock: bool = True
    cursor_blink: bool = True
    keymap: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    # Problems found while reading, shown as notifications once the app runs.
    problems: list[str] = field(default_factory=list)

    @property
    def show_times(self) -> bool:
        """Whether screens show clock-dependent values (times, elapsed, ETA, rates): with
        the clock, so the deterministic test config turns both off."""
        return self.show_clock

    @classmethod
    def for_tests(cls) -> TuiConfig:
        """Deterministic rendering: no clock, no blinking cursor, no animation."""
        return cls(
            theme=DEFAULT_THEME, animation_level="none", show_clock=False, cursor_blink=False
        )


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get("ADIT_TUI_CONFIG", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_config_dir("adit")) / "tui.toml"


def environment_defaults(environ: Mapping[str, str] | None = None) -> TuiConfig:
    """Defaults that suit the terminal: terminal colours for NO_COLOR or a dumb/linux TERM,
    basic animation over SSH."""
    env = os.environ if environ is None else environ
    config = TuiConfig()
    if "NO_COLOR" in env or env.get("TERM", "").lower() in _DUMB_TERMS:
        config.theme = ANSI_THEME
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        config.animation_level = "basic"
    return config


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    known_themes: set[str] | None = None,
) -> TuiConfig:
    """Read the config file over the environment's defaults; never raises."""
    config = environment_defaults(environ)
    path = path or config_path(environ)
    config.path = path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return config
    except OSError as exc:
        config.problems.append(f"cannot read {path}: {exc.strerror or exc}")
        return config
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        config.problems.append(f"{path} is not valid TOML ({exc}); using the defaults")
        return config
    apply(config, data, str(path), known_themes)
    return config


def apply(
    config: TuiConfig,
    data: Mapping[str, object],
    where: str = "the config",
    known_themes: set[str] | None = None,
) -> None:
    """Copy the valid settings of `data` into `config`; note each bad one in `problems`."""
    for key, value in data.items():
        if key == "theme":
            if not isinstance(value, str) or not value.strip():
                config.problems.append(f"{where}: theme must be a theme name")
                continue
            name = THEME_ALIASES.get(value.strip(), value.strip())
            if known_themes is not None and name not in known_themes:
                shown = ", ".join(sorted(known_themes)[:8])
                config.problems.append(
                    f"{where}: unknown theme {value!r}; using {config.theme} (some: {shown}...)"
                )
                continue
            config.theme = name
        elif key == "animation":
            if value not in ANIMATION_LEVELS:
                config.problems.append(
                    f"{where}: animation must be one of {', '.join(ANIMATION_LEVELS)}, "
                    f"not {value!r}"
                )
                continue
            config.animation_level = value
        elif key in ("clock", "cursor_blink"):
            if not isinstance(value, bool):
                config.problems.append(f"{where}: {key} must be true or false")
                continue
            if key == "clock":
                config.show_clock = value
            else:
                config.cursor_blink = value
        elif key == "keys":
            if not isinstance(value, Mapping):
                config.problems.append(f"{where}: [keys] must be a table of binding id = key")
                continue
            for binding_id, keys in value.items():
                if not isinstance(keys, str) or not keys.strip():
                    config.problems.append(
                        f'{where}: keys.{binding_id} must be a key such as "ctrl+s" or "f5,5"'
                    )
                    continue
                config.keymap[str(binding_id)] = keys.strip()
        else:
            config.problems.append(f"{where}: unknown setting {key!r} (ignored)")
