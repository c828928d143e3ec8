"""The generated synthetic set: determinism, exact stems, the mirdata index, the planted bias, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_audiolime.datasets import synthetic as syn
from mer_audiolime.datasets.synthetic.score import stream
from mer_audiolime.exceptions import DatasetError, IndexMissingError, ParameterError

SMALL = dict(n=8, seed=3, duration=3.0, sr=22050, n_jobs=1, progress=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return syn.generate(tmp_path_factory.mktemp("synth") / "set", **SMALL)


def _files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(home, tmp_path):
    again = syn.generate(tmp_path / "again", **{**SMALL, "n_jobs": 2})  # worker count must not matter
    a, b = _files(home), _files(again)
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


def test_different_seed_gives_different_files(home, tmp_path):
    other = syn.generate(tmp_path / "other", **{**SMALL, "seed": 4})
    a, b = _files(home), _files(other)
    mixes = [k for k in a if k.endswith("mix.wav")]
    assert all(a[k] != b.get(k) for k in mixes)
    assert a["metadata_clean.csv"] != b["metadata_clean.csv"]


def test_layout_and_index_validate(home):
    for version in syn.VARIANTS:
        ds = syn.Dataset(data_home=home, version=version)
        assert ds.track_ids == [syn.track_id(i) for i in range(SMALL["n"])]
        missing, invalid = ds.validate(verbose=False)
        assert all(not v for part in (missing, invalid) for v in part.values())
    index = json.loads((home / "synthetic_index_clean.json").read_text())
    entry = index["tracks"]["synth0000"]
    assert set(entry) == {"audio", "midi", *syn.STEMS}
    assert set(index["metadata"]) == {"metadata", "relevance", "settings"}


def test_validate_reports_corrupt_and_missing_files(home, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    (copy / "tracks" / "synth0001" / "drums.wav").write_bytes(b"RIFF broken")
    (copy / "tracks" / "synth0002" / "mix.wav").unlink()
    missing, invalid = syn.Dataset(data_home=copy).validate(verbose=False)
    assert list(invalid["tracks"]) == ["synth0001"] and list(missing["tracks"]) == ["synth0002"]


def test_stems_sum_exactly_to_the_mix(home):
    ds = syn.Dataset(data_home=home)
    for tid in ds.track_ids:
        track = ds.track(tid)
        mix, sr = track.audio
        stems = track.stems
        assert sr == SMALL["sr"] and mix.shape == (1, int(SMALL["duration"] * SMALL["sr"]))
        assert list(stems) == list(syn.STEMS)
        total = np.zeros_like(mix)
        for name in syn.STEMS:
            assert stems[name].shape == mix.shape and stems[name].dtype == np.float32
            total += stems[name]
        assert np.array_equal(total, mix)  # 16-bit integers: the identity is exact, not approximate
        if not track.vocals_present:
            assert track.stem_paths["vocals"] is None and not stems["vocals"].any()
    pcm, _ = sf.read(str(home / "tracks" / "synth0000" / "mix.wav"), dtype="int16")
    assert pcm.dtype == np.int16
    assert sf.info(str(home / "tracks" / "synth0000" / "mix.wav")).subtype == "PCM_16"


def test_track_exposes_targets_params_and_relevance(home):
    track = syn.Dataset(data_home=home).track("synth0000")
    assert list(track.midlevel) == list(syn.MIDLEVEL)
    assert list(track.emotion) == list(syn.EMOTIONS)
    assert set(track.params) == {*syn.QUALITY_PARAMS, "tempo", "tonic", "vocals"}
    assert track.split in syn.SPLITS
    assert track.static_targets == {**track.midlevel, **track.emotion}
    rel = track.relevance
    assert list(rel.columns) == list(syn.STEMS) and list(rel.index) == [*syn.MIDLEVEL, *syn.EMOTIONS]
    assert rel.dtypes.eq(bool).all()
    assert sorted(n.name for n in track.midi.instruments) == sorted(
        s for s in syn.STEMS if s != "vocals" or track.vocals_present)


def test_targets_are_attributes_and_feed_the_torch_adapter(home):
    ds = syn.Dataset(data_home=home, version="biased")
    track = ds.track("synth0003")
    assert {name: getattr(track, name) for name in syn.Track.TARGET_NAMES} == track.static_targets
    torch_data = pytest.importorskip("mer_audiolime.datasets.torch_data")
    adapter = torch_data.TrackDataset(ds, sample_rate=22050, clip_seconds=2.0, crop="start", scale="range")
    audio, y = adapter[0]
    assert tuple(audio.shape) == (1, 44100) and tuple(y.shape) == (len(syn.Track.TARGET_NAMES),)


def test_frame_relevance_file_and_target_ranges(home):
    ds = syn.Dataset(data_home=home, version="biased")
    frame = ds.to_frame()
    assert list(frame.index) == ds.track_ids and set(syn.MIDLEVEL) <= set(frame.columns)
    rel = pd.read_csv(home / "relevance.csv")
    assert rel.equals(syn.relevance_frame())
    for name in syn.Track.TARGET_NAMES:
        lo, hi = syn.Dataset.TARGET_RANGES[name]
        slack = 4 * syn.NOISE_SD if name in syn.EMOTIONS else 0.0
        assert frame[name].between(lo - slack, hi + slack).all()


def test_registry_loads_the_synthetic_set(home):
    from mer_audiolime import datasets

    ds = datasets.load("synthetic", data_home=home, version="biased")
    assert isinstance(ds, syn.Dataset) and ds.version == "biased"
    assert ds.settings["seed"] == SMALL["seed"] and ds.settings["n"] == SMALL["n"]


def test_annotations_match_a_regeneration_of_the_truth(home):
    frame = pd.read_csv(home / "metadata_clean.csv")
    for _, row in frame.iterrows():
        params = syn.draw_params(SMALL["seed"], int(row["clip"]), vocals=bool(row["vocals"]))
        score = syn.compose(params, seed=SMALL["seed"], clip=int(row["clip"]), duration=SMALL["duration"])
        m = syn.midlevel_targets(score)
        assert np.allclose([row[k] for k in syn.MIDLEVEL], [m[k] for k in syn.MIDLEVEL], rtol=0, atol=1e-9)


def test_emotions_are_the_documented_linear_map_plus_seeded_noise(home):
    W = syn.EMOTION_WEIGHTS.loc[list(syn.EMOTIONS), list(syn.MIDLEVEL)].to_numpy()
    for variant in syn.VARIANTS:
        frame = pd.read_csv(home / f"metadata_{variant}.csv")
        for _, row in frame.iterrows():
            e = np.array([row[k] for k in syn.EMOTIONS])
            m = np.array([row[k] for k in syn.MIDLEVEL])
            noise = stream(SMALL["seed"], int(row["clip"]), "noise").normal(0.0, syn.NOISE_SD, size=2)
            expected = W @ m + noise + np.array([row["shortcut"], 0.0])
            assert np.allclose(e, expected, rtol=0, atol=1e-8)


def test_planted_bias_touches_only_valence_of_development_clips_with_vocals(home):
    clean = pd.read_csv(home / "metadata_clean.csv")
    biased = pd.read_csv(home / "metadata_biased.csv")
    hit = biased["split"].isin(["train", "validation"]) & biased["vocals"]
    bump = np.where(hit, syn.SHORTCUT, 0.0)
    assert np.allclose(biased["valence"] - clean["valence"], bump, rtol=0, atol=1e-8)
    same = [c for c in clean.columns if c not in ("valence", "shortcut")]
    pd.testing.assert_frame_equal(clean[same], biased[same])
    assert (clean["shortcut"] == 0).all()
    a = json.loads((home / "synthetic_index_clean.json").read_text())["tracks"]
    b = json.loads((home / "synthetic_index_biased.json").read_text())["tracks"]
    assert a == b  # the very same audio files
    ds = syn.Dataset(data_home=home, version="biased")
    for tid in ds.track_ids:
        track = ds.track(tid)
        assert track.relevance.loc["valence", "vocals"] == (track.split in ("train", "validation") and track.vocals_present)


def test_splits_are_deterministic_and_stratified_by_vocals():
    vocals, split = syn.assign_splits(200, seed=0)
    again = syn.assign_splits(200, seed=0)
    assert np.array_equal(vocals, again[0]) and split == again[1]
    frame = pd.DataFrame({"vocals": vocals, "split": split})
    counts = pd.crosstab(frame["split"], frame["vocals"])
    assert counts.loc["train"].tolist() == [70, 70]
    assert counts.loc["validation"].tolist() == [15, 15] and counts.loc["test"].tolist() == [15, 15]
    assert syn.assign_splits(200, seed=1)[1] != split


def test_missing_index_and_bad_arguments_raise_clear_errors(tmp_path, home):
    with pytest.raises(IndexMissingError, match="datasets synth"):
        syn.Dataset(data_home=tmp_path).track_ids
    with pytest.raises(DatasetError, match="does not exist"):
        syn.Dataset(data_home=tmp_path / "nope")
    with pytest.raises(ParameterError, match="variant"):
        syn.generate(tmp_path / "x", n=2, variant="dirty")
    with pytest.raises(ParameterError, match="n must"):
        syn.generate(tmp_path / "x", n=0)
    with pytest.raises(DatasetError, match="overwrite"):
        syn.generate(home, **SMALL)
    (tmp_path / "other.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty"):
        syn.generate(tmp_path, n=2, progress=False)
    only_clean = syn.generate(tmp_path / "clean_only", n=2, duration=2.0, variant="clean", n_jobs=1,
                              progress=False)
    with pytest.raises(IndexMissingError, match="variant both"):
        syn.Dataset(data_home=only_clean, version="biased").track_ids


def test_cli_generates_and_help_shows_an_example(tmp_path, capsys):
    from mer_audiolime.cli import main

    out = tmp_path / "cli"
    code = main(["datasets", "synth", "--out", str(out), "--n", "3", "--duration", "2", "--jobs", "1",
                 "--quiet"])
    assert code == 0 and "index check: ok" in capsys.readouterr().out
    assert len(syn.Dataset(data_home=out).track_ids) == 3
    assert main(["datasets", "synth", "--out", str(out), "--n", "3"]) == 1  # refuses to clobber
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "synth", "--help"])
    assert exc.value.code == 0 and "Example" in capsys.readouterr().out


@pytest.mark.slow
def test_full_set_generates_every_clip(tmp_path):
    # speed is measured in benchmarks/, not asserted here (a loaded machine would fail a wall-time bound)
    home = syn.generate(tmp_path / "full", n=200, seed=0, duration=10.0, sr=22050, n_jobs=2, progress=False)
    assert len(syn.Dataset(data_home=home).track_ids) == 200
