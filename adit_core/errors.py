"""The one base class of every error a user can act on.

An `AditError`'s message is a complete sentence fragment for people: it says what is wrong
and, where it can, what to do. The CLI prints it as one line (``error: …``) and exits 1;
the app shows it as a notification. Anything that is not an `AditError` is a bug and keeps
its traceback.
"""

from __future__ import annotations


class AditError(Exception):
    """An error a user can act on; str(error) is the message to show as it is."""
