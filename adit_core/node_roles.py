"""Which registered servers and folders can play which role, decided in this one place.

A server can be searched (C-FIND or QIDO-RS), retrieved from (C-GET, C-MOVE or WADO-RS)
and stored to (C-STORE or STOW-RS); a folder can only be stored to. A transfer source must
be searched (to list what to fetch and what is expected) and retrieved from; a batch query
source must be searched; a destination must accept data. The CLI, the app's server lists
and job creation all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from adit_core.db import sql
from adit_core.dicom.server import Capability, DicomServer
from adit_core.jobs.errors import JobError

if TYPE_CHECKING:
    from adit_core.db.sql import Connectable


class Role(StrEnum):
    SEARCH = "search"
    RETRIEVE = "retrieve"
    STORE = "store"


@dataclass(frozen=True)
class RoleRule:
    capabilities: frozenset[Capability]  # any one of them gives the role
    refusal: str  # why a server lacks it; "{name}" is replaced by the server's name (repr)


ROLES: dict[Role, RoleRule] = {
    Role.SEARCH: RoleRule(
        frozenset({Capability.FIND, Capability.QIDO}),
        "server {name} cannot be searched (neither C-FIND nor QIDO-RS)",
    ),
    Role.RETRIEVE: RoleRule(
        frozenset({Capability.GET, Capability.MOVE, Capability.WADO}),
        "server {name} offers no way to retrieve (C-GET, C-MOVE or WADO-RS)",
    ),
    Role.STORE: RoleRule(
        frozenset({Capability.STORE, Capability.STOW}),
        "server {name} accepts no data (neither C-STORE nor STOW-RS)",
    ),
}

# What each kind of source must offer (in the order they are checked).
TRANSFER_SOURCE = (Role.SEARCH, Role.RETRIEVE)
QUERY_SOURCE = (Role.SEARCH,)


def server_roles(server: DicomServer) -> frozenset[Role]:
    capabilities = server.capabilities()
    return frozenset(role for role, rule in ROLES.items() if capabilities & rule.capabilities)


@dataclass(frozen=True)
class NodeInfo:
    """A server or folder as lists show it (never with host or port: screens are shared)."""

    name: str
    kind: str  # "server" or "folder"
    roles: frozenset[Role]

    @property
    def label(self) -> str:
        return f"{self.name} (folder)" if self.kind == "folder" else self.name

    def can(self, *roles: Role) -> bool:
        return set(roles) <= self.roles


# Plain SQL: `adit transfer` resolves its nodes without loading the ORM (fast start-up).
_NODES = (
    "SELECT n.id, n.name, n.kind, s.* FROM dicom_nodes n "
    "LEFT JOIN dicom_servers s ON s.node_id = n.id "
)


@dataclass(frozen=True)
class Node:
    """A registered server (with its address and capabilities) or folder."""

    id: int
    name: str
    kind: str  # "server" or "folder"
    server: DicomServer | None  # None for a folder


def _node(found: dict[str, object]) -> Node:
    server = DicomServer.from_mapping(found) if found["kind"] == "server" else None
    return Node(int(str(found["id"])), str(found["name"]), str(found["kind"]), server)


def _info(node: Node) -> NodeInfo:
    if node.server is None:
        return NodeInfo(node.name, "folder", frozenset({Role.STORE}))
    return NodeInfo(node.name, "server", server_roles(node.server))


def list_nodes(session: Connectable) -> list[NodeInfo]:
    """Every registered server and folder, servers first, each group by name."""
    found = sql.rows(session, _NODES + "ORDER BY n.kind = 'folder', n.name")
    return [_info(_node(r)) for r in found]


def sources(nodes: list[NodeInfo], needs: tuple[Role, ...]) -> list[NodeInfo]:
    """The servers that offer every role in `needs`."""
    return [n for n in nodes if n.kind == "server" and n.can(*needs)]


def destinations(nodes: list[NodeInfo], *, exclude: str | None = None) -> list[NodeInfo]:
    """Servers that accept data, then folders; without `exclude` (the source)."""
    return [n for n in nodes if n.can(Role.STORE) and n.name != exclude]


def _find(session: Connectable, name: str) -> Node | None:
    found = sql.row(session, _NODES + "WHERE n.name = %s", (name,))
    return None if found is None else _node(found)


def _known(session: Connectable, kind: str | None) -> str:
    names = sql.rows(
        session,
        "SELECT name FROM dicom_nodes WHERE %(kind)s::text IS NULL OR kind = %(kind)s "
        "ORDER BY name",
        {"kind": kind},
    )
    return ", ".join(r["name"] for r in names) or "none"


def resolve_source(session: Connectable, name: str, needs: tuple[Role, ...]) -> Node:
    """The server named `name`, if it offers every role in `needs`; JobError else."""
    node = _find(session, name)
    if node is None:
        raise JobError(
            f"no server named {name!r} for the source (known: {_known(session, 'server')})"
        )
    if node.server is None:
        raise JobError(f"{name!r} is a folder; a source must be a DICOM server")
    offered = server_roles(node.server)
    for role in needs:
        if role not in offered:
            raise JobError(ROLES[role].refusal.replace("{name}", repr(name)))
    return node


def resolve_destination(session: Connectable, name: str) -> Node:
    """The server or folder named `name`, if it accepts data; JobError else."""
    node = _find(session, name)
    if node is None:
        raise JobError(
            f"no server or folder named {name!r} for the destination "
            f"(known: {_known(session, None)})"
        )
    if node.server is not None and Role.STORE not in server_roles(node.server):
        raise JobError(ROLES[Role.STORE].refusal.replace("{name}", repr(name)))
    return node
