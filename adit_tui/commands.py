"""Command palette providers built from key bindings, so keys and commands never drift apart.

`ScreenCommands` (put it in a screen's COMMANDS) offers every binding that works on that
screen right now: the focused widget's, the screen's, the app's (mode switches, quit), plus
the bindings of the screen's other widgets whose id starts with the screen's
`COMMAND_SCOPE` (e.g. the result tree's "copy UID" while the search form has focus).
Each entry shows its key and uses the binding's tooltip as help.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


def _key_display(node: DOMNode, binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    key = binding.key.split(",")[0]
    try:
        return node.app.get_key_display(binding.with_key(key))
    except Exception:  # a key Textual cannot display; show it as written
        return key


def screen_commands(screen: DOMNode) -> Iterator[tuple[str, str, str, DOMNode, Binding]]:
    """(title, key, help, node, binding) for every binding usable from `screen`."""
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
        yield binding.description, _key_display(node, binding), help_text, node, binding

    active = getattr(screen, "active_bindings", {})
    for active_binding in active.values():
        yield from offer(active_binding.node, active_binding.binding)
    scope = getattr(screen, "COMMAND_SCOPE", "")
    if scope:
        for widget in screen.walk_children():
            for _key, binding in widget._bindings:
                if binding.id and binding.id.split(".")[0] in (scope, "tree"):
                    yield from offer(widget, binding)


class ScreenCommands(Provider):
    """The current screen's key bindings as palette commands."""

    def _commands(self) -> list[tuple[str, str, str, DOMNode, Binding]]:
        return list(screen_commands(self.screen))

    def _runner(self, node: DOMNode, binding: Binding):  # type: ignore[no-untyped-def]
        async def run() -> None:
            from textual.widget import Widget

            if isinstance(node, Widget) and node.focusable and node.screen is self.screen:
                node.focus()
            await node.run_action(binding.action)

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
