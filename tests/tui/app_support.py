"""Helpers for the app shell, Explorer and Transfer tests: the app, servers, waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from adit_core import registry
from adit_core.db.database import Database
from adit_dev.orthanc import OrthancServer
from adit_tui.app import AditApp
from adit_tui.config import TuiConfig
from tests.worker.support import register_orthanc

SOURCE = "pacs-a"
DESTINATION = "pacs-b"


def make_app(db: Database, **config: Any) -> AditApp:
    settings = TuiConfig.for_tests()
    for key, value in config.items():
        setattr(settings, key, value)
    return AditApp(db, config=settings)


def register_pair(orthanc_a: OrthancServer, orthanc_b: OrthancServer) -> None:
    """pacs-a (the corpus; DIMSE and DICOMweb) and pacs-b (empty; C-STORE and C-FIND)."""
    register_orthanc(SOURCE, orthanc_a, "find,get,move,store,qido,wado")
    register_orthanc(DESTINATION, orthanc_b, "find,get,store")


def add_folder(db: Database, name: str, path: str) -> None:
    with db.session() as session:
        registry.add_folder(session, name, path)


def notes(messages: list[Any]) -> list[tuple[str, str, str]]:
    """(severity, title, message) of every notification among `messages` (a message hook's)."""
    return [
        (m.notification.severity, m.notification.title, m.notification.message)
        for m in messages
        if isinstance(m, Notify)
    ]


def find_node(tree: Tree[object], predicate: Callable[[object], bool]) -> TreeNode[object]:
    def walk(node: TreeNode[object]) -> TreeNode[object] | None:
        for child in node.children:
            if predicate(child.data):
                return child
            found = walk(child)
            if found is not None:
                return found
        return None

    found = walk(tree.root)
    assert found is not None, "no such node in the tree"
    return found


async def go_to(pilot: Pilot[Any], tree: Tree[object], node: TreeNode[object]) -> None:
    """Open the node's ancestors and put the cursor on it."""
    parent = node.parent
    while parent is not None and parent is not tree.root:
        parent.expand()
        parent = parent.parent
    await pilot.pause()
    tree.move_cursor(node)
    await pilot.pause()
    assert tree.cursor_node is node


def labels(node: TreeNode[object]) -> list[str]:
    return [str(child.label) for child in node.children]
