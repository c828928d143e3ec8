"""Mid-level loader: values from the fixture's annotations.csv and semicolon-separated metadata.csv."""

from pathlib import Path

import pytest

from mer_audiolime import datasets
from mer_audiolime.datasets import midlevel
from mer_audiolime.exceptions import DatasetError

HOME = Path(__file__).resolve().parent / "resources" / "midlevel"


@pytest.fixture
def ds(tmp_path):
    index = datasets.build_index("midlevel", HOME, out=tmp_path / "i.json", progress=False)
    return datasets.load("midlevel", data_home=HOME, index_path=index)


def test_features_in_paper_order(ds):
    track = ds.track("2")
    assert list(track.midlevel) == list(midlevel.FEATURES)
    assert track.midlevel == {
        "melodiousness": 4.0,
        "articulation": 6.6,
        "rhythm_complexity": 5.1,
        "rhythm_stability": 4.9,
        "dissonance": 5.5,
        "tonal_stability": 4.1,
        "minorness": 6.0,
    }
    assert track.rhythm_stability == 4.9 and track.minorness == 6.0


def test_semicolon_metadata_source_and_soundtracks_flag(ds):
    assert ds.track("1").source == "www.jamendo.com"
    assert ds.track("1").artist == "Artist One"
    assert ds.track("1").metadata["Description"] == "calm acoustic piece"
    assert [ds.track(t).in_soundtracks for t in ds.track_ids] == [False, True, False]


def test_index_records_annotation_files(ds):
    meta = ds._index["metadata"]
    assert meta["annotations"][0] == "metadata_annotations/annotations.csv"
    assert meta["metadata"][0] == "metadata_annotations/metadata.csv"
    assert ds._index["tracks"]["3"]["audio"][0] == "audio/3.mp3"


def test_target_ranges_cover_all_features():
    assert set(midlevel.Dataset.TARGET_RANGES) == set(midlevel.FEATURES)


def test_header_aliases_are_accepted(tmp_path):
    home = tmp_path / "ml"
    (home / "metadata_annotations").mkdir(parents=True)
    (home / "audio").mkdir()
    (home / "audio" / "1.mp3").write_bytes((HOME / "audio" / "1.mp3").read_bytes())
    (home / "metadata_annotations" / "annotations.csv").write_text(
        "song_id,melody,articulation,rhythmic_complexity,rhythm_stability,dissonance,tonal_stability,modality\n"
        "1,1,2,3,4,5,6,7\n"
    )
    datasets.build_index("midlevel", home, progress=False)
    track = datasets.load("midlevel", data_home=home).track("1")
    assert track.melodiousness == 1.0 and track.minorness == 7.0 and track.source is None


def test_missing_feature_column_is_reported(tmp_path):
    home = tmp_path / "ml"
    (home / "metadata_annotations").mkdir(parents=True)
    (home / "audio").mkdir()
    (home / "audio" / "1.mp3").write_bytes((HOME / "audio" / "1.mp3").read_bytes())
    (home / "metadata_annotations" / "annotations.csv").write_text("song_id,melodiousness\n1,3\n")
    with pytest.raises(DatasetError, match="lacks mid-level column.*index was not written"):
        datasets.build_index("midlevel", home, progress=False)
    assert not list(home.glob("*.json"))
