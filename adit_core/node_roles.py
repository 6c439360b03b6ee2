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

from sqlalchemy import select
from sqlalchemy.orm import Session

from adit_core import registry
from adit_core.db.models import DicomFolderRow, DicomNode, DicomServerRow
from adit_core.dicom.server import Capability, DicomServer
from adit_core.jobs.errors import JobError


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


def list_nodes(session: Session) -> list[NodeInfo]:
    """Every registered server and folder, servers first, each group by name."""
    servers = [
        NodeInfo(row.name, "server", server_roles(registry.to_dicom_server(row)))
        for row in registry.list_servers(session)
    ]
    folders = [
        NodeInfo(row.name, "folder", frozenset({Role.STORE}))
        for row in registry.list_folders(session)
    ]
    return servers + folders


def sources(nodes: list[NodeInfo], needs: tuple[Role, ...]) -> list[NodeInfo]:
    """The servers that offer every role in `needs`."""
    return [n for n in nodes if n.kind == "server" and n.can(*needs)]


def destinations(nodes: list[NodeInfo], *, exclude: str | None = None) -> list[NodeInfo]:
    """Servers that accept data, then folders; without `exclude` (the source)."""
    return [n for n in nodes if n.can(Role.STORE) and n.name != exclude]


def _known(session: Session, model: type[DicomNode]) -> str:
    names = session.scalars(select(model.name).order_by(model.name))
    return ", ".join(names) or "none"


def resolve_source(session: Session, name: str, needs: tuple[Role, ...]) -> DicomServerRow:
    """The server named `name`, if it offers every role in `needs`; JobError else."""
    node = session.scalar(select(DicomNode).where(DicomNode.name == name))
    if node is None:
        raise JobError(
            f"no server named {name!r} for the source (known: {_known(session, DicomServerRow)})"
        )
    if not isinstance(node, DicomServerRow):
        raise JobError(f"{name!r} is a folder; a source must be a DICOM server")
    offered = server_roles(registry.to_dicom_server(node))
    for role in needs:
        if role not in offered:
            raise JobError(ROLES[role].refusal.replace("{name}", repr(name)))
    return node


def resolve_destination(session: Session, name: str) -> DicomNode:
    """The server or folder named `name`, if it accepts data; JobError else."""
    node = session.scalar(select(DicomNode).where(DicomNode.name == name))
    if node is None:
        raise JobError(
            f"no server or folder named {name!r} for the destination "
            f"(known: {_known(session, DicomNode)})"
        )
    if isinstance(node, DicomServerRow):
        if Role.STORE not in server_roles(registry.to_dicom_server(node)):
            raise JobError(ROLES[Role.STORE].refusal.replace("{name}", repr(name)))
    elif not isinstance(node, DicomFolderRow):
        raise JobError(f"{name!r} cannot be a destination")
    return node
