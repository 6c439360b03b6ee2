"""Command palette providers built from key bindings, so keys and commands never drift apart.

`ScreenCommands` (put it in a screen's COMMANDS) offers every binding that works on that
screen right now: the focused widget's, the screen's, the app's (mode switches, quit), plus
the bindings of the screen's other widgets whose id starts with the screen's
`COMMAND_SCOPE` (e.g. the result tree's "copy UID" while the search form has focus).
Each entry shows its key and uses the binding's tooltip as help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

from adit_tui.context import context_of
from adit_tui.screens.base import AditScreen


def _key_display(node: DOMNode, binding: Binding, keymap: dict[str, str]) -> str:
    if binding.key_display:
        return binding.key_display
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    key = keys.split(",")[0].strip()
    try:
        return node.app.get_key_display(binding.with_key(key))
    except Exception:  # a key Textual cannot display; show it as written
        return key


def _class_bindings(node: DOMNode) -> Iterator[Binding]:
    """The bindings `node`'s class and its bases declare (BINDINGS), most derived first."""
    for cls in type(node).__mro__:
        yield from Binding.make_bindings(cls.__dict__.get("BINDINGS", []))


def screen_commands(screen: Screen[object]) -> Iterator[tuple[str, str, str, DOMNode, Binding]]:
    """(title, key, help, node, binding) for every binding usable from `screen`."""
    keymap = context_of(screen).config.keymap
    seen: set[tuple[str, int]] = set()
    seen_ids: set[str] = set()

    def offer(node: DOMNode, binding: Binding) -> Iterator[tuple[str, str, str, DOMNode, Binding]]:
        if binding.system or not binding.description:
            return
        ident = (binding.action, id(node))
        if ident in seen or (binding.id and binding.id in seen_ids):
            return
        state = node.check_action(binding.action.split("(")[0], ())
        if state is False:
            return
        seen.add(ident)
        if binding.id:
            seen_ids.add(binding.id)
        help_text = binding.tooltip or binding.description
        yield binding.description, _key_display(node, binding, keymap), help_text, node, binding

    for active_binding in screen.active_bindings.values():
        yield from offer(active_binding.node, active_binding.binding)
    scope = screen.COMMAND_SCOPE if isinstance(screen, AditScreen) else ""
    if scope:
        for widget in screen.walk_children():
            for binding in _class_bindings(widget):
                if binding.id and binding.id.split(".")[0] in (scope, "tree"):
                    yield from offer(widget, binding)


class ScreenCommands(Provider):
    """The current screen's key bindings as palette commands."""

    def _commands(self) -> list[tuple[str, str, str, DOMNode, Binding]]:
        return list(screen_commands(self.screen))

    def _runner(self, node: DOMNode, binding: Binding) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            from textual.widget import Widget

            if isinstance(node, Widget) and node.focusable and node.screen is self.screen:
                node.focus()
            await self.app.run_action(binding.action, default_namespace=node)

        return run

    async def discover(self) -> Hits:
        for title, key, help_text, node, binding in self._commands():
            yield DiscoveryHit(
                f"{title}  ({key})",
                self._runner(node, binding),
                text=title,
                help=help_text,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, key, help_text, node, binding in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(f"{title}  ({key})"),
                    self._runner(node, binding),
                    text=title,
                    help=help_text,
                )
