"""Typed errors of the DICOM layer.

Every message names the server and the operation, so it can be shown to a user or an
administrator as it is. `transient` tells retry logic whether trying again may help.
"""

from __future__ import annotations

from adit_core.errors import AditError
from adit_core.redact import mask_secrets


class DicomError(AditError):
    transient: bool = False

    def __init__(self, server: str, operation: str, message: str, *, status: int | None = None):
        self.server = server
        self.operation = operation
        self.detail = mask_secrets(message)
        self.status = status
        super().__init__(f"{operation} on {server} failed: {self.detail}")


class DicomConnectionError(DicomError):
    """The peer could not be reached, or the connection broke: worth retrying."""

    transient = True


class DicomTimeoutError(DicomConnectionError):
    """The peer stopped answering within the configured timeout."""


class DicomAssociationRejected(DicomError):
    """The peer refused the association (wrong AE title, not allowed, no presentation context)."""


class DicomOperationError(DicomError):
    """The peer answered the request with a failure status (or an HTTP error)."""

    def __init__(
        self,
        server: str,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
    ):
        super().__init__(server, operation, message, status=status)
        self.transient = transient


class DicomCapabilityError(DicomError):
    """The server is not configured for what was asked (e.g. C-GET on a store-only node)."""


class DicomCanceled(DicomError):
    """The operation was cancelled by the caller."""
