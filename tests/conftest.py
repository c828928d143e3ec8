"""Shared test fixtures: paths to the read-only real recordings and tiny generated signals."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: Real recordings beside the checkout (``../shared/audio``), or where $MER_AUDIOLIME_TEST_AUDIO points (e.g.
#: from a second working tree of the same repository).
SHARED_AUDIO = Path(os.environ.get("MER_AUDIOLIME_TEST_AUDIO") or REPO.parent / "shared" / "audio")
RESOURCES = Path(__file__).resolve().parent / "resources"


@pytest.fixture
def shared_audio():
    """Directory of real CC-licensed recordings; the test is skipped when it is absent (fresh clones)."""
    if not SHARED_AUDIO.is_dir():
        pytest.skip(f"real recordings not available at {SHARED_AUDIO}")
    return SHARED_AUDIO


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def synthetic_v2_home(tmp_path_factory):
    """The default synthetic-v2 set (V2_GENERATE: the v1 files plus the cue audio), generated once per
    session for the slow tests that need the full set (about 2 minutes on 2 cores)."""
    from mer_audiolime.datasets import synthetic

    return synthetic.generate(tmp_path_factory.mktemp("synthetic_v2") / "set", n_jobs=2, progress=False,
                              **synthetic.V2_GENERATE)
