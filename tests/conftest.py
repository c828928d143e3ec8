"""Shared test fixtures: paths to the read-only real recordings and tiny generated signals."""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "audio"
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
