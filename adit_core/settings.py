"""Deployment-wide settings: their names, types, defaults, rules and help, in one place.

Values live in the `settings` table as text, one row per key; a key without a row has its
default. Every reader goes through `load` (all settings, typed) or `Settings` attributes;
every writer through `set_value` (validated). `adit settings list|get|set` shows and changes
them; `SETTINGS` is the table the command's help is built from.

To add a setting: add a `Setting` to `SETTINGS` and a field of the same name to `Settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from adit_core import fields as field_rules
from adit_core.db import sql
from adit_core.dicom.server import LocalNode
from adit_core.errors import AditError

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable


class SettingsError(AditError):
    """An unknown key, or a value a setting does not accept."""


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"a whole number from {low} to {high}, not {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"a whole number from {low} to {high}, not {number}")
        return number

    parse.__doc__ = f"whole number, {low}-{high}"
    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"a number of seconds from {low:g} to {high:g}") from None
        if not low <= number <= high:  # also refuses nan
            raise ValueError(f"a number of seconds from {low:g} to {high:g}, not {value}")
        return number

    parse.__doc__ = f"seconds, {low:g}-{high:g}"
    return parse


def _ae_title(value: str) -> str:
    if field_rules.AE_TITLE.problem(value) is not None:  # empty included
        raise ValueError(field_rules.AE_TITLE_HINT)
    return value.strip()


_ae_title.__doc__ = "AE title, 1-16 characters"


def _modalities(value: str) -> frozenset[str]:
    items = field_rules.split_modalities(value)
    bad = sorted({typed for typed, code in items if field_rules.MODALITY.problem(code) is not None})
    if bad:
        raise ValueError(f"not modalities: {', '.join(bad)} (e.g. SR,PR)")
    return frozenset(code for _typed, code in items)


_modalities.__doc__ = "comma-separated modalities, e.g. SR,PR (empty: none)"


def _secret(value: str) -> str:
    if len(value.strip()) < 32:
        raise ValueError("at least 32 characters")
    return value.strip()


_secret.__doc__ = "at least 32 characters"


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    parse.__doc__ = " | ".join(allowed)
    return parse


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    parse: Callable[[str], Any]
    help: str
    # A secret is never printed by `adit settings list/get` (only whether it is set).
    secret: bool = False
    # Read when the receiver and the workers start (the others: when a task starts).
    needs_restart: bool = False
    # The parsed value as stored text (so "sr, pr" is stored as "PR,SR").
    render: Callable[[Any], str] = str

    @property
    def allowed(self) -> str:
        """What the setting accepts, for help texts."""
        return (self.parse.__doc__ or "text").strip()

    def validate(self, value: str) -> Any:
        try:
            return self.parse(value)
        except ValueError as exc:
            raise SettingsError(f"{self.key} must be {exc}") from None


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "receiver_ae_title",
            "ADIT",
            _ae_title,
            "AE title of `adit receiver` (the C-MOVE destination) and our calling AE title",
            needs_restart=True,
        ),
        Setting(
            "receiver_port",
            "11112",
            _integer(1, 65535),
            "port `adit receiver` listens on",
            needs_restart=True,
        ),
        Setting(
            "max_attempts",
            "3",
            _integer(1, 100),
            "attempts a task gets when errors are transient (unreachable server, timeouts)",
        ),
        Setting(
            "retry_base_seconds",
            "30",
            _seconds(0, 86400),
            "wait before the 2nd attempt; doubles for every further attempt",
            render=lambda seconds: f"{seconds:g}",
        ),
        Setting(
            "exclude_modalities",
            "",
            _modalities,
            "series of these modalities are left out of pseudonymized transfers",
            render=lambda modalities: ",".join(sorted(modalities)),
        ),
        Setting(
            "burned_in_annotation",
            "warn",
            _choice("warn", "refuse", "allow"),
            "pseudonymized transfers of instances that may show identifying text in their "
            "pixels (BurnedInAnnotation YES; ultrasound and secondary capture unless they say "
            "NO): warn (transfer them, the task ends WARNING naming them), refuse (leave them "
            "out, WARNING naming them) or allow",
        ),
        Setting(
            "secret",
            "",
            _secret,
            "seeds pseudonymization (generated by `adit db upgrade`); changing it changes "
            "every pseudonymized UID and date shift from then on",
            secret=True,
        ),
    )
}


@dataclass(frozen=True)
class Settings:
    """Every setting, typed. Build it with `load`; the defaults here match `SETTINGS`."""

    receiver_ae_title: str = "ADIT"
    receiver_port: int = 11112
    max_attempts: int = 3
    retry_base_seconds: float = 30.0
    exclude_modalities: frozenset[str] = frozenset()
    burned_in_annotation: str = "warn"
    secret: str = field(default="", repr=False)

    @property
    def local_node(self) -> LocalNode:
        """Our identity on the DICOM network: the receiver's AE title, also used when calling."""
        return LocalNode(ae_title=self.receiver_ae_title)


def _stored(session: Connectable) -> dict[str, str]:
    return {r["key"]: r["value"] for r in sql.rows(session, "SELECT key, value FROM settings")}


def load(session: Connectable) -> Settings:
    """All settings, typed. A stored value that no longer passes its rule counts as unset."""
    stored = _stored(session)
    values: dict[str, Any] = {}
    for setting in SETTINGS.values():
        raw = stored.get(setting.key, setting.default)
        try:
            values[setting.key] = setting.parse(raw)
        except ValueError:
            values[setting.key] = setting.parse(setting.default) if setting.default else ""
    return Settings(**values)


def definition(key: str) -> Setting:
    setting = SETTINGS.get(key)
    if setting is None:
        raise SettingsError(f"no setting named {key!r} (settings: {', '.join(SETTINGS)})")
    return setting


def get_text(session: Connectable, key: str) -> str:
    """The stored text of one setting (its default when unset)."""
    setting = definition(key)
    return _stored(session).get(key, setting.default)


def set_value(session: Connectable, key: str, value: str) -> str:
    """Validate and store one setting; returns the value as stored."""
    setting = definition(key)
    stored = setting.render(setting.validate(value))
    sql.execute(
        session,
        "INSERT INTO settings (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
        (key, stored),
    )
    return stored


def listing(session: Connectable) -> list[tuple[Setting, str]]:
    """(definition, stored text or its default) for every setting."""
    stored = _stored(session)
    return [(s, stored.get(s.key, s.default)) for s in SETTINGS.values()]


def _check_table() -> None:
    names = {f.name for f in fields(Settings)}
    if names != set(SETTINGS):
        raise AssertionError(f"Settings and SETTINGS disagree: {sorted(names ^ set(SETTINGS))}")


_check_table()
