"""The Servers mode against a real PostgreSQL (and a real Orthanc for C-ECHO)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from textual.notifications import Notify
from textual.widgets import Checkbox, Input

from adit_core import registry
from adit_core.db.database import Database
from adit_core.dicom.server import Capability
from adit_core.registry import ServerSpec
from adit_dev.orthanc import OrthancServer, free_port
from adit_tui.screens.confirm import ConfirmScreen
from adit_tui.screens.servers import ServersScreen
from adit_tui.screens.servers_form import FolderFormScreen, ServerFormScreen
from adit_tui.widgets.form_fields import FormField
from adit_tui.widgets.nav_table import NavTable
from tests.tui.jobs_support import (
    Harness,
    make_job,
    register_fake_servers,
    screen_text,
    shows,
)
from tests.waiting import wait_until
from tests.worker.support import register_orthanc

pytestmark = pytest.mark.timeout(60)

SECRET = "Bearer s3cr3t-t0ken"


def add_web_server(db: Database, name: str = "web", header: str | None = SECRET) -> None:
    with db.session() as session:
        registry.add_server(
            session,
            ServerSpec(
                name=name,
                ae_title="WEBPACS",
                host="pacs.example.org",
                port=104,
                capabilities=frozenset({Capability.FIND, Capability.QIDO, Capability.WADO}),
                dicomweb_root_url="https://reader:pa55word@pacs.example.org/dicom-web",
                authorization_header=header,
            ),
        )


def add_folder(db: Database, name: str = "research", path: str = "/data/research") -> None:
    with db.session() as session:
        registry.add_folder(session, name, path, quota_gb=Decimal("100"))


def stored_server(db: Database, name: str) -> Any:
    with db.session() as session:
        return registry.get_server_row(session, name)


def node_names(db: Database) -> tuple[list[str], list[str]]:
    with db.session() as session:
        return (
            [r.name for r in registry.list_servers(session)],
            [r.name for r in registry.list_folders(session)],
        )


async def ready(pilot: Any) -> ServersScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ServersScreen)
    await wait_until(pilot, lambda: screen.loaded_once, what="registry loaded")
    return screen


def rows(screen: ServersScreen, table: str) -> dict[str, list[str]]:
    """Every row by name: the cells in column order (shown or not)."""
    widget = screen.query_one(f"#{table}", NavTable)
    return {
        key: [widget.cell_text(key, column.key) for column in widget.spec]
        for key in widget.keys_in_order()
    }


def notes(messages: list[Any]) -> list[tuple[str, str, str]]:
    return [
        (m.notification.severity, m.notification.title, m.notification.message)
        for m in messages
        if isinstance(m, Notify)
    ]


async def fill(pilot: Any, field: str, value: str) -> None:
    widget = pilot.app.screen.query_one(f"#{field}", FormField).input
    widget.value = value
    await pilot.pause()


async def test_lists_servers_and_folders_and_never_shows_secrets(database: Database) -> None:
    register_fake_servers(database, "pacs")
    add_web_server(database)
    add_folder(database)
    app = Harness(database, mode="servers")
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await ready(pilot)
        servers = rows(screen, "servers")
        assert list(servers) == ["pacs", "web"]
        assert servers["pacs"][:4] == ["pacs", "PACS", "pacs.example.org", "11112"]
        assert servers["pacs"][5] == "find,get,move,store"
        assert servers["web"][4:] == ["yes", "find,qido,wado"]
        assert rows(screen, "folders") == {
            "research": ["research", "100 GB", "-", "/data/research"]
        }
        await pilot.press("j")  # the web server: details below the tables
        shown = await shows(
            pilot,
            "authorization header set",
            "DICOMweb https://***:***@pacs.example.org/dicom-web",
        )
        assert "s3cr3t" not in shown and "pa55word" not in shown and "reader" not in shown

        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ServerFormScreen))
        form = app.screen
        assert form.query_one("#authorization", FormField).value == ""
        assert form.query_one("#authorization", FormField).input.password
        assert all(SECRET not in i.value for i in form.query(Input))
        assert form.query_one("#dicomweb_url", FormField).value == (
            "https://***:***@pacs.example.org/dicom-web"
        )
        assert "s3cr3t" not in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        await pilot.press("tab")  # to the folders
        await wait_until(pilot, lambda: screen.active == "folders")
        await wait_until(pilot, lambda: "/data/research" in screen_text(app).splitlines()[-4])
        assert screen.check_action("echo", ()) is False


async def test_add_server_explains_bad_fields_next_to_them(database: Database) -> None:
    register_fake_servers(database, "pacs")
    messages: list[Any] = []
    app = Harness(database, mode="servers")
    async with app.run_test(size=(100, 24), message_hook=messages.append) as pilot:
        screen = await ready(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ServerFormScreen))
        form = app.screen
        await fill(pilot, "ae_title", "AN_AE_TITLE_FAR_TOO_LONG")
        await fill(pilot, "host", "bad host")
        await fill(pilot, "port", "99999")
        await fill(pilot, "dicomweb_url", "ftp://pacs")
        await fill(pilot, "capabilities", "find,fly")
        await fill(pilot, "max_search_results", "many")
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = {f.id: f.error for f in form.query(FormField) if f.error}
        assert errors == {
            "name": "the name must not be empty",
            "ae_title": "invalid AE title 'AN_AE_TITLE_FAR_TOO_LONG': "
            "1 to 16 printable ASCII characters, no backslash",
            "host": "invalid host 'bad host': give a host name (letters, digits, hyphens and "
            "dots, at most 253 characters) or an IP address",
            "port": "invalid port 99999: must be between 1 and 65535",
            "dicomweb_url": "invalid DICOMweb URL 'ftp://pacs': must start with http:// or https://",
            "capabilities": "unknown capability 'fly'; valid: find, get, move, store, qido, "
            "wado, stow",
            "max_search_results": "the result cap must be a whole number, not 'many'",
        }
        await shows(pilot, "invalid port 99999: must be between 1 and 65535")  # by the field
        assert app.focused is form.query_one("#name", FormField).input
        assert node_names(database) == (["pacs"], [])

        # Fixing a field clears its message at once; cross-field rules are explained too.
        await fill(pilot, "port", "4242")
        assert form.query_one("#port", FormField).error is None
        for field, value in (("name", "pacs"), ("ae_title", "ORTHANC"), ("host", "127.0.0.1"),
                             ("dicomweb_url", ""), ("capabilities", "find,qido"),
                             ("max_search_results", "50")):  # fmt: skip
            await fill(pilot, field, value)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.query_one("#capabilities", FormField).error == "qido need a DICOMweb URL"
        await fill(pilot, "capabilities", "find,get")
        form.query_one("#study_root", Checkbox).value = False
        await pilot.press("ctrl+s")
        await pilot.pause()
        await shows(pilot, "choose at least one query model")
        form.query_one("#patient_root", Checkbox).value = True
        await pilot.press("ctrl+s")
        # The registry refuses a name in use: the message lands at the name field.
        await wait_until(pilot, lambda: form.query_one("#name", FormField).error is not None)
        assert form.query_one("#name", FormField).error == "a server named 'pacs' already exists"

        await fill(pilot, "name", "orthanc")
        form.query_one("#authorization", FormField).input.value = "Basic abc"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen is screen, what="form closed")
        await wait_until(pilot, lambda: "orthanc" in rows(screen, "servers"))
    row = stored_server(database, "orthanc")
    assert (row.ae_title, row.host, row.port, row.max_search_results) == (
        "ORTHANC", "127.0.0.1", 4242, 50
    )  # fmt: skip
    assert row.patient_root_find and row.patient_root_get and not row.study_root_find
    assert row.authorization_header == "Basic abc"
    assert ("information", "Servers", "Added server orthanc.") in notes(messages)


async def test_editing_keeps_replaces_or_removes_the_secret(database: Database) -> None:
    add_web_server(database)
    app = Harness(database, mode="servers")
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await ready(pilot)

        async def edit(change: Any) -> None:
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ServerFormScreen))
            await change(app.screen)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.screen is screen, what="saved")

        async def new_port(form: Any) -> None:
            await fill(pilot, "port", "1104")

        await edit(new_port)
        row = stored_server(database, "web")
        assert (row.port, row.authorization_header) == (1104, SECRET)
        assert row.dicomweb_root_url == "https://reader:pa55word@pacs.example.org/dicom-web"

        async def new_secret(form: Any) -> None:
            await fill(pilot, "authorization", "Bearer other")
            await fill(pilot, "name", "web2")

        await edit(new_secret)
        assert stored_server(database, "web2").authorization_header == "Bearer other"
        await wait_until(pilot, lambda: list(rows(screen, "servers")) == ["web2"])

        async def no_secret(form: Any) -> None:
            form.query_one("#clear_auth", Checkbox).value = True
            await pilot.pause()

        await edit(no_secret)
        assert stored_server(database, "web2").authorization_header is None
        await wait_until(pilot, lambda: "no authorization header" in screen_text(app))


async def test_folders_can_be_added_and_changed(database: Database, tmp_path: Any) -> None:
    app = Harness(database, mode="servers")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        await shows(pilot, "none yet, press f to add one")
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, FolderFormScreen))
        form = app.screen
        await fill(pilot, "name", "out")
        await fill(pilot, "path", str(tmp_path / "out"))
        await fill(pilot, "quota_gb", "10")
        await fill(pilot, "warn_size_gb", "20")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.query_one("#warn_size_gb", FormField).error == (
            "the warning size must not exceed the quota"
        )
        assert form.query_one("#path", FormField).error == (
            f"{tmp_path / 'out'} does not exist: create it first (`adit folder add --create` "
            "can), and mount it there on every worker host"
        )
        (tmp_path / "out").mkdir()
        await fill(pilot, "warn_size_gb", "8.5")
        await pilot.press("enter")  # enter in a field saves too
        await wait_until(pilot, lambda: "out" in rows(screen, "folders"), what="folder listed")
        assert rows(screen, "folders")["out"][1:3] == ["10 GB", "8.5 GB"]

        await pilot.press("tab", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, FolderFormScreen))
        assert app.screen.query_one("#quota_gb", FormField).value == "10"
        await fill(pilot, "name", "archive")
        await fill(pilot, "quota_gb", "")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: list(rows(screen, "folders")) == ["archive"])
    with database.session() as session:
        [folder] = registry.list_folders(session)
    assert (folder.name, folder.path, folder.quota_gb, folder.warn_size_gb) == (
        "archive", str(tmp_path / "out"), None, Decimal("8.5")
    )  # fmt: skip


async def test_remove_asks_first_and_refuses_servers_that_jobs_use(database: Database) -> None:
    register_fake_servers(database, "src", "dst", "spare")
    add_folder(database)
    make_job(database, 1)
    messages: list[Any] = []
    app = Harness(database, mode="servers")
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await ready(pilot)
        await pilot.press("G")  # "src", the last server
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await shows(pilot, "Remove server src?")
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n[0] == "error" for n in notes(messages)))
        refused = "the server 'src' is used by existing jobs and cannot be removed"
        assert ("error", "Servers", refused) in notes(messages)
        await pilot.press("k", "d")  # "spare"
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert node_names(database)[0] == ["dst", "spare", "src"]
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: list(rows(screen, "servers")) == ["dst", "src"])

        await pilot.press("tab", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await shows(pilot, "Remove folder research?")
        await pilot.press("y")
        await wait_until(pilot, lambda: not rows(screen, "folders"))
    assert node_names(database) == (["dst", "src"], [])


@pytest.mark.orthanc
async def test_echo_reports_each_server_by_name(
    database: Database, orthanc_a: OrthancServer
) -> None:
    register_orthanc("pacs", orthanc_a, "find,get")
    with database.session() as session:
        registry.add_server(
            session, ServerSpec(name="gone", ae_title="GONE", host="127.0.0.1", port=free_port())
        )
    messages: list[Any] = []
    app = Harness(database, mode="servers")
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await ready(pilot)
        await pilot.press("c")  # "gone" comes first
        await wait_until(
            pilot, lambda: any(n[1] == "Echo gone: no answer" for n in notes(messages))
        )
        await pilot.press("j", "c")
        await wait_until(pilot, lambda: any(n[1] == "Echo pacs: OK" for n in notes(messages)))
    failure = next(n for n in notes(messages) if n[1] == "Echo gone: no answer")
    assert failure[0] == "error" and "gone" in failure[2]
    success = next(n for n in notes(messages) if n[1] == "Echo pacs: OK")
    assert success[2].startswith("C-ECHO to pacs answered in ")
