"""Real DICOM servers run as local processes, for tests, benchmarks and demos."""

from adit_core.devservers.orthanc import OrthancServer, find_orthanc, free_port

__all__ = ["OrthancServer", "find_orthanc", "free_port"]
