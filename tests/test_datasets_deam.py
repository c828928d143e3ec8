"""DEAM loader: both static files (leading-space column names), 2 Hz dynamic series, three metadata files."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.datasets.deam import split_genres

HOME = Path(__file__).resolve().parent / "resources" / "deam"


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index("deam", HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load("deam", data_home=HOME, index_path=index)


def test_fixture_really_has_leading_spaces():
    name = "static_annotations_averaged_songs_1_2000.csv"
    header = next(HOME.rglob(name)).read_text().splitlines()[0]
    assert ", valence_mean" in header


def test_static_values_from_both_files(ds):
    t2, t2001 = ds.track("2"), ds.track("2001")
    assert (t2.arousal, t2.valence, t2.arousal_std, t2.valence_std) == (3.0, 3.1, 0.63, 0.94)
    assert t2.annotation_file.endswith("1_2000.csv")
    assert (t2001.arousal, t2001.valence) == (5.8, 6.2)
    assert t2001.annotation_file.endswith("2000_2058.csv")


def test_dynamic_drops_empty_trailing_cells(ds):
    d2, d3 = ds.track("2").dynamic, ds.track("3").dynamic
    np.testing.assert_array_equal(d2.times, [15.0, 15.5, 16.0])
    np.testing.assert_array_equal(d2.arousal, [-0.11, -0.1, -0.09])
    np.testing.assert_array_equal(d3.times, [15.0, 15.5])
    assert ds.track("2001").dynamic is None


def test_metadata_of_each_year(ds):
    with pytest.warns(datasets.MetadataWarning):  # the shifted 2015 row of song 2002
        t3 = ds.track("3")
        assert (t3.genre, t3.artist, t3.title) == ("Hip-Hop", "Other Artist", "Song Three")  # tabs removed
    assert t3.metadata_file == "metadata_2013.csv" and t3.album is None and t3.tags == []
    t1001 = ds.track("1001")
    assert (t1001.artist, t1001.album, t1001.title) == ("MC Example", "Street Tapes", "Corner Song")
    assert t1001.genre == "Hip-Hop-Electronic" and t1001.genres == ["Hip-Hop", "Electronic"]
    assert t1001.tags == ["rap", "urban", "chill"]  # the ragged 2014 tag fields
    t2001 = ds.track("2001")
    assert t2001.genre == "Electronic-Dance" and t2001.album is None  # "N/A"; extra 2015 genre token
    assert ds.track("2002").genre is None and ds.track("2002").artist is None  # shifted row


def test_split_genres_keeps_hyphenated_names():
    assert split_genres("Rock-Pop") == ["Rock", "Pop"]
    assert split_genres("Hip-Hop") == ["Hip-Hop"]
    assert split_genres("Trip-Hop-Lo-Fi") == ["Trip-Hop", "Lo-Fi"]
    assert split_genres(None) == []


def test_static_targets(ds):
    assert ds.track("3").static_targets == {"arousal": 3.3, "valence": 3.5}
    again = datasets.load("deam", data_home=HOME, index_path=ds.index_path)
    assert again.TARGET_RANGES["arousal"] == (1.0, 9.0)


def test_targets_never_touch_the_metadata(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no MetadataWarning: reading targets does not parse metadata files
        assert [ds.track(t).valence for t in ds.track_ids] == [3.1, 3.5, 6.1, 4.4, 6.2, 3.2]
