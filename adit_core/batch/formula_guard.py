"""Values that a spreadsheet program would run as a formula, written so that it never does.

A study description from a PACS (``=1+1``, ``@SUM(1+1)``, ``=HYPERLINK(...)``) or a
pseudonym from a batch file is data: written as it is into an export, it would become a
live formula when the file is opened (spreadsheet formula injection). Every text that
starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is therefore written as text:
in .xlsx as a string cell (never a formula) marked like Excel marks text typed after an
apostrophe; in .csv prefixed with ``'`` as OWASP recommends.

The escape is reversed when a batch file is read, so an export read back as a batch
transfer file gives the original values: a value that starts with ``'`` followed by one of
those characters loses exactly one ``'``. An original value that itself starts that way
gets one more ``'`` on the way out, in .xlsx too, so nothing is ever changed. Reading .xlsx
the same way keeps a CSV export that Excel opened (showing the ``'``) and saved as .xlsx
exact as well.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def starts_like_a_formula(value: str) -> bool:
    return value.startswith(FORMULA_TRIGGERS)


def csv_text(value: str) -> str:
    """`value` for a CSV cell: prefixed with ``'`` when a spreadsheet would evaluate it
    (or when it already looks escaped, so that reading it back is exact)."""
    if starts_like_a_formula(value) or _ESCAPED.match(value):
        return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """`value` for an .xlsx string cell: only a value that would read as escaped changes."""
    return "'" + value if _ESCAPED.match(value) else value


def unescaped(value: str) -> str:
    """A cell read from a batch file, without the ``'`` that `csv_text` added."""
    if value.startswith("'") and _ESCAPED.match(value):
        return value[1:]
    return value
