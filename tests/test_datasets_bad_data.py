"""Bad data never yields a silently wrong value: typed errors or validate() reports."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.exceptions import AudioDecodeError, AudioError, DatasetError, IndexMissingError

RESOURCES = Path(__file__).resolve().parent / "resources"


@pytest.fixture(autouse=True)
def _no_user_index_dir(monkeypatch):
    monkeypatch.delenv("MER_AUDIOLIME_INDEX_DIR", raising=False)


def _copy_and_index(name, tmp_path):
    home = tmp_path / name
    shutil.copytree(RESOURCES / name, home)
    datasets.build_index(name, home, progress=False)
    return home, datasets.load(name, data_home=home)


def _problems(ds):
    missing, invalid = ds.validate(verbose=False)
    flat = lambda d: {k: v for group in d.values() for k, v in group.items()}  # noqa: E731
    return flat(missing), flat(invalid)


def test_missing_audio_is_reported_and_raises(tmp_path):
    home, ds = _copy_and_index("deam", tmp_path)
    (home / "DEAM_audio" / "MEMD_audio" / "3.mp3").unlink()
    missing, invalid = _problems(datasets.load("deam", data_home=home))
    assert list(missing) == ["3"] and not invalid
    with pytest.raises(AudioDecodeError, match="no such audio file"):
        ds.track("3").audio


def test_truncated_mp3_is_an_error_not_a_short_clip(tmp_path):
    home, ds = _copy_and_index("pmemo", tmp_path)
    path = home / "PMEmo2019" / "chorus" / "4.mp3"
    path.write_bytes(path.read_bytes()[:1200])  # still decodes partially with plain libsndfile
    _, invalid = _problems(datasets.load("pmemo", data_home=home))
    assert list(invalid) == ["4"]
    with pytest.raises(AudioDecodeError, match="truncated"):
        ds.track("4").audio


def test_corrupt_audio_raises(tmp_path):
    home, ds = _copy_and_index("midlevel", tmp_path)
    (home / "audio" / "2.mp3").write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(AudioError):
        ds.track("2").audio
    assert list(_problems(datasets.load("midlevel", data_home=home))[1]) == ["2"]


def test_changed_annotation_file_is_reported(tmp_path):
    home, _ = _copy_and_index("emomusic", tmp_path)
    path = home / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text().replace("4.9", "5.9"))
    _, invalid = _problems(datasets.load("emomusic", data_home=home))
    assert list(invalid) == ["static"]


def test_non_numeric_rating_names_file_line_and_column(tmp_path):
    home, _ = _copy_and_index("deam", tmp_path)
    path = next(home.rglob("static_annotations_averaged_songs_1_2000.csv"))
    path.write_text(path.read_text().replace("3.5,1.75", "abc,1.75"))
    with pytest.raises(DatasetError, match=r"line 3: column 'valence_mean' holds 'abc'"):
        datasets.load("deam", data_home=home).track("3").valence


def test_empty_required_rating_is_an_error_not_nan(tmp_path):
    home, _ = _copy_and_index("soundtracks", tmp_path)
    path = home / "mean_ratings_set1.csv"
    path.write_text(path.read_text().replace("6.2,5.1", ",5.1"))
    with pytest.raises(DatasetError, match="'valence' is empty"):
        datasets.load("soundtracks", data_home=home).track("set1_002").valence


def test_row_with_too_many_fields_is_malformed(tmp_path):
    home, _ = _copy_and_index("pmemo", tmp_path)
    path = home / "PMEmo2019" / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text().replace("4,0.2625,0.2875", "4,0.2625,0.2875,0.9"))
    with pytest.raises(DatasetError, match="line 3: 4 fields but the header has 3"):
        datasets.load("pmemo", data_home=home).track("4").arousal


def test_wrong_separator_in_optional_metadata_is_a_warning_not_a_failure(tmp_path):
    home, _ = _copy_and_index("midlevel", tmp_path)
    path = home / "metadata_annotations" / "metadata.csv"
    path.write_text(path.read_text().replace(";", ","))
    track = datasets.load("midlevel", data_home=home).track("1")
    with pytest.warns(datasets.MetadataWarning, match=r"metadata.csv.*no 'song id' column.*semicolons"):
        assert track.source is None
    assert track.melodiousness == 7.1  # the targets are unaffected


def test_wrong_separator_in_targets_is_explained(tmp_path):
    home, _ = _copy_and_index("emomusic", tmp_path)
    path = home / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text().replace(",", ";"))
    with pytest.raises(DatasetError, match="lacks column"):
        datasets.load("emomusic", data_home=home).track("2").arousal


def test_duplicate_ids_are_rejected(tmp_path):
    home, _ = _copy_and_index("emomusic", tmp_path)
    path = home / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text() + "3,1,1,1,1\n")
    with pytest.raises(DatasetError, match="duplicate id '3'"):
        datasets.load("emomusic", data_home=home).track("3").arousal


def test_missing_annotation_file_after_indexing(tmp_path):
    home, _ = _copy_and_index("emomusic", tmp_path)
    (home / "annotations" / "static_annotations.csv").unlink()
    with pytest.raises(DatasetError, match="not found; check data_home"):
        datasets.load("emomusic", data_home=home).track("2").arousal


def test_wrong_data_home(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load("deam", data_home=tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.build_index("deam", tmp_path / "nowhere")


def test_data_home_without_the_dataset(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="was not found anywhere"):
        datasets.build_index("pmemo", tmp_path / "empty")
    with pytest.raises(IndexMissingError, match="datasets index pmemo --data-home"):
        datasets.load("pmemo", data_home=tmp_path / "empty").track_ids


def test_index_pointing_at_another_copy(tmp_path):
    home, _ = _copy_and_index("soundtracks", tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ds = datasets.load("soundtracks", data_home=elsewhere, index_path=home / "soundtracks_index_1.0.json")
    missing, _ = _problems(ds)
    assert set(missing) >= {"set1_001", "set1_002", "set2_001", "ratings_set1"}
    with pytest.raises(DatasetError, match="not found; check data_home"):
        ds.track("set1_001").valence


def test_corrupt_index_json(tmp_path):
    home, _ = _copy_and_index("deam", tmp_path)
    (home / "deam_index_1.0.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        datasets.load("deam", data_home=home).track_ids


def test_unknown_track_id(tmp_path):
    _, ds = _copy_and_index("deam", tmp_path)
    with pytest.raises(DatasetError, match="not a track of deam"):
        ds.track("99999")


def test_unknown_version(tmp_path):
    with pytest.raises(DatasetError, match="unknown version"):
        datasets.load("deam", data_home=tmp_path, version="9.9")


def test_duplicate_audio_copies_make_indexing_fail(tmp_path):
    home = tmp_path / "midlevel"
    shutil.copytree(RESOURCES / "midlevel", home)
    os.makedirs(home / "audio_backup")
    shutil.copy(home / "audio" / "1.mp3", home / "audio_backup" / "1.mp3")
    with pytest.raises(DatasetError, match="share the id '1'"):
        datasets.build_index("midlevel", home, progress=False)


def test_index_leaves_out_annotated_tracks_without_audio(tmp_path):
    home = tmp_path / "emomusic"
    shutil.copytree(RESOURCES / "emomusic", home)
    (home / "clips_45seconds" / "5.mp3").unlink()
    path = datasets.build_index("emomusic", home, progress=False)
    index = json.loads(path.read_text())
    assert sorted(index["tracks"]) == ["2", "3"] and index["excluded"] == {"5": "clip not found"}
