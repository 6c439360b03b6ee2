"""Keeping credentials out of what people and logs see.

The one rule: the user and password inside any URL (``http://alice:secret@pacs/...``,
``postgresql://adit:pw@db/adit``) are shown as ``***``, and so is the value of a
``password=`` parameter (libpq keyword strings, URL query strings). `mask_url` applies it to
one URL, `mask_secrets` to every URL inside a text (messages, log lines). The listings, the
app, the log formatters and the CLI's error line all go through here.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://userinfo@ : the userinfo runs to the last "@" before the path, query or fragment.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s]*)@")
_PASSWORD_PARAMETER = re.compile(
    r"(?P<key>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s&;,'\"]+)", re.IGNORECASE
)


def _masked_userinfo(match: re.Match[str]) -> str:
    shape = f"{MASK}:{MASK}" if ":" in match.group("userinfo") else MASK
    return f"{match.group('scheme')}{shape}@"


def mask_secrets(text: str) -> str:
    """`text` with the credentials of every URL in it, and every password=…, masked."""
    if "@" in text:
        text = _USERINFO.sub(_masked_userinfo, text)
    if "=" in text:
        text = _PASSWORD_PARAMETER.sub(lambda m: m.group("key") + MASK, text)
    return text


def mask_url(url: str | None) -> str:
    """A URL fit for a screen, a listing or a log: user and password become ``***``."""
    if not url:
        return ""
    return mask_secrets(url)


def has_credentials(url: str | None) -> bool:
    """Whether a URL carries a user or password (which belong in an Authorization header)."""
    return bool(url) and mask_url(url) != url
