"""The training sets of ``mer-audiolime train`` and the model zoo (``datasets.torch_data.split_dataset``)
serve what the shipped weights were trained on, item for item and bit for bit.

The shipped models were trained on items read by a reader that is no longer in the package: whole clips
decoded by the loader, conformed to mono at the model's rate (``audio.conform``), and target vectors looked up
per group (the track's ``midlevel`` / ``emotion`` dict, else ``static_targets``, else attributes) with NaN for
a missing value. :func:`reference_items` is that reader, kept here as the reference; the synthetic benchmark's
generator (documented in datasets/synthetic/README.md) provides the tracks.
"""

from __future__ import annotations

import numpy as np
import pytest

from mer_audiolime import datasets
from mer_audiolime.audio import conform
from mer_audiolime.datasets.torch_data import TrackDataset, split_dataset
from mer_audiolime.exceptions import DatasetError, ParameterError
from mer_audiolime.names import EMOTION_NAMES, MIDLEVEL_NAMES

pytest.importorskip("torch")


def reference_targets(track, group, names):
    values = getattr(track, group, None)
    if not isinstance(values, dict):
        values = getattr(track, "static_targets", None)
    if not isinstance(values, dict):
        values = {n: getattr(track, n, None) for n in names}
    return np.array([np.nan if values.get(n) is None else float(values[n]) for n in names])


def reference_items(name, *, data_home, split, variant, sample_rate=22050):
    loader = datasets.load(name, data_home=data_home, version=variant)
    tracks = [loader.track(t) for t in loader.track_ids]
    tracks = [t for t in tracks if t.split == split]
    for track in tracks:
        audio, sr = track.audio
        wave = conform(audio, sr=int(sr), target_sr=sample_rate, channels=1)[0]
        yield track.track_id, wave, {"midlevel": reference_targets(track, "midlevel", MIDLEVEL_NAMES),
                                     "emotion": reference_targets(track, "emotion", EMOTION_NAMES)}


@pytest.fixture(scope="module")
def synthetic_home(tmp_path_factory):
    from mer_audiolime.datasets.synthetic import generate

    home = tmp_path_factory.mktemp("synthetic_train")
    generate(home, n=10, seed=3, duration=1.0, n_jobs=1, progress=False)
    return home


@pytest.mark.parametrize("variant", ["clean", "biased"])
@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_split_dataset_serves_the_reference_items_bit_for_bit(synthetic_home, variant, split):
    from mer_audiolime.models._items import load_items

    ref = list(reference_items("synthetic", data_home=synthetic_home, split=split, variant=variant))
    new = split_dataset("synthetic", data_home=synthetic_home, split=split, variant=variant)
    assert ref and len(new) == len(ref)
    assert new.track_ids == [tid for tid, _, _ in ref]  # same order
    assert new.index_version == variant
    assert (new.midlevel_names, new.emotion_names) == (list(MIDLEVEL_NAMES), list(EMOTION_NAMES))
    for i, (_, wave, targets) in enumerate(ref):
        audio, got = new[i]
        assert audio.shape == (1, wave.size)
        assert audio.numpy()[0].tobytes() == wave.astype(np.float32).tobytes()
        for group in ("midlevel", "emotion"):
            np.testing.assert_array_equal(got[group].numpy(), targets[group].astype(np.float32))
    # What the training code reads from either, at a clip length that crops some and zero-pads others.
    clip = int(ref[0][1].size * 0.9)
    kw = dict(n_mid=7, n_emo=2, clip_samples=clip, midlevel_names=MIDLEVEL_NAMES, emotion_names=EMOTION_NAMES)
    old_items = [(w, t) for _, w, t in ref]
    for a, b in zip(load_items(old_items, **kw), load_items(new, **kw)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_split_dataset_names_the_splits_it_has(synthetic_home):
    with pytest.raises(DatasetError, match="no tracks in split 'nope'.*'test', 'train', 'validation'"):
        split_dataset("synthetic", data_home=synthetic_home, split="nope", variant="clean")


def test_grouped_targets_missing_as_nan_and_whole_clips(synthetic_home):
    loader = datasets.load("synthetic", data_home=synthetic_home, version="clean")
    ids = list(loader.track_ids)[:3]
    track = loader.track(ids[0])
    ds = TrackDataset(loader, track_ids=ids, target_groups={"emotion": ["arousal"], "extra": ["no_such"]},
                      sample_rate=8000, clip_seconds="full", missing="nan", scale="range",
                      ranges={"no_such": (0.0, 1.0)}, target_range=(-1.0, 1.0))
    audio, y = ds[0]
    assert audio.shape == (1, 8000)  # the whole 1 s clip
    assert set(y) == {"emotion", "extra"} and np.isnan(y["extra"].numpy()).all()
    lo, hi = loader.TARGET_RANGES["arousal"]
    assert y["emotion"].item() == pytest.approx((track.emotion["arousal"] - lo) / (hi - lo) * 2 - 1, abs=1e-6)
    with pytest.raises(DatasetError, match="missing='nan'"):
        TrackDataset(loader, target_groups={"extra": ["no_such"]}, sample_rate=8000, clip_seconds=1)
    with pytest.raises(ParameterError, match="not both"):
        TrackDataset(loader, targets=["arousal"], target_groups={"emotion": ["arousal"]}, sample_rate=8000,
                     clip_seconds=1)
    for bad in ({"clip_seconds": "whole"}, {"clip_seconds": 1, "missing": "drop"}):
        with pytest.raises(ParameterError):
            TrackDataset(loader, target_groups={"emotion": ["arousal"]}, sample_rate=8000, **bad)
