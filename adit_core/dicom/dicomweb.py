"""DICOMweb client: QIDO-RS searches, streamed WADO-RS retrieval, batched STOW-RS.

Built on plain `requests` rather than dicomweb-client: WADO-RS answers are split into
instances while they stream in, and STOW-RS request bodies are streamed from the
instances' bytes. Every failure is raised as a DicomError naming the server and the
operation; a server's Authorization header never appears in a message.

Each function opens its own session unless one from `dicomweb_session` is passed.
"""

from adit_core.dicom.dicomweb_http import dicomweb_session
from adit_core.dicom.dicomweb_qido import qido, qido_ping
from adit_core.dicom.dicomweb_stow import StowResult, stow
from adit_core.dicom.dicomweb_wado import part_to_instance, wado_iter

__all__ = [
    "StowResult",
    "dicomweb_session",
    "part_to_instance",
    "qido",
    "qido_ping",
    "stow",
    "wado_iter",
]
