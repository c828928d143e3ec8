"""MTG-Jamendo pass-through: mirdata's Track/metadata/splits with an offline index and typed errors."""

from pathlib import Path

import pytest
from mirdata.datasets import mtg_jamendo_autotagging_moodtheme as mirdata_mtg

from mer_audiolime import datasets
from mer_audiolime.exceptions import IndexMissingError

NAME = "mtg_jamendo_autotagging_moodtheme"
HOME = Path(__file__).resolve().parent / "resources" / NAME


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index(NAME, HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load(NAME, data_home=HOME, index_path=index)


def test_is_mirdatas_loader(ds):
    assert isinstance(ds, mirdata_mtg.Dataset)
    assert isinstance(ds.track("track_0000948"), mirdata_mtg.Track)


def test_tags_ids_and_duration(ds):
    t = ds.track("track_0001014")
    assert t.tags == ["happy", "party"]
    assert (t.artist_id, t.album_id, t.duration) == ("artist_000112", "album_000175", 238.0)


def test_official_splits(ds):
    assert ds.get_track_splits(split_number=3) == {
        "train": ["track_0000948"], "validation": [], "test": ["track_0001014"]
    }


def test_index_includes_split_files(ds):
    meta = ds._index["metadata"]
    assert meta["split_0_train"][0] == "data/splits/split-0/autotagging_moodtheme-train.tsv"
    assert ds._index["tracks"]["track_0000948"]["audio"][0] == "audios/48/948.mp3"


def test_missing_index_mentions_both_routes(tmp_path, monkeypatch):
    monkeypatch.delenv("MER_AUDIOLIME_INDEX_DIR", raising=False)
    with pytest.raises(IndexMissingError, match="download") as exc:
        datasets.load(NAME, data_home=tmp_path).track_ids
    assert "datasets index" in str(exc.value)
