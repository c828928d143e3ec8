"""Soundtracks loader: sets 1 and 2 told apart by folder, 8 ratings, target emotion, set-2 extras."""

from pathlib import Path

import pytest

from mer_audiolime import datasets
from mer_audiolime.exceptions import DatasetError

HOME = Path(__file__).resolve().parent / "resources" / "soundtracks"


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index("soundtracks", HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load("soundtracks", data_home=HOME, index_path=index)


def test_sets_share_file_names_but_not_ids(ds):
    assert ds.get_set(1) == ["set1_001", "set1_002"]
    assert ds.get_set(2) == ["set2_001"]
    assert ds.track("set1_001").audio_path.endswith("Set1/001.mp3")
    assert ds.track("set2_001").audio_path.endswith("Set2/001.mp3")
    with pytest.raises(DatasetError):
        ds.get_set(3)


def test_set1_ratings(ds):
    t = ds.track("set1_001")
    assert (t.set, t.number) == (1, "001")
    assert t.static_targets == {
        "valence": 3.67, "energy": 7.33, "tension": 7.83, "anger": 4.5,
        "fear": 5.67, "happy": 1.17, "sad": 1.5, "tender": 1.17,
    }
    assert t.target_emotion == "ANGER_HIGH" and t.soundtrack is None


def test_set2_capitalised_columns_and_extras(ds):
    t = ds.track("set2_001")
    assert t.valence == 2.5 and t.tender == 1.0
    assert t.ratings["beauty"] == 3.2 and t.ratings["liking"] == 4.4
    assert (t.soundtrack, t.link) == ("Batman Returns", "1")
