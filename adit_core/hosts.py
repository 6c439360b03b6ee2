"""Host names and IP addresses as users type them (servers, database URLs).

A host is an IPv4 or IPv6 address (IPv6 also in brackets) or an RFC 1123 host name: dot
separated labels of letters, digits and hyphens, 1 to 63 characters each, no hyphen at
either end, at most 253 characters in all (one trailing dot allowed). Anything else, a
10 kB paste included, is refused before it reaches a socket or the database.
"""

from __future__ import annotations

import ipaddress
import re

MAX_HOST_NAME = 253
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _shown(host: str) -> str:
    return host if len(host) <= 40 else host[:40] + "…"


def normalized_host(host: str) -> str:
    """The host as it should be stored (spaces trimmed, IPv6 brackets removed); raises
    ValueError with a message for people."""
    value = host.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if not value:
        raise ValueError("the host must not be empty")
    try:
        return str(ipaddress.ip_address(value)) if ":" in value else _ipv4_or_name(value)
    except ValueError:
        pass
    raise ValueError(
        f"invalid host {_shown(host)!r}: give a host name (letters, digits, hyphens and dots, "
        f"at most {MAX_HOST_NAME} characters) or an IP address"
    )


def _ipv4_or_name(value: str) -> str:
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    if all(label.isdigit() for label in labels):  # it looks like an IPv4 address: be one
        return str(ipaddress.IPv4Address(value))
    if len(value) > MAX_HOST_NAME or not all(_LABEL.match(label) for label in labels):
        raise ValueError(value)
    return value
