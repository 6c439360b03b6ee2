"""What the DICOM layer needs to know about a peer: address and capabilities.

This is a plain value object so that the DICOM operations never touch the database;
`adit_core.registry` converts stored rows into it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Capability(StrEnum):
    FIND = "find"
    GET = "get"
    MOVE = "move"
    STORE = "store"
    QIDO = "qido"
    WADO = "wado"
    STOW = "stow"


DIMSE_CAPABILITIES = frozenset({Capability.FIND, Capability.GET, Capability.MOVE, Capability.STORE})
DICOMWEB_CAPABILITIES = frozenset({Capability.QIDO, Capability.WADO, Capability.STOW})


@dataclass(frozen=True)
class DicomServer:
    name: str
    ae_title: str
    host: str
    port: int
    patient_root_find: bool = False
    patient_root_get: bool = False
    patient_root_move: bool = False
    study_root_find: bool = True
    study_root_get: bool = True
    study_root_move: bool = True
    store: bool = True
    dicomweb_root_url: str | None = None
    dicomweb_qido: bool = False
    dicomweb_wado: bool = False
    dicomweb_stow: bool = False
    qido_prefix: str = ""
    wado_prefix: str = ""
    stow_prefix: str = ""
    # A secret: kept out of repr() so it never reaches logs or screens.
    authorization_header: str | None = field(default=None, repr=False)
    max_search_results: int = 200

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DicomServer:
        """A server from anything that has its fields by name (a database row as a dict)."""
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})

    @property
    def supports_find(self) -> bool:
        return self.patient_root_find or self.study_root_find

    @property
    def supports_get(self) -> bool:
        return self.patient_root_get or self.study_root_get

    @property
    def supports_move(self) -> bool:
        return self.patient_root_move or self.study_root_move

    @property
    def has_dimse(self) -> bool:
        return self.supports_find or self.supports_get or self.supports_move or self.store

    def capabilities(self) -> set[Capability]:
        caps: set[Capability] = set()
        if self.supports_find:
            caps.add(Capability.FIND)
        if self.supports_get:
            caps.add(Capability.GET)
        if self.supports_move:
            caps.add(Capability.MOVE)
        if self.store:
            caps.add(Capability.STORE)
        if self.dicomweb_root_url:
            if self.dicomweb_qido:
                caps.add(Capability.QIDO)
            if self.dicomweb_wado:
                caps.add(Capability.WADO)
            if self.dicomweb_stow:
                caps.add(Capability.STOW)
        return caps

    def dicomweb_url(self, prefix: str) -> str:
        """Base URL for one DICOMweb service (root URL plus the service's prefix)."""
        if not self.dicomweb_root_url:
            raise ValueError(f"server {self.name} has no DICOMweb root URL")
        root = self.dicomweb_root_url.rstrip("/")
        prefix = prefix.strip("/")
        return f"{root}/{prefix}" if prefix else root


@dataclass(frozen=True)
class LocalNode:
    """Who we are on the DICOM network (calling AE title for every association)."""

    ae_title: str = "ADIT"
    # Defaults suit large C-GET/C-MOVE: Orthanc answers a study-level C-MOVE only at the end.
    acse_timeout: float = 30.0
    dimse_timeout: float | None = 600.0
    network_timeout: float | None = 600.0
    connect_timeout: float = 10.0
