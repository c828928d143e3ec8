"""The published files' quirks, one test each, on the fixtures that carry them (make_fixtures.py names where
each format is documented), and the rules around them: required targets fail loudly with file,
line and column; optional metadata degrades to a missing value and one warning; silent loss shows as a count.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.cli import main
from mer_audiolime.datasets import MetadataWarning
from mer_audiolime.exceptions import DatasetError

RESOURCES = Path(__file__).resolve().parent / "resources"


@pytest.fixture(autouse=True)
def _no_user_index_dir(monkeypatch):
    monkeypatch.delenv("MER_AUDIOLIME_INDEX_DIR", raising=False)


def _copy(folder, tmp_path) -> Path:
    home = tmp_path / folder
    shutil.copytree(RESOURCES / folder, home)
    return home


def _load(name, home, **kwargs):
    datasets.build_index(name, home, progress=False, **kwargs)
    return datasets.load(name, data_home=home)


def _metadata_warnings(record) -> list:
    return [str(w.message) for w in record if issubclass(w.category, MetadataWarning)]


def _make_fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures", RESOURCES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------------------
# One test per published quirk
# ------------------------------------------------------------------------------------------------------------
def test_deam_headers_with_leading_spaces_load(tmp_path):
    home = _copy("deam", tmp_path)
    first = next(home.rglob("static_annotations_averaged_songs_1_2000.csv")).read_text().splitlines()[0]
    second = next(home.rglob("static_annotations_averaged_songs_2000_2058.csv")).read_text().splitlines()[0]
    assert first.startswith("song_id, valence_mean, valence_std") and "valence_ max_mean" in second
    ds = _load("deam", home)
    assert ds.track("2").static_targets == {"arousal": 3.0, "valence": 3.1}
    t = ds.track("2002")
    assert (t.arousal, t.valence, t.valence_std) == (6.6, 3.2, 0.98)


def test_deam_ragged_2014_and_shifted_2015_metadata_leave_every_target_loadable(tmp_path):
    home = _copy("deam", tmp_path)
    header_2014 = (home / "metadata" / "metadata_2014.csv").read_text().splitlines()
    assert len(header_2014[1].split(",")) > len(header_2014[0].split(","))  # really ragged
    ds = _load("deam", home)
    # every target of every song loads without touching (or warning about) the metadata
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = {t: ds.track(t).static_targets for t in ds.track_ids}
    assert len(values) == 6 and all(len(v) == 2 for v in values.values())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        genres = {t: ds.track(t).genre for t in ds.track_ids}
        _ = [ds.track(t).artist for t in ds.track_ids]  # metadata is parsed once: no second warning
    assert genres == {"2": "Blues", "3": "Hip-Hop", "1001": "Hip-Hop-Electronic", "1002": "Rock-Pop",
                      "2001": "Electronic-Dance", "2002": None}
    messages = _metadata_warnings(record)
    assert len(messages) == 1
    assert "metadata_2015.csv line 3, field 'title'" in messages[0] and "'2002'" in messages[0]


def test_pmemo_chorus_times_are_mm_ss_strings(tmp_path):
    home = _copy("pmemo", tmp_path)
    assert "02:50,03:37" in (home / "PMEmo2019" / "metadata.csv").read_text()
    ds = _load("pmemo", home)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = ds.track("7")
        assert (t.chorus_start, t.chorus_end) == (170.0, 217.0)
        assert (t.arousal, t.valence) == (0.75, 0.6)
        assert [ds.track(i).arousal for i in ds.track_ids] == [0.4, 0.2625, 0.75]


def test_pmemo_dynamic_ratings_start_at_15_5_seconds(tmp_path):
    ds = _load("pmemo", _copy("pmemo", tmp_path))
    assert ds.track("1").dynamic.times[0] == 15.5
    assert "15.5 s" in type(ds.track("1")).__doc__


def test_soundtracks_jyu_release_xls_and_soundtrack360_folder(tmp_path):
    home = _copy("soundtracks_jyu", tmp_path)
    assert (home / "mean_ratings_set1.xls").read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")  # OLE2
    assert not list(home.rglob("*.csv"))
    assert not [p for p in home.rglob("*") if p.is_dir() and "set" in p.name]  # no set1/Set1 folder
    ds = _load("soundtracks", home)
    assert ds.get_set(1) == ["set1_001", "set1_002"] and ds.get_set(2) == []
    assert ds._index["metadata"]["ratings_set1"][0] == "mean_ratings_set1.xls"
    assert ds.track("set1_002").audio_path.endswith("mp3/Soundtrack360_mp3/002.mp3")
    t = ds.track("set1_001")
    assert t.static_targets == {"valence": 3.67, "energy": 7.33, "tension": 7.83, "anger": 4.5, "fear": 5.67,
                                "happy": 1.17, "sad": 1.5, "tender": 1.17}
    assert t.target_emotion == "ANGER_HIGH"
    assert ds.coverage()["parts"] == {"set1": {"found": 2, "published": 360},
                                      "set2": {"found": 0, "published": 110}}


def test_soundtracks_set2_xls_with_the_original_headers(tmp_path):
    home = tmp_path / "st2"
    _make_fixtures().write_xls(home / "mean_ratings_set2.xls", [
        ["Number", "valence", "energy", "tension", "anger", "fear", "happy", "sad", "tender", "beauty",
         "liking", "TARGET", "soundtrack", "link"],
        [1.0, 2.5, 7.9, 8.1, 6.2, 5.0, 1.1, 1.8, 1.0, 3.2, 4.4, "ANGER_HIGH", "Batman Returns", 1.0]])
    (home / "Set2").mkdir()
    shutil.copy(RESOURCES / "soundtracks" / "Set2" / "001.mp3", home / "Set2" / "001.mp3")
    t = _load("soundtracks", home).track("set2_001")
    assert (t.fear, t.ratings["liking"], t.soundtrack, t.link) == (5.0, 4.4, "Batman Returns", "1")


def test_midlevel_alias_headers_atonality_and_mode(tmp_path):
    home = _copy("midlevel_aliases", tmp_path)
    header = (home / "metadata_annotations" / "annotations.csv").read_text().splitlines()[0]
    assert header.endswith(", dissonance, atonality, mode") and " melody" in header
    t = _load("midlevel", home).track("2")
    assert t.midlevel == {"melodiousness": 4.0, "articulation": 6.6, "rhythm_complexity": 5.1,
                          "rhythm_stability": 4.9, "dissonance": 5.5, "tonal_stability": 4.1,
                          "minorness": 6.0}


def test_midlevel_two_columns_for_one_feature_is_an_error(tmp_path):
    home = _copy("midlevel_aliases", tmp_path)
    path = home / "metadata_annotations" / "annotations.csv"
    lines = path.read_text().splitlines()
    lines[0] += ", tonal_stability"
    path.write_text("\n".join([lines[0]] + [row + ",1" for row in lines[1:]]) + "\n")
    with pytest.raises(DatasetError, match="'atonality'.*'tonal_stability'.*both name 'tonal_stability'"):
        datasets.build_index("midlevel", home, progress=False)


def test_trailing_empty_columns_of_the_soundtracks_csv(tmp_path):
    home = _copy("soundtracks", tmp_path)
    assert (home / "mean_ratings_set1.csv").read_text().splitlines()[0].endswith("TARGET,,")
    ds = _load("soundtracks", home)
    assert ds.track("set1_002").valence == 6.2 and ds.track("set1_002").target_emotion == "HAPPY_HIGH"


@pytest.mark.parametrize("name, files", [
    ("deam", ["arousal.csv", "valence.csv"]),
    ("emomusic", ["arousal_cont_average.csv", "valence_cont_average.csv"]),
])
def test_wide_dynamic_files_ending_in_an_empty_column(name, files, tmp_path):
    reference = _load(name, _copy(name, tmp_path / "a"))
    home = _copy(name, tmp_path / "b")
    for filename in files:
        path = next(home.rglob(filename))
        path.write_text("".join(line + ",\n" for line in path.read_text().splitlines()))
    ds = _load(name, home)
    for tid in ds.track_ids:
        a, b = reference.track(tid).dynamic, ds.track(tid).dynamic
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.times, b.times)
            np.testing.assert_array_equal(a.valence, b.valence)


def test_deam_second_static_file_named_2001_2058(tmp_path):
    home = _copy("deam", tmp_path)
    path = next(home.rglob("static_annotations_averaged_songs_2000_2058.csv"))
    path.rename(path.with_name("static_annotations_averaged_songs_2001_2058.csv"))
    ds = _load("deam", home)
    assert "2001" in ds.track_ids and ds.track("2002").arousal == 6.6
    assert ds.track("2001").annotation_file == "static_annotations_averaged_songs_2001_2058.csv"
    shutil.copy(path.with_name("static_annotations_averaged_songs_2001_2058.csv"), path)
    with pytest.raises(DatasetError, match="two copies of DEAM's full-song annotations"):
        datasets.build_index("deam", home, progress=False, out=tmp_path / "again.json")


# ------------------------------------------------------------------------------------------------------------
# Required targets vs optional metadata
# ------------------------------------------------------------------------------------------------------------
def test_bad_optional_field_is_one_warning_naming_file_line_and_field(tmp_path):
    home = _copy("pmemo", tmp_path)
    path = home / "PMEmo2019" / "metadata.csv"
    text = path.read_text().replace("01:00,01:30", "soon,01:30").replace("00:45,01:15", "later,01:15")
    path.write_text(text)
    ds = _load("pmemo", home)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert ds.track("1").chorus_start is None and ds.track("4").chorus_start is None
        assert ds.track("1").chorus_end == 90.0 and ds.track("7").chorus_start == 170.0
    messages = _metadata_warnings(record)
    assert len(messages) == 1, messages
    assert "metadata.csv line 2, field 'chorus_start_time'" in messages[0] and "'soon'" in messages[0]
    assert "1 more row(s)" in messages[0]
    assert [ds.track(t).valence for t in ds.track_ids] == [0.575, 0.2875, 0.6]


def test_optional_metadata_file_gone_after_indexing_is_a_warning(tmp_path):
    home = _copy("emomusic", tmp_path)
    ds = _load("emomusic", home)
    (home / "annotations" / "songs_info.csv").unlink()
    ds = datasets.load("emomusic", data_home=home)
    with pytest.warns(MetadataWarning, match="songs_info.csv.*missing"):
        assert ds.track("2").split is None
    assert ds.track("2").arousal == 3.1


def test_malformed_required_target_names_file_line_and_column(tmp_path):
    home = _copy("pmemo", tmp_path)
    ds = _load("pmemo", home)
    assert ds.track("1").valence == 0.575  # parsed (and cached) before the file is damaged
    path = home / "PMEmo2019" / "annotations" / "static_annotations.csv"
    path.write_text(path.read_text().replace("7,0.75,0.6", "7,0.75"))  # a short row
    match = r"static_annotations.csv line 4: column 'Valence\(mean\)' is empty"
    with pytest.raises(DatasetError, match=match):
        datasets.load("pmemo", data_home=home).track("1").valence
    assert ds.track("1").valence == 0.575  # the already-loaded dataset is unaffected


def test_bad_dynamic_cell_fails_only_the_dynamic_ratings(tmp_path):
    home = _copy("deam", tmp_path)
    ds = _load("deam", home)
    path = next(home.rglob("arousal.csv"))
    path.write_text(path.read_text().replace("0.31", "x"))
    ds = datasets.load("deam", data_home=home)
    assert ds.track("1001").arousal == 6.5
    with pytest.raises(DatasetError, match=r"arousal.csv line 4: column 'sample_15500ms' holds 'x'"):
        ds.track("1001").dynamic


# ------------------------------------------------------------------------------------------------------------
# Building the index: reject before writing, never leave temporary files
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    ("3,3.5,1.75", r"line 3: column 'arousal_mean' is empty"),                     # short row
    ("3,3.5,1.75,high,1.62", r"line 3: column 'arousal_mean' holds 'high'"),        # non-numeric
])
def test_index_rejects_rows_that_would_fail_to_load(bad, match, tmp_path, capsys):
    home = _copy("deam", tmp_path)
    path = next(home.rglob("static_annotations_averaged_songs_1_2000.csv"))
    path.write_text(path.read_text().replace("3,3.5,1.75,3.3,1.62", bad))
    with pytest.raises(DatasetError, match=match):
        datasets.build_index("deam", home, progress=False)
    assert main(["datasets", "index", "deam", "--data-home", str(home), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "static_annotations_averaged_songs_1_2000.csv" in err and "index was not written" in err
    assert not list(home.glob("*.json")) and not list(home.glob("*.tmp"))


def test_short_row_with_an_empty_required_rating_is_rejected(tmp_path):
    home = _copy("soundtracks", tmp_path)
    path = home / "mean_ratings_set1.csv"
    path.write_text(path.read_text().replace("2,6.2,5.1,3.4,1.2,1.5,6.8,2.0,4.9,HAPPY_HIGH,,", "2,6.2,5.1"))
    with pytest.raises(DatasetError, match=r"mean_ratings_set1.csv line 3: column 'tension' is empty"):
        datasets.build_index("soundtracks", home, progress=False)


def test_index_out_folder_leaves_no_tmp(tmp_path, capsys):
    home = _copy("pmemo", tmp_path)
    out = tmp_path / "indexes"
    out.mkdir()
    argv = ["datasets", "index", "pmemo", "--data-home", str(home), "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["pmemo_index_2019.json"]
    assert not list(tmp_path.glob("*.tmp")) and not list(home.rglob("*.tmp"))
    ds = datasets.load("pmemo", data_home=home, index_path=out / "pmemo_index_2019.json")
    assert ds.track_ids == ["1", "4", "7"]
    # a failure after the checks (the folder cannot take the file) leaves nothing behind either
    blocked = out / "pmemo_index_2019.json"
    blocked.unlink()
    blocked.mkdir()
    (blocked / "keep").write_text("x")
    assert main([*argv, "--out", str(blocked / "..")]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["pmemo_index_2019.json"]
    err = capsys.readouterr().err
    assert "exists and is not a file" in err and "unexpected" not in err


# ------------------------------------------------------------------------------------------------------------
# Silent loss is a count
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, published", [
    ("deam", 1802), ("pmemo", 767), ("emomusic", 744), ("soundtracks", 470), ("midlevel", 5000),
])
def test_published_totals(name, published):
    assert datasets.dataset_info(name)["published"] == published


def test_validate_prints_found_of_published(tmp_path, capsys):
    ds = _load("pmemo", _copy("pmemo", tmp_path))
    cov = ds.coverage()
    assert (cov["found"], cov["published"], cov["excluded"], cov["complete"]) == (3, 767, 1, False)
    ds.validate()
    out = capsys.readouterr().out
    assert "pmemo: 3 of 767 published tracks indexed; 1 annotated tracks left out for missing audio" in out
    assert "794 songs" in out and "incomplete" in out


def test_lost_second_deam_file_shows_in_the_count(tmp_path):
    home = _copy("deam", tmp_path)
    next(home.rglob("static_annotations_averaged_songs_2000_2058.csv")).unlink()
    cov = _load("deam", home).coverage()
    assert (cov["found"], cov["published"]) == (4, 1802)


def test_cli_validate_reports_changed_files_and_exits_1(tmp_path, capsys):
    home = _copy("emomusic", tmp_path)
    datasets.build_index("emomusic", home, progress=False)
    (home / "clips_45seconds" / "3.mp3").write_bytes(b"not audio")
    (home / "annotations" / "songs_info.csv").unlink()
    assert main(["datasets", "validate", "emomusic", "--data-home", str(home)]) == 1
    out = capsys.readouterr().out
    assert "missing: 1 entries" in out and "songs_info" in out
    assert "changed: 1 entries" in out and "3.mp3" in out
    assert "emomusic: 3 of 744 published tracks indexed" in out
    assert main(["datasets", "validate", "emomusic", "--data-home", str(home), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert list(report["changed"]) == ["3"] and report["coverage"]["published"] == 744


def test_cli_validate_without_index_is_a_clear_error(tmp_path, capsys):
    home = _copy("emomusic", tmp_path)
    assert main(["datasets", "validate", "emomusic", "--data-home", str(home)]) == 1
    assert "datasets index emomusic --data-home" in capsys.readouterr().err
