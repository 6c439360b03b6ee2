"""Which servers can be searched, retrieved from, stored to: one rule for every list and
for job creation (adit_core.node_roles)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adit_cli.main import cli
from adit_core import node_roles
from adit_core.batch import QueryBatch, QueryRow, create_batch_query_job
from adit_core.db.database import Database
from adit_core.jobs.create import TransferItem, TransferOptions, create_transfer_job
from adit_core.jobs.errors import JobError
from adit_core.node_roles import Role
from adit_tui import services
from adit_tui.screens.batch import list_choices

STUDY = "1.2.826.0.1.3680043.8.498.1"

# name → capabilities (DICOMweb ones get a URL)
SERVERS = {
    "find-only": "find",
    "get-only": "get",
    "find-get": "find,get",
    "move-find": "find,move",
    "store-only": "store",
    "web": "qido,wado,stow",
    "web-search": "qido",
}


def adit(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def registry(database: Database, tmp_path: Path) -> Database:
    for i, (name, caps) in enumerate(SERVERS.items()):
        command = ["server", "add", name, "--ae-title", f"AE{i}", "--host", "127.0.0.1",
                   "--port", str(100 + i), "--capabilities", caps]  # fmt: skip
        if any(web in caps for web in ("qido", "wado", "stow")):
            command += ["--dicomweb-url", "http://127.0.0.1:1/dicom-web"]
        assert adit(*command).exit_code == 0
    assert adit("folder", "add", "out", "--path", str(tmp_path / "out"), "--create").exit_code == 0
    return database


def names(nodes: list[node_roles.NodeInfo]) -> list[str]:
    return [n.name for n in nodes]


def test_roles_of_each_kind_of_server(registry: Database) -> None:
    with registry.session() as session:
        roles = {n.name: n.roles for n in node_roles.list_nodes(session)}
    assert roles == {
        "find-get": {Role.SEARCH, Role.RETRIEVE},
        "find-only": {Role.SEARCH},
        "get-only": {Role.RETRIEVE},
        "move-find": {Role.SEARCH, Role.RETRIEVE},
        "store-only": {Role.STORE},
        "web": {Role.SEARCH, Role.RETRIEVE, Role.STORE},
        "web-search": {Role.SEARCH},
        "out": {Role.STORE},
    }


def test_the_batch_screen_offers_what_the_transfer_and_explorer_screens_offer(
    registry: Database,
) -> None:
    choices = list_choices(registry)
    transfer = services.list_sources(registry, node_roles.TRANSFER_SOURCE)
    explorer = services.list_sources(registry, node_roles.QUERY_SOURCE)
    assert choices.transfer_sources == transfer
    assert choices.query_sources == explorer
    assert choices.destinations == services.list_destinations(registry)
    assert names(transfer) == ["find-get", "move-find", "web"]
    assert names(explorer) == ["find-get", "find-only", "move-find", "web", "web-search"]
    assert [n.label for n in choices.destinations] == ["store-only", "web", "out (folder)"]
    assert names(services.list_destinations(registry, exclude="web")) == ["store-only", "out"]


def test_job_creation_accepts_exactly_the_listed_sources_and_destinations(
    registry: Database,
) -> None:
    """What the lists offer is what creating a job accepts, server by server."""
    transfer_sources = names(services.list_sources(registry, node_roles.TRANSFER_SOURCE))
    query_sources = names(services.list_sources(registry, node_roles.QUERY_SOURCE))
    destinations = names(services.list_destinations(registry))
    for name in [*SERVERS, "out"]:
        with registry.session() as session:
            try:
                create_transfer_job(
                    session,
                    source=name,
                    destination="out" if name != "out" else "store-only",
                    items=[TransferItem(study_uid=STUDY)],
                    options=TransferOptions(),
                )
                accepted = True
            except JobError:
                accepted = False
            session.rollback()
        assert accepted == (name in transfer_sources), name
        with registry.session() as session:
            try:
                create_batch_query_job(
                    session, QueryBatch(Path("q.csv"), [QueryRow(line=2, patient_id="1")]),
                    source=name,
                )  # fmt: skip
                accepted = True
            except JobError:
                accepted = False
            session.rollback()
        assert accepted == (name in query_sources), name
        with registry.session() as session:
            try:
                node_roles.resolve_destination(session, name)
                accepted = True
            except JobError:
                accepted = False
        assert accepted == (name in destinations), name


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("nope", "no server named 'nope' for the source (known: find-get, find-only"),
        ("out", "'out' is a folder; a source must be a DICOM server"),
        ("get-only", "server 'get-only' cannot be searched (neither C-FIND nor QIDO-RS)"),
        ("find-only", "server 'find-only' offers no way to retrieve (C-GET, C-MOVE or WADO-RS)"),
    ],
)
def test_a_refused_transfer_source_says_why(registry: Database, source: str, message: str) -> None:
    result = adit("transfer", "-s", source, "-d", "out", "--study", STUDY)
    assert result.exit_code == 1
    assert message in result.stderr
