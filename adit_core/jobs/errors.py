from adit_core.errors import AditError


class JobError(AditError):
    """A job request that cannot be carried out; the message says why."""
