class JobError(ValueError):
    """A job request that cannot be carried out; the message says why."""
