"""PMEmo loader: static/std/dynamic annotations, metadata, the single-artist test split."""

from pathlib import Path

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.datasets.splits import single_artist_split
from mer_audiolime.exceptions import ParameterError

HOME = Path(__file__).resolve().parent / "resources" / "pmemo"


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index("pmemo", HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load("pmemo", data_home=HOME, index_path=index)


def test_static_and_std(ds):
    t = ds.track("4")
    assert (t.arousal, t.valence) == (0.2625, 0.2875)
    assert (t.arousal_std, t.valence_std) == (0.2, 0.15)


def test_dynamic_long_format_is_regrouped(ds):
    dyn = ds.track("1").dynamic
    np.testing.assert_array_equal(dyn.times, [15.5, 16.0, 16.5])  # the release starts at 15.5 s
    np.testing.assert_array_equal(dyn.arousal, [0.35, 0.4, 0.45])
    np.testing.assert_array_equal(dyn.valence, [0.5, 0.55, 0.6])
    assert ds.track("7").dynamic is None  # no dynamic rows for song 7


def test_metadata(ds):
    t = ds.track("1")
    assert (t.title, t.artist, t.album) == ("Song A", "Solo Singer", "Album A")
    assert (t.chorus_start, t.chorus_end) == (60.0, 90.0)  # "01:00", "01:30" in metadata.csv
    assert t.duration == 240.5


def test_annotated_song_without_audio_is_left_out_and_recorded(ds):
    assert "9" not in ds.track_ids
    assert ds._index["excluded"] == {"9": "chorus audio file not found"}


def test_single_artist_split(ds):
    split = single_artist_split(ds, test_size=1, seed=0)
    assert split == {"train": ["4", "7"], "test": ["1"]}
    # no artist is on both sides, and the split does not depend on the seed when there is one candidate
    assert single_artist_split(ds, test_size=1, seed=5) == split
    with pytest.raises(ParameterError, match="single song"):
        single_artist_split(ds, test_size=2)
