"""Shipped separators (umx-synth): offline loading by name and by folder, sha256 checks, separation on
synthetic clips, SDR / SI-SDR against analytic values and a least-squares reference, and reproducible
training."""

import shutil

import numpy as np
import pytest

from mer_audiolime.audio import audio_fingerprint
from mer_audiolime.datasets import synthetic
from mer_audiolime.exceptions import ChecksumError, ParameterError, WeightsError
from mer_audiolime.explain import OpenUnmixSeparator, explain, get_separator
from mer_audiolime.explain import separators as registry
from mer_audiolime.explain.separators import sdr as sdrmod
from mer_audiolime.explain.separators.sdr import (separation_sdr, signal_sdr, signal_si_sdr,
                                                  summarize_sdr)
from mer_audiolime.models.checkpoint import sha256_file

from explain_models import midlevel_predictor

NAME = "umx-synth"


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Eight 2-s synthetic clips (four without vocals; 4 train, 2 validation, 2 test), made like the benchmark."""
    home = tmp_path_factory.mktemp("synth") / "set"
    synthetic.generate(home, n=8, seed=0, duration=2.0, variant="clean", n_jobs=1, progress=False)
    return synthetic.Dataset(data_home=str(home))


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No torch-hub checkpoints and no downloads: everything must come from the package."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("MER_AUDIOLIME_ALLOW_DOWNLOAD", raising=False)


def _clip(dataset, *, vocals: bool):
    track = next(dataset.track(t) for t in sorted(dataset.track_ids) if dataset.track(t).vocals_present == vocals)
    return track


# -- the shipped files and their card --------------------------------------------------------------------
def test_shipped_separator_is_registered_and_its_files_match_the_card():
    assert NAME in registry.list_separators()
    card = registry.separator_card(NAME)
    folder = registry.separator_dir(NAME)
    assert folder == registry.SEPARATORS_DIR / NAME
    assert card["targets"] == list(synthetic.STEMS), "explanations must use the oracle's stem names"
    assert card["sample_rate"] == 22050 and card["nb_channels"] == 1
    assert set(card["files"]) == set(registry.model_files(card["targets"]))
    for filename, entry in card["files"].items():
        assert sha256_file(folder / filename) == entry["sha256"], filename
        assert (folder / filename).stat().st_size == entry["size_bytes"], filename
    total = sum((folder / f).stat().st_size for f in card["files"])
    assert total == card["size_bytes"] <= 10 * 1024 * 1024
    per_stem = card["test"]["per_stem"]
    assert set(per_stem) == set(card["targets"])
    assert "torchmetrics" in card["test"]["definition"]
    for stem, metrics in per_stem.items():
        assert {"sdr", "si_sdr", "sdr_mix", "si_sdr_mix"} <= set(metrics), stem
    assert card["recipe"]["seed"] == 0 and card["data"]["seed"] == 0 and card["data"]["n"] == 200
    for target, curve in card["validation_loss"].items():
        assert 1 <= curve["best_epoch"] <= card["recipe"]["epochs"], target
        assert curve["best_valid_loss"] <= curve["valid_loss_epoch1"], target


def test_unknown_shipped_name_lists_the_available_ones():
    with pytest.raises(ParameterError, match="umx-synth"):
        registry.separator_card("umx-nope")


# -- loading offline ---------------------------------------------------------------------------------------
def test_loads_offline_by_name_and_by_directory_with_the_same_weights(offline, tiny_set):
    by_name = OpenUnmixSeparator(NAME, show_progress=False)
    assert by_name.sample_rate == 22050, "the true rate is declared before the weights load"
    by_dir = OpenUnmixSeparator(str(registry.SEPARATORS_DIR / NAME), show_progress=False)
    assert by_name.identity == by_dir.identity
    assert by_name.identity.startswith("openunmix:umx-synth:") and "targets=vocals,piano,bass,drums,other" in (
        by_name.identity)
    track = _clip(tiny_set, vocals=True)
    mix, sr = track.audio
    stems = by_name.separate(mix, sr=int(sr))
    assert list(stems) == list(synthetic.STEMS)
    for name, stem in stems.items():
        assert stem.shape == mix.shape and stem.dtype == np.float32 and np.isfinite(stem).all(), name
    again = by_dir.separate(mix, sr=int(sr))
    for name in stems:
        np.testing.assert_array_equal(stems[name], again[name])
    # stereo in, stereo out (the mono model sees the down-mix); another rate is resampled both ways
    stereo = by_name.separate(np.repeat(mix, 2, axis=0), sr=int(sr))
    assert {s.shape for s in stereo.values()} == {(2, mix.shape[1])}
    np.testing.assert_allclose(stereo["bass"][0], stems["bass"][0], atol=1e-6)
    at_16k = by_name.separate(mix[:, :16000], sr=16000)
    assert {s.shape for s in at_16k.values()} == {(1, 16000)}


def test_get_separator_and_explain_use_the_oracle_stem_names(offline, tiny_set, tmp_path):
    track = _clip(tiny_set, vocals=True)
    mix, sr = track.audio
    sep = get_separator(NAME, cache_dir=tmp_path / "cache", show_progress=False)
    assert sep.inner.sample_rate == 22050
    model = midlevel_predictor(sr=int(sr))
    kw = dict(sr=int(sr), model=model, num_samples=64, seed=0, show_progress=False)
    est = explain(mix, separator=NAME, cache_dir=tmp_path / "cache", **kw)
    oracle = explain(mix, stems=track.stems, **kw)
    assert oracle.components.names == list(synthetic.STEMS), "oracle stems sum to the mix: no residual"
    # the Wiener EM step (niter=1) leaves estimates that do not quite sum to the mix: a residual is added and
    # the all-on mask is the mix again
    assert est.components.names == [*synthetic.STEMS, "residual"] and est.components.residual
    np.testing.assert_allclose(est.components.waveforms.sum(axis=0), mix, atol=1e-5)


def test_cli_explain_with_the_shipped_separator(offline, tiny_set, tmp_path):
    import pandas as pd

    from mer_audiolime.cli import main

    from conftest import RESOURCES

    track = _clip(tiny_set, vocals=False)
    out = tmp_path / "out"
    code = main(["explain", track.audio_path, "--model", f"{RESOURCES / 'models' / 'analytic_model.py'}:build",
                 "--separator", NAME, "--num-samples", "40", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out), "--no-progress"])
    assert code == 0
    components = set(pd.read_csv(out / "attributions.csv")["component"])
    assert set(synthetic.STEMS) <= components <= {*synthetic.STEMS, "residual"}


# -- checksums ---------------------------------------------------------------------------------------------
def _altered_copy(tmp_path, filename="bass.pth"):
    root = tmp_path / "separators"
    shutil.copytree(registry.SEPARATORS_DIR / NAME, root / NAME)
    path = root / NAME / filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return root


def _forbid_openunmix_loading(monkeypatch):
    import openunmix.utils

    def boom(*args, **kwargs):
        raise AssertionError("open-unmix was asked to load a file that failed its checksum")

    monkeypatch.setattr(openunmix.utils, "load_separator", boom)


def test_altered_file_is_refused_by_name_before_loading(offline, tmp_path, monkeypatch):
    root = _altered_copy(tmp_path)
    monkeypatch.setattr(registry, "SEPARATORS_DIR", root)
    _forbid_openunmix_loading(monkeypatch)
    with pytest.raises(ChecksumError) as info:
        OpenUnmixSeparator(NAME, show_progress=False).separate(np.full((1, 4410), 0.1, np.float32), sr=22050)
    msg = str(info.value)
    assert "bass.pth" in msg and registry.separator_card(NAME)["files"]["bass.pth"]["sha256"] in msg


def test_altered_file_is_refused_in_a_local_directory_with_a_card(offline, tmp_path, monkeypatch):
    folder = _altered_copy(tmp_path, "separator.json") / NAME
    _forbid_openunmix_loading(monkeypatch)
    with pytest.raises(ChecksumError, match="separator.json"):
        OpenUnmixSeparator(str(folder), show_progress=False).separate(np.full((1, 4410), 0.1, np.float32),
                                                                      sr=22050)


def test_card_that_misses_a_file_or_a_missing_file_is_refused(tmp_path):
    import json

    folder = tmp_path / NAME
    shutil.copytree(registry.SEPARATORS_DIR / NAME, folder)
    card = json.loads((folder / "card.json").read_text())
    del card["files"]["drums.pth"]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="drums.pth"):
        registry.verify_separator_dir(folder)
    shutil.copy2(registry.SEPARATORS_DIR / NAME / "card.json", folder / "card.json")
    (folder / "other.pth").unlink()
    with pytest.raises(WeightsError, match="other.pth"):
        registry.verify_separator_dir(folder)


def test_local_directory_without_card_needs_targets(offline, tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(registry.SEPARATORS_DIR / NAME, folder)
    (folder / "card.json").unlink()
    with pytest.raises(ParameterError, match="targets"):
        OpenUnmixSeparator(str(folder), show_progress=False).separate(np.full((1, 4410), 0.1, np.float32),
                                                                      sr=22050)
    sep = OpenUnmixSeparator(str(folder), targets=["bass", "drums"], show_progress=False)
    assert list(sep.separate(np.full((1, 4410), 0.1, np.float32), sr=22050)) == ["bass", "drums"]


# -- SDR and SI-SDR ----------------------------------------------------------------------------------------
def test_perfect_estimate_scores_very_high():
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    assert signal_sdr(x, x) > 100.0
    assert signal_si_sdr(x, x) > 100.0
    assert signal_sdr(-0.5 * x, x) > 100.0, "SDR forgives a gain"


def test_si_sdr_of_scaled_reference_plus_orthogonal_noise_is_analytic():
    rng = np.random.default_rng(1)
    n = 6000
    ref = np.zeros(n, np.float32)
    noise = np.zeros(n, np.float32)
    ref[0::2] = rng.standard_normal(n // 2)
    noise[1::2] = rng.standard_normal(n // 2) * 0.25   # disjoint supports: exactly orthogonal
    for gain in (1.0, 0.5, 3.0):
        est = gain * ref + noise
        expected = 10 * np.log10(gain**2 * np.sum(ref.astype(np.float64) ** 2)
                                 / np.sum(noise.astype(np.float64) ** 2))
        assert signal_si_sdr(est, ref) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_sdr_equals_a_least_squares_projection_onto_delayed_references():
    """BSS-eval SDR: project the estimate on `filter_length` delayed copies of the reference (numpy lstsq)."""
    rng = np.random.default_rng(2)
    taps, n = 16, 3000
    ref = np.concatenate([rng.standard_normal(n - taps), np.zeros(taps)])   # delays are never cut off
    est = np.convolve(ref, [0.0, 0.7, -0.2, 0.1])[:n] + 0.3 * rng.standard_normal(n)
    shifts = np.stack([np.concatenate([np.zeros(k), ref[:n - k]]) for k in range(taps)], axis=1)
    coef, *_ = np.linalg.lstsq(shifts, est, rcond=None)
    proj = shifts @ coef
    expected = 10 * np.log10(np.sum(proj**2) / np.sum((est - proj) ** 2))
    got = signal_sdr(est.astype(np.float32), ref.astype(np.float32), filter_length=taps)
    est32, ref32 = est.astype(np.float32).astype(np.float64), ref.astype(np.float32).astype(np.float64)
    shifts32 = np.stack([np.concatenate([np.zeros(k), ref32[:n - k]]) for k in range(taps)], axis=1)
    coef32, *_ = np.linalg.lstsq(shifts32, est32, rcond=None)
    proj32 = shifts32 @ coef32
    expected32 = 10 * np.log10(np.sum(proj32**2) / np.sum((est32 - proj32) ** 2))
    assert got == pytest.approx(expected32, abs=1e-6)
    assert expected == pytest.approx(expected32, abs=1e-3), "float32 rounding is immaterial here"
    # a short filter of the reference is no error for SDR, but it is for SI-SDR
    filtered = np.convolve(ref, [0.0, 0.0, 0.9, 0.3])[:n].astype(np.float32)
    assert signal_sdr(filtered, ref.astype(np.float32), filter_length=taps) > 100.0
    assert signal_si_sdr(filtered, ref.astype(np.float32)) < 0.0


def test_sdr_multichannel_is_the_channel_mean_and_bad_inputs_are_refused():
    rng = np.random.default_rng(3)
    ref = np.zeros((2, 4000), np.float32)
    ref[:, 0::2] = rng.standard_normal((2, 2000))
    est = ref.copy()
    est[0, 1::2] = 0.5 * rng.standard_normal(2000)
    est[1, 1::2] = 0.1 * rng.standard_normal(2000)
    per = [signal_si_sdr(est[c], ref[c]) for c in range(2)]
    assert signal_si_sdr(est, ref) == pytest.approx(np.mean(per), rel=1e-12)
    with pytest.raises(ParameterError, match="silent"):
        signal_sdr(est, np.zeros_like(ref))
    with pytest.raises(ParameterError, match="same shape"):
        signal_sdr(est[:, :100], ref)
    with pytest.raises(ParameterError, match="finite"):
        signal_si_sdr(np.full_like(ref, np.nan), ref)
    assert signal_sdr(np.zeros_like(ref), ref) == -np.inf
    assert signal_si_sdr(np.zeros_like(ref), ref) == -np.inf


class ScaledMix:
    """Every stem is a fifth of the mix: separation that does nothing."""

    identity = "scaled-mix"
    sample_rate = None

    def separate(self, audio, *, sr):
        return {s: np.asarray(audio, np.float32) * 0.2 for s in synthetic.STEMS}


class LookupOracle:
    """The true stems of each clip of a dataset, looked up by the mix's content."""

    identity = "lookup-oracle"
    sample_rate = None

    def __init__(self, dataset):
        self.stems = {}
        for tid in dataset.track_ids:
            track = dataset.track(tid)
            mix, sr = track.audio
            self.stems[audio_fingerprint(mix, int(sr))] = track.stems

    def separate(self, audio, *, sr):
        return self.stems[audio_fingerprint(audio, sr)]


def test_separation_sdr_no_separation_equals_the_mix_baseline(tiny_set):
    rows = separation_sdr(ScaledMix(), tiny_set, split=None, stems=["vocals", "drums"], show_progress=False)
    wide = rows.pivot_table(index=["track_id", "stem"], columns="metric", values="value")
    scored = wide.dropna(subset=["sdr"])
    np.testing.assert_allclose(scored["sdr"], scored["sdr_mix"], atol=1e-9)       # SDR ignores the gain
    np.testing.assert_allclose(scored["si_sdr"], scored["si_sdr_mix"], atol=1e-9)
    leak = rows[rows["metric"] == "leakage_db"]
    n_without_vocals = sum(not tiny_set.track(t).vocals_present for t in tiny_set.track_ids)
    assert n_without_vocals >= 1 and len(leak) == n_without_vocals and set(leak["stem"]) == {"vocals"}
    np.testing.assert_allclose(leak["value"], 20 * np.log10(0.2), atol=1e-5)     # |0.2 mix|^2 / |mix|^2


def test_separation_sdr_of_the_true_stems_is_perfect(tiny_set):
    rows = separation_sdr(LookupOracle(tiny_set), tiny_set, split=None, stems=["vocals", "bass"],
                          show_progress=False)
    assert set(rows["stem"]) == {"vocals", "bass"}
    assert (rows.loc[rows["metric"].isin(["sdr", "si_sdr"]), "value"] > 100).all()
    assert (rows.loc[rows["metric"] == "leakage_db", "value"] == -np.inf).all()
    summary = summarize_sdr(rows)
    bass = summary[(summary["stem"] == "bass") & (summary["metric"] == "sdr")].iloc[0]
    assert bass["n"] == len(tiny_set.track_ids) and bass["median"] > 100
    with pytest.raises(ParameterError, match="guitar"):
        separation_sdr(LookupOracle(tiny_set), tiny_set, split=None, stems=["guitar"], show_progress=False)
    with pytest.raises(ParameterError, match="split"):
        separation_sdr(ScaledMix(), tiny_set, split="nope", show_progress=False)


def test_summarize_sdr_golden_values():
    import pandas as pd

    rows = pd.DataFrame({"track_id": list("abcde"), "stem": "drums", "metric": "sdr",
                         "value": [4.0, -1.0, 2.0, 10.0, 3.0]})
    got = summarize_sdr(rows).iloc[0].to_dict()
    assert got == {"stem": "drums", "metric": "sdr", "median": 3.0, "q25": 2.0, "q75": 4.0, "n": 5}
    values = np.random.default_rng(4).standard_normal(11)
    frame = pd.DataFrame({"stem": "bass", "metric": "si_sdr", "value": values})
    got = summarize_sdr(frame).iloc[0]
    np.testing.assert_allclose([got["q25"], got["median"], got["q75"]], np.quantile(values, [0.25, 0.5, 0.75]),
                               rtol=1e-15)
    leak = pd.DataFrame({"stem": "vocals", "metric": "leakage_db", "value": [-np.inf, -np.inf, -np.inf, -20.0]})
    got = summarize_sdr(leak).iloc[0]
    assert (got["q25"], got["median"], got["q75"]) == (-np.inf, -np.inf, -np.inf)
    leak = pd.DataFrame({"stem": "vocals", "metric": "leakage_db", "value": [-np.inf, -30.0, -20.0]})
    got = summarize_sdr(leak).iloc[0]
    assert (got["q25"], got["median"], got["q75"]) == (-np.inf, -30.0, -25.0)
    assert sdrmod.SDR_DEFINITION.startswith("sdr: BSS-eval-style SDR")


# -- training ----------------------------------------------------------------------------------------------
TINY = {"epochs": 1, "hidden_size": 8, "seq_seconds": 1.0, "samples_per_track": 1, "batch_size": 4,
        "targets": ["bass", "drums"]}


def test_training_is_reproducible_and_writes_a_loadable_checked_folder(tiny_set, tmp_path, offline):
    from mer_audiolime.explain.separators.train import train_separator, write_card

    home = tiny_set.data_home
    first = train_separator(home, tmp_path / "a", recipe=TINY, progress=False)
    train_separator(home, tmp_path / "b", recipe=TINY, progress=False)
    for f in registry.model_files(TINY["targets"]):
        assert sha256_file(tmp_path / "a" / f) == sha256_file(tmp_path / "b" / f), f"same seed, same {f}"
    card = write_card(tmp_path / "a", first, name="tiny")
    assert registry.verify_separator_dir(tmp_path / "a") == card
    sep = OpenUnmixSeparator(str(tmp_path / "a"), show_progress=False)   # targets from the card
    mix, sr = tiny_set.track(sorted(tiny_set.track_ids)[0]).audio
    assert list(sep.separate(mix, sr=int(sr))) == ["bass", "drums"]
    with pytest.raises(ParameterError, match="nb_layers"):
        train_separator(home, tmp_path / "c", recipe={**TINY, "nb_layers": 2}, progress=False)
    with pytest.raises(ParameterError, match="unknown recipe"):
        train_separator(home, tmp_path / "c", recipe={"epoch": 3}, progress=False)


# -- the documented test SDR -------------------------------------------------------------------------------
@pytest.mark.slow
def test_shipped_separator_reproduces_its_documented_test_sdr(tmp_path, offline):
    card = registry.separator_card(NAME)
    data = card["data"]
    home = synthetic.generate(tmp_path / "synth", n=data["n"], seed=data["seed"], duration=data["duration"],
                              sr=data["sr"], variant="clean", n_jobs=2, progress=False)
    rows = separation_sdr(NAME, synthetic.Dataset(data_home=str(home)), split="test", show_progress=False)
    summary = summarize_sdr(rows)
    for row in summary.itertuples():
        documented = card["test"]["per_stem"][row.stem][row.metric]
        assert row.n == documented["n"], (row.stem, row.metric)
        assert row.median == pytest.approx(documented["median"], abs=1e-3), (row.stem, row.metric)
