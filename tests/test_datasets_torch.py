"""TrackDataset (item 4) and the split helpers: exact lengths, loop-padding, seeded crops, scaling, caching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mer_audiolime import datasets
from mer_audiolime.datasets import splits
from mer_audiolime.datasets.torch_data import TrackDataset, fit_length
from mer_audiolime.exceptions import DatasetError, ParameterError

RESOURCES = Path(__file__).resolve().parent / "resources"


@pytest.fixture
def pmemo(tmp_path):
    index = datasets.build_index("pmemo", RESOURCES / "pmemo", out=tmp_path / "i.json", progress=False)
    return datasets.load("pmemo", data_home=RESOURCES / "pmemo", index_path=index)


def test_fit_length_loop_pads_and_crops():
    x = np.arange(5, dtype=np.float32)[None]
    assert fit_length(x, 12, pad="loop")[0].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert fit_length(x, 7, pad="zero")[0].tolist() == [0, 1, 2, 3, 4, 0, 0]
    assert fit_length(x, 3, crop="start")[0].tolist() == [0, 1, 2]
    assert fit_length(x, 3, crop="center")[0].tolist() == [1, 2, 3]
    a = fit_length(x, 3, crop="random", rng=np.random.default_rng(3))
    b = fit_length(x, 3, crop="random", rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    with pytest.raises(ParameterError):
        fit_length(x, 3, crop="random")
    with pytest.raises(ParameterError):
        fit_length(x, 3, pad="mirror")


def test_items_have_model_rate_and_window(pmemo):
    class Model:
        sample_rate, channels, clip_seconds = 16000, 2, 2.5

    ds = TrackDataset(pmemo, model=Model())
    x, y = ds[0]
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 40000)
    assert y.dtype == torch.float32 and y.tolist() == pytest.approx([0.4, 0.575])
    assert ds.target_names == ["arousal", "valence"] and len(ds) == 3


def test_short_clip_is_loop_padded_exactly(pmemo):
    ds = TrackDataset(pmemo, sample_rate=22050, clip_seconds=2.5, crop="start")
    full = ds.decoded("1")
    x, _ = ds[0]
    n = full.shape[1]
    assert np.array_equal(x.numpy()[:, :n], full) and np.array_equal(x.numpy()[:, n : 2 * n], full)


def test_random_crops_are_seeded_per_epoch(pmemo):
    make = lambda seed: TrackDataset(pmemo, sample_rate=22050, clip_seconds=0.25, seed=seed)  # noqa: E731
    a, b = make(0), make(0)
    assert torch.equal(a[1][0], b[1][0])
    first = a[1][0].clone()
    a.set_epoch(1)
    assert not torch.equal(a[1][0], first)
    a.set_epoch(0)
    assert torch.equal(a[1][0], first)


def test_range_scaling_and_inverse(pmemo):
    ds = TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, scale="range", target_range=(-1, 1))
    assert ds.targets[0].tolist() == pytest.approx([-0.2, 0.15])
    np.testing.assert_allclose(ds.unscale_targets(ds.targets), ds.raw_targets, atol=1e-6)


def test_standardize_uses_given_training_stats(pmemo):
    train = TrackDataset(pmemo, track_ids=["4", "7"], sample_rate=8000, clip_seconds=1, scale="standardize")
    mean, std = train.target_stats["arousal"]
    assert mean == pytest.approx((0.2625 + 0.75) / 2)
    test = TrackDataset(pmemo, track_ids=["1"], sample_rate=8000, clip_seconds=1, scale="standardize",
                        stats=train.target_stats)
    assert test.targets[0, 0] == pytest.approx((0.4 - mean) / std)


def test_disk_cache_avoids_decoding_again(pmemo, tmp_path, monkeypatch):
    first = TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, cache_dir=tmp_path / "c")
    x0 = first[2][0]
    assert len(list((tmp_path / "c").glob("*.npy"))) == 1
    from mer_audiolime.datasets import pmemo as pmemo_module

    def boom(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(type(pmemo.track("1")), "audio", property(boom))
    second = TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, cache_dir=tmp_path / "c")
    assert torch.equal(second[2][0], x0)
    assert pmemo_module  # the loader module stays importable with the patched property


def test_dataloader_batches(pmemo):
    ds = TrackDataset(pmemo, sample_rate=8000, clip_seconds=0.5, return_track_id=True)
    x, y, ids = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert tuple(x.shape) == (3, 1, 4000) and tuple(y.shape) == (3, 2) and list(ids) == ["1", "4", "7"]


def test_bad_arguments(pmemo):
    with pytest.raises(ParameterError, match="sample_rate"):
        TrackDataset(pmemo, clip_seconds=1)
    with pytest.raises(ParameterError, match="clip_seconds"):
        TrackDataset(pmemo, sample_rate=8000)
    with pytest.raises(DatasetError, match="not in pmemo"):
        TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, track_ids=["9"])
    with pytest.raises(ParameterError, match="rating range"):
        TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, targets=["chorus_start"], scale="range")


def test_non_numeric_target_is_rejected(pmemo):
    with pytest.raises(ParameterError, match="not a number"):
        TrackDataset(pmemo, sample_rate=8000, clip_seconds=1, targets=["dynamic"])


def test_missing_target_raises_or_is_skipped(tmp_path):
    import shutil

    home = tmp_path / "pmemo"
    shutil.copytree(RESOURCES / "pmemo", home)
    datasets.build_index("pmemo", home, progress=False)
    static = home / "PMEmo2019" / "annotations" / "static_annotations.csv"
    static.write_text("".join(line for line in static.read_text().splitlines(True) if not line.startswith("7,")))
    ds = datasets.load("pmemo", data_home=home)
    with pytest.raises(DatasetError, match="track 7 has no value"):
        TrackDataset(ds, sample_rate=8000, clip_seconds=1)
    kept = TrackDataset(ds, sample_rate=8000, clip_seconds=1, skip_missing=True)
    assert kept.skipped == ["7"] and kept.track_ids == ["1", "4"]


def test_random_split_is_a_partition_and_seeded():
    ids = [str(i) for i in range(20)]
    a = splits.random_split(ids, seed=3)
    assert a == splits.random_split(list(reversed(ids)), seed=3)
    assert sorted(sum(a.values(), []), key=int) == ids
    assert [len(v) for v in a.values()] == [16, 2, 2]
    with pytest.raises(ParameterError):
        splits.random_split(ids, fractions=(0.5, 0.4))


def test_official_split_error_for_datasets_without_one(pmemo):
    with pytest.raises(DatasetError, match="no official split"):
        splits.official_split(pmemo)


@pytest.mark.parametrize("name", ["midlevel", "pmemo", "deam", "soundtracks", "emomusic"])
def test_any_loader_with_targets_feeds_the_adapter(name, tmp_path):
    index = datasets.build_index(name, RESOURCES / name, out=tmp_path / "i.json", progress=False)
    ds = datasets.load(name, data_home=RESOURCES / name, index_path=index)
    td = TrackDataset(ds, sample_rate=8000, clip_seconds=0.5, scale="range")
    x, y = td[len(td) - 1]
    assert tuple(x.shape) == (1, 4000)
    assert y.shape[0] == len(type(ds.track(ds.track_ids[0])).TARGET_NAMES)
    assert torch.all((td_targets := torch.from_numpy(td.targets)) >= 0) and torch.all(td_targets <= 1)


def test_tag_dataset_has_no_numeric_targets(tmp_path):
    name = "mtg_jamendo_autotagging_moodtheme"
    index = datasets.build_index(name, RESOURCES / name, out=tmp_path / "i.json", progress=False)
    ds = datasets.load(name, data_home=RESOURCES / name, index_path=index)
    with pytest.raises(ParameterError, match="no numeric targets"):
        TrackDataset(ds, sample_rate=8000, clip_seconds=0.5)


def test_registry_exposes_adapter_and_splits_lazily():
    assert datasets.TrackDataset is TrackDataset
    assert datasets.single_artist_split is splits.single_artist_split
    with pytest.raises(AttributeError):
        datasets.no_such_thing
