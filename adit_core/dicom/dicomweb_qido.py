"""QIDO-RS searches, with workarounds for servers that do not decode query values."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import requests
from pydicom import Dataset

from adit_core.dicom.dicomweb_http import (
    CONNECT_TIMEOUT,
    DICOM_JSON,
    http_error,
    service_url,
    session_scope,
    translate_errors,
)
from adit_core.dicom.errors import DicomOperationError
from adit_core.dicom.query import RETURN_KEYS, UID_KEY, FindResult, Level, Query
from adit_core.dicom.server import DicomServer

log = logging.getLogger(__name__)

QIDO_READ_TIMEOUT = 60.0

# Characters sent unencoded in QIDO values: DICOM wildcards, comma lists, date ranges.
_QUERY_SAFE = "*?,-._~:/@!$'()"
# Orthanc 1.10 / DICOMweb 1.7 does not percent-decode QIDO values, so anything that needs
# encoding (non-ASCII, spaces, and "^", which urllib3 always encodes) never matches there.
_NEEDS_ENCODING = re.compile(r"[^A-Za-z0-9*?,\-._~:/@!$'()]+")
_CONTROL_PARAMS = frozenset({"limit", "offset", "includefield", "fuzzymatching"})


def qido(
    server: DicomServer,
    query: Query,
    *,
    limit: int | None = None,
    session: requests.Session | None = None,
) -> FindResult:
    """Search with QIDO-RS at the query's level; results are re-checked with `query.matches`.

    `limit` defaults to the server's max_search_results; 0 or less means no limit. One more
    result than the limit is asked for, so `truncated` is only set when more results exist.
    Patient-level searches run at study level and are grouped by PatientID.
    """
    if limit is None:
        limit = server.max_search_results
    base = service_url(server, server.qido_prefix, "QIDO-RS")
    with session_scope(server, session) as http:
        if query.level is Level.PATIENT:
            return _qido_patients(http, server, base, query, limit)
        datasets, truncated = _search(http, server, base, query, limit)
    return FindResult(datasets, truncated=truncated, limit=limit if limit > 0 else None)


def qido_ping(server: DicomServer, *, session: requests.Session | None = None) -> float:
    """A cheap QIDO-RS search (one study at most); returns the round trip in seconds."""
    base = service_url(server, server.qido_prefix, "QIDO-RS")
    with session_scope(server, session) as http:
        started = time.perf_counter()
        _get_json(http, server, f"{base}/studies", [("limit", "1")])
        return time.perf_counter() - started


def _qido_patients(
    http: requests.Session, server: DicomServer, base: str, query: Query, limit: int
) -> FindResult:
    # Patients have no QIDO-RS resource; search studies and group them, as ADIT does.
    study_limit = limit * 10 if limit > 0 else 0
    studies, studies_truncated = _search(http, server, base, query.at(Level.STUDY), study_limit)
    patients: dict[str, Dataset] = {}
    for study in studies:
        patient_id = str(study.get("PatientID", "") or "")
        patient = patients.get(patient_id)
        if patient is None:
            patient = Dataset()
            for key in RETURN_KEYS[Level.PATIENT]:
                if key in study:
                    setattr(patient, key, study[key].value)
            if "SpecificCharacterSet" in study:
                patient.SpecificCharacterSet = study.SpecificCharacterSet
            patient.NumberOfPatientRelatedStudies = 0
            patients[patient_id] = patient
        patient.NumberOfPatientRelatedStudies = int(patient.NumberOfPatientRelatedStudies) + 1
    found = [p for p in patients.values() if query.matches(p)]
    truncated = studies_truncated or (limit > 0 and len(found) > limit)
    if limit > 0:
        found = found[:limit]
    return FindResult(found, truncated=truncated, limit=limit if limit > 0 else None)


def _search(
    http: requests.Session, server: DicomServer, base: str, query: Query, limit: int
) -> tuple[list[Dataset], bool]:
    """One QIDO-RS search, with fallbacks when the server finds nothing."""
    params = query.qido_params()
    datasets, truncated = _fetch(http, server, base, query, params, limit)
    if datasets:
        return datasets, truncated
    if len(query.modalities) > 1:
        # Not every server takes a comma list of modalities: ask once per modality.
        merged: dict[str, Dataset] = {}
        any_truncated = truncated
        for single in query.per_modality():
            found, more = _search(http, server, base, single, limit)
            any_truncated = any_truncated or more
            for ds in found:
                merged.setdefault(_uid_of(ds, query.level), ds)
        result = list(merged.values())
        if limit > 0 and len(result) > limit:
            return result[:limit], True
        return result, any_truncated
    relaxed = _relaxed_params(params)
    if relaxed != params:
        found, more = _fetch(http, server, base, query, relaxed, limit)
        return found, truncated or more
    return datasets, truncated


def _uid_of(ds: Dataset, level: Level) -> str:
    return str(ds.get(UID_KEY[level], "") or id(ds))


def _relaxed_params(params: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    """Values that need percent-encoding with each such run replaced by ``*``.

    The results then match more than asked (``M*ller`` for ``Müller``), and the client-side
    re-check removes the extra ones.
    """
    out: dict[str, str | list[str]] = {}
    for key, value in params.items():
        if isinstance(value, str) and key not in _CONTROL_PARAMS:
            value = re.sub(r"\*{2,}", "*", _NEEDS_ENCODING.sub("*", value))
        out[key] = value
    return out


def _fetch(
    http: requests.Session,
    server: DicomServer,
    base: str,
    query: Query,
    params: dict[str, str | list[str]],
    limit: int,
) -> tuple[list[Dataset], bool]:
    params = dict(params)
    path = _qido_path(query, params)
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in [value] if isinstance(value, str) else value:
            pairs.append((key, item))
    # One comma list: Orthanc keeps only the last of repeated parameters.
    pairs.append(("includefield", ",".join(RETURN_KEYS[query.level] + query.extra_keys)))
    if limit > 0:
        pairs.append(("limit", str(limit + 1)))
    items = _get_json(http, server, f"{base}/{path}", pairs)
    datasets = [d for d in (_dataset(server, item) for item in items) if query.matches(d)]
    truncated = limit > 0 and len(items) > limit
    return (datasets[:limit] if limit > 0 else datasets), truncated


def _qido_path(query: Query, params: dict[str, str | list[str]]) -> str:
    """The resource to search; known parent UIDs go into the path (widest support)."""
    study = query.study_instance_uid
    series = query.series_instance_uid
    if query.level is Level.SERIES and study:
        params.pop("StudyInstanceUID", None)
        return f"studies/{study}/series"
    if query.level is Level.IMAGE and study:
        params.pop("StudyInstanceUID", None)
        if series:
            params.pop("SeriesInstanceUID", None)
            return f"studies/{study}/series/{series}/instances"
        return f"studies/{study}/instances"
    return {Level.SERIES: "series", Level.IMAGE: "instances"}.get(query.level, "studies")


def _encode_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe=_QUERY_SAFE)}" for k, v in pairs)


def _get_json(
    http: requests.Session, server: DicomServer, url: str, pairs: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    # The query string is built here: requests would encode "*" and ",", which servers
    # that do not decode (Orthanc 1.10) then take literally.
    full = f"{url}?{_encode_query(pairs)}" if pairs else url
    log.debug("QIDO-RS %s: GET %s", server.name, full)
    with translate_errors(server, "QIDO-RS"):
        response = http.get(
            full, headers={"Accept": DICOM_JSON}, timeout=(CONNECT_TIMEOUT, QIDO_READ_TIMEOUT)
        )
        if response.status_code == 204:
            return []
        if not response.ok:
            raise http_error(server, "QIDO-RS", response)
        body = response.content
    if not body.strip():
        return []
    try:
        items = json.loads(body)
    except ValueError:
        raise DicomOperationError(
            server.name, "QIDO-RS", "the answer is not JSON (is the QIDO-RS URL right?)"
        ) from None
    if not isinstance(items, list):
        raise DicomOperationError(server.name, "QIDO-RS", "the answer is not a JSON array")
    return items


def _dataset(server: DicomServer, item: object) -> Dataset:
    if not isinstance(item, dict):
        raise DicomOperationError(server.name, "QIDO-RS", "the answer holds a non-object result")
    try:
        ds = Dataset.from_json(item)
    except Exception as exc:  # pydicom raises several types for malformed DICOM JSON
        raise DicomOperationError(
            server.name, "QIDO-RS", f"malformed DICOM JSON in the answer ({exc})"
        ) from exc
    if "SpecificCharacterSet" in ds:
        # JSON values are already Unicode; the server's own charset no longer applies.
        ds.SpecificCharacterSet = "ISO_IR 192"
    return ds
