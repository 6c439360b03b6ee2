"""The real-world corpus, built once per session (about 20 s: every file is read and
checked with pydicom and dcmdump)."""

from __future__ import annotations

import pytest

from tests.realworld.corpus import Corpus, build


@pytest.fixture(scope="session")
def realworld_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build(tmp_path_factory.mktemp("realworld-corpus"))
