"""emoMusic loader: static/continuous ratings, MediaEval 2013 split, tab-polluted songs_info cells."""

from pathlib import Path

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.datasets.splits import official_split

HOME = Path(__file__).resolve().parent / "resources" / "emomusic"


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index("emomusic", HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load("emomusic", data_home=HOME, index_path=index)


def test_static(ds):
    t = ds.track("3")
    assert (t.arousal, t.valence, t.arousal_std, t.valence_std) == (4.9, 3.2, 1.04, 1.02)


def test_continuous(ds):
    d = ds.track("5").dynamic
    np.testing.assert_array_equal(d.times, [15.0, 15.5, 16.0])
    np.testing.assert_array_equal(d.valence, [0.4, 0.41, 0.42])


def test_official_split(ds):
    assert official_split(ds) == {"development": ["2", "3"], "evaluation": ["5"]}
    assert ds.track("5").split == "evaluation"


def test_songs_info_cells_are_cleaned(ds):
    t = ds.track("2")
    assert (t.artist, t.title, t.genre) == ("Artist A", "Title A", "Blues")
    assert (t.segment_start, t.segment_end) == (31.0, 76.0)
