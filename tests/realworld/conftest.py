"""The real-world corpus, built once per session (about 20 s: every file is read and
checked with pydicom and dcmdump), and a source Orthanc holding it."""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

import pytest
from pydicom import dcmread

from adit_core.pseudonymize import PseudonymizationOptions, Pseudonymizer
from adit_dev.orthanc import OrthancServer
from tests.fixtures.orthanc import start_orthanc
from tests.realworld import scanner
from tests.realworld.corpus import Corpus, build, pseudonym_for


@pytest.fixture(scope="session")
def realworld_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build(tmp_path_factory.mktemp("realworld-corpus"))


SECRET = "realworld-" + "0" * 40  # fixed, so that expectations are computed once


@dataclass
class Source:
    orthanc: OrthancServer
    corpus: Corpus  # what the source holds
    refused: list[tuple[str, str]] = field(default_factory=list)  # by the source itself
    pseudonyms: dict[str, str] = field(default_factory=dict)  # source UID → pseudonym
    expected_uids: dict[str, str] = field(default_factory=dict)  # source → output UID
    needles: dict[str, list[scanner.Needle]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def realworld_source(
    orthanc_servers: list[OrthancServer],
    tmp_path_factory: pytest.TempPathFactory,
    realworld_corpus: Corpus,
) -> Source:
    corpus = realworld_corpus
    orthanc = start_orthanc(
        orthanc_servers, tmp_path_factory.mktemp("orthanc_rw"), ae_title="ORTHANC_RW"
    )
    source = Source(orthanc, Corpus(files=[], skipped=corpus.skipped))
    for f in corpus.files:
        try:
            orthanc.upload(f.data)
        except RuntimeError as exc:
            source.refused.append((f.name, str(exc)[:200]))
            continue
        source.corpus.files.append(f)
    # One pseudonym per study (its first file's patient): what the job below asks for.
    for members in source.corpus.studies().values():
        for f in members:
            source.pseudonyms[f.sop_instance_uid] = pseudonym_for(members[0].patient_id)
    pseudonymizers: dict[str, Pseudonymizer] = {}
    for f in source.corpus.files:
        pseudonym = source.pseudonyms[f.sop_instance_uid]
        p = pseudonymizers.setdefault(
            pseudonym, Pseudonymizer(SECRET, PseudonymizationOptions(pseudonym))
        )
        header = dcmread(BytesIO(f.data), stop_before_pixels=True)
        source.expected_uids[f.sop_instance_uid] = str(p(header).SOPInstanceUID)
        source.needles[f.sop_instance_uid] = scanner.needles(f.dataset(), {pseudonym, "ANONYMIZED"})
    return source
