"""`adit server ...`: the registry of DICOM servers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from adit_cli.context import CliContext, info, pass_context
from adit_cli.options import SEARCH_RESULTS
from adit_core import registry
from adit_core.dicom.server import Capability
from adit_core.redact import has_credentials, mask_url
from adit_core.registry import RegistryError, ServerSpec


def _capabilities(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> frozenset[Capability] | None:
    if value is None:
        return None
    try:
        return frozenset(registry.parse_capabilities(value))
    except RegistryError as exc:
        raise click.BadParameter(str(exc)) from None


def _auth_header(value: str | None, env_var: str | None) -> str | None:
    if env_var:
        found = os.environ.get(env_var)
        if not found:
            raise click.BadParameter(f"environment variable {env_var} is not set")
        return found
    return value


def _warn_url_credentials(url: str | None) -> None:
    if has_credentials(url):
        info(
            "warning: the DICOMweb URL carries a user and password; they are masked in "
            "listings and logs, but belong in the Authorization header: "
            "--authorization-header-env VAR"
        )


F = TypeVar("F", bound=Callable[..., Any])

_CAPS_HELP = "Comma list of " + ",".join(c.value for c in Capability) + "."


def server_options(f: F) -> F:
    """Options shared by `add` and `edit` (in `edit`, anything not given stays as it is)."""
    options = [
        click.option("--ae-title", help="The server's AE title (called AE)."),
        click.option("--host", help="Host name or IP address."),
        click.option("--port", type=click.IntRange(1, 65535), help="DICOM port."),
        click.option("--dicomweb-url", help="DICOMweb root URL, e.g. http://pacs:8042/dicom-web."),
        click.option(
            "--capabilities",
            callback=_capabilities,
            help=_CAPS_HELP + " Default find,get,move,store (+qido,wado,stow with --dicomweb-url).",
        ),
        click.option("--patient-root", is_flag=True, default=None, help="Patient-root model."),
        click.option(
            "--study-root", is_flag=True, default=None, help="Study-root model (default)."
        ),
        click.option("--qido-prefix", help="Path after the DICOMweb root for QIDO-RS."),
        click.option("--wado-prefix", help="Path after the DICOMweb root for WADO-RS."),
        click.option("--stow-prefix", help="Path after the DICOMweb root for STOW-RS."),
        click.option(
            "--authorization-header",
            help="Authorization header for DICOMweb (visible in shell history; "
            "prefer --authorization-header-env).",
        ),
        click.option(
            "--authorization-header-env",
            metavar="VAR",
            help="Read the DICOMweb Authorization header from this environment variable.",
        ),
        click.option("--max-search-results", type=SEARCH_RESULTS, help="Result cap (200)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group()
def server() -> None:
    """Register, list, change, remove and check DICOM servers."""


@server.command()
@click.argument("name")
@server_options
@pass_context
def add(state: CliContext, name: str, **opts: Any) -> None:
    """Register a DICOM server called NAME."""
    missing = [f"--{k.replace('_', '-')}" for k in ("ae_title", "host", "port") if not opts[k]]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}")
    patient_root = bool(opts["patient_root"])
    study_root = bool(opts["study_root"]) or not patient_root
    spec = ServerSpec(
        name=name,
        ae_title=opts["ae_title"],
        host=opts["host"],
        port=opts["port"],
        capabilities=opts["capabilities"] or registry.default_capabilities(opts["dicomweb_url"]),
        patient_root=patient_root,
        study_root=study_root,
        dicomweb_root_url=opts["dicomweb_url"],
        qido_prefix=opts["qido_prefix"] or "",
        wado_prefix=opts["wado_prefix"] or "",
        stow_prefix=opts["stow_prefix"] or "",
        authorization_header=_auth_header(
            opts["authorization_header"], opts["authorization_header_env"]
        ),
        max_search_results=opts["max_search_results"] or 200,
    )
    with state.session() as session:
        registry.add_server(session, spec)
    info(f"added server {spec.name} ({spec.ae_title}@{spec.host}:{spec.port})")
    _warn_url_credentials(spec.dicomweb_root_url)


@server.command()
@click.argument("name")
@click.option("--name", "new_name", help="Rename the server.")
@server_options
@pass_context
def edit(state: CliContext, name: str, new_name: str | None, **opts: Any) -> None:
    """Change a registered server; options not given keep their value."""
    with state.session() as session:
        row = registry.get_server_row(session, name)
        spec = ServerSpec.from_row(row)
        if new_name is not None:
            spec.name = new_name
        for key in ("ae_title", "host", "port", "qido_prefix", "wado_prefix", "stow_prefix"):
            if opts[key] is not None:
                setattr(spec, key, opts[key])
        if opts["dicomweb_url"] is not None:
            spec.dicomweb_root_url = opts["dicomweb_url"] or None
            if not spec.dicomweb_root_url and opts["capabilities"] is None:
                spec.capabilities = spec.capabilities - {
                    Capability.QIDO,
                    Capability.WADO,
                    Capability.STOW,
                }
        if opts["capabilities"] is not None:
            spec.capabilities = opts["capabilities"]
        if opts["patient_root"] or opts["study_root"]:
            spec.patient_root = bool(opts["patient_root"])
            spec.study_root = bool(opts["study_root"])
        header = _auth_header(opts["authorization_header"], opts["authorization_header_env"])
        if header is not None:
            spec.authorization_header = header or None
        if opts["max_search_results"] is not None:
            spec.max_search_results = opts["max_search_results"]
        registry.update_server(session, name, spec)
    info(f"updated server {spec.name}")
    _warn_url_credentials(spec.dicomweb_root_url)


@server.command()
@click.argument("name")
@pass_context
def remove(state: CliContext, name: str) -> None:
    """Remove a registered server."""
    with state.session() as session:
        registry.remove_node(session, name, "server")
    info(f"removed server {name}")


def _server_dict(row: registry.DicomServerRow) -> dict[str, Any]:
    server = registry.to_dicom_server(row)
    return {
        "name": row.name,
        "ae_title": row.ae_title,
        "host": row.host,
        "port": row.port,
        "capabilities": sorted(c.value for c in server.capabilities()),
        "patient_root": row.patient_root_find or row.patient_root_get or row.patient_root_move,
        "study_root": row.study_root_find or row.study_root_get or row.study_root_move,
        "dicomweb_url": mask_url(row.dicomweb_root_url) or None,
        "qido_prefix": row.qido_prefix,
        "wado_prefix": row.wado_prefix,
        "stow_prefix": row.stow_prefix,
        # Never print the secret itself; say whether one is configured.
        "authorization_header": "set" if row.authorization_header else None,
        "max_search_results": row.max_search_results,
    }


@server.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_context
def list_(state: CliContext, as_json: bool) -> None:
    """List registered servers."""
    with state.session() as session:
        rows = [_server_dict(r) for r in registry.list_servers(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        info("no servers registered; add one with `adit server add`")
        return
    header = ("NAME", "AE TITLE", "HOST", "PORT", "MODEL", "CAPABILITIES", "DICOMWEB")
    table = [header]
    for r in rows:
        model = "+".join(
            m for m, on in (("patient", r["patient_root"]), ("study", r["study_root"])) if on
        )
        caps = ",".join(r["capabilities"])
        table.append(
            (
                str(r["name"]),
                str(r["ae_title"]),
                str(r["host"]),
                str(r["port"]),
                model,
                caps,
                str(r["dicomweb_url"] or "-"),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@server.command()
@click.argument("name")
@pass_context
def echo(state: CliContext, name: str) -> None:
    """Check that a server answers: C-ECHO, or a QIDO-RS request for DICOMweb-only servers."""
    from adit_core import settings

    with state.session() as session:
        server_ = registry.get_server(session, name)
        local = settings.load(session).local_node
    from adit_core.dicom.operations import echo as echo_server

    method, seconds = echo_server(server_, local)
    click.echo(f"{method} to {name} succeeded in {seconds * 1000:.0f} ms")
