"""The fault matrix: every bad input or damaged state ends in one of three outcomes, never anything else.

* a typed error (``mer_audiolime.exceptions``) raised *before any model call* (``ERROR``),
* a result carrying the right trust warning (``WARN``), or
* a recorded per-track failure / a repaired file in a harness run.

Cases run through the API and the CLI. Audio is tiny and models are analytic (or the smallest zoo model), so
the whole module runs in well under a minute apart from the one harness run that writes figures.
"""

import json
import os
import shutil
import socket
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_audiolime.explain import explain
from mer_audiolime.cli import main
from mer_audiolime.exceptions import (
    AudioDecodeError,
    AudioTooShortError,
    ChecksumError,
    EvaluationError,
    ExplanationWarning,
    IntegrityError,
    MerAudioLimeError,
    MerAudioLimeWarning,
    ParameterError,
    SeparationError,
    WeightsError,
)
from mer_audiolime.models import CallablePredictor

from conftest import RESOURCES
from explain_models import SR, make_stems, midlevel_predictor

ANALYTIC = RESOURCES / "models" / "analytic_model.py"
MODEL = f"{ANALYTIC}:build"
COUNTING = f"{ANALYTIC}:build_counting"
SUITE = {"name": "faults", "tracks": {"split": "all", "limit": 3},
         "explain": {"num_samples": 32, "seeds": [0, 1], "batch_size": 8}}


# --------------------------------------------------------------------------------------------- helpers
def counting(inner=None, **attrs):
    """A predictor that counts the inputs it sees (``.calls[0]``), wrapping the mid-level test model."""
    inner = inner or midlevel_predictor()
    calls = [0]

    def fn(batch):
        calls[0] += len(batch)
        return inner(batch)

    pred = CallablePredictor(fn, sample_rate=inner.sample_rate, output_names=inner.output_names,
                             midlevel_names=inner.midlevel_names, emotion_names=inner.emotion_names,
                             emotion_weights=inner.emotion_weights)
    pred.calls = calls
    for key, value in attrs.items():
        setattr(pred, key, value)
    return pred


def clip(seconds=1.0, seed=0, sr=SR):
    rng = np.random.default_rng(seed)
    stems = make_stems(rng, seconds=seconds, names=("vocals", "drums", "bass"), sr=sr)
    mix = np.sum(list(stems.values()), axis=0)
    return mix, stems


def codes(exp) -> set:
    return {w.code for w in exp.warnings}


def quiet_explain(audio, **kw):
    """explain() with its ExplanationWarnings silenced (they are asserted on exp.warnings)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MerAudioLimeWarning)
        return explain(audio, show_progress=False, **kw)


def write_audio(path, seconds=2.0, sr=22050, fmt=None, subtype=None, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 330 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    sf.write(path, y, sr, format=fmt, subtype=subtype)
    return path


def truncate(path, fraction=0.6):
    data = path.read_bytes()
    out = path.with_name(f"cut_{path.name}")
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


# ------------------------------------------------------------------- explain(): typed errors, no model call
ERRORS = [
    ("seed-negative", dict(seed=-1), ParameterError, "seed must be an integer >= 0"),
    ("seed-2**32", dict(seed=2**32), ParameterError, "seed must be an integer <= 4294967295"),
    ("seed-float", dict(seed=1.5), ParameterError, "seed must be an integer"),
    ("targets-empty", dict(targets=[]), ParameterError, "empty, which selects nothing"),
    ("targets-blank", dict(targets=[" "]), ParameterError, "non-empty strings"),
    ("targets-unknown", dict(targets=["joy"]), ParameterError, "unknown target"),
    ("targets-duplicate", dict(targets=["valence", "valence"]), ParameterError, "more than once"),
    ("segments-empty", dict(segments=[]), ParameterError, "empty list"),
    ("segments-negative", dict(segments=[-1.0, 0.5]), ParameterError, ">= 0 s"),
    ("segments-vs-length", dict(segments=500), AudioTooShortError, "fewer segments"),
    ("segment-seconds-vs-length", dict(segment_seconds=5.0), AudioTooShortError, "segment_seconds"),
    ("boundary-beyond-end", dict(segments=[0, 0.5, 3.0]), AudioTooShortError, "beyond the end"),
    ("num-samples-1", dict(num_samples=1), ParameterError, "num_samples"),
    ("batch-size-0", dict(batch_size=0), ParameterError, "batch_size"),
    ("kernel-width-0", dict(kernel_width=0.0), ParameterError, "kernel_width"),
    ("alpha-negative", dict(alpha=-1.0), ParameterError, "alpha"),
    ("mode-unknown", dict(mode="ranking"), ParameterError, "mode"),
]


@pytest.mark.parametrize("label,kwargs,error,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_explain_refuses_before_any_model_call(label, kwargs, error, match):
    mix, stems = clip()
    model = counting()
    with pytest.raises(error, match=match):
        explain(mix, sr=SR, model=model, stems=stems, show_progress=False, **kwargs)
    assert model.calls[0] == 0


def test_audio_shorter_than_the_models_input_is_refused_before_any_call():
    mix, stems = clip(seconds=0.2)
    model = counting(min_input_samples=SR // 2)
    with pytest.raises(AudioTooShortError, match="needs at least 0.500 s"):
        explain(mix, sr=SR, model=model, stems=stems, show_progress=False)
    assert model.calls[0] == 0


def test_zoo_model_on_a_clip_shorter_than_its_receptive_field():
    """Was a torch RuntimeError ('Kernel size can't be greater than actual input size')."""
    y = (np.random.default_rng(0).standard_normal(3000) * 0.1).astype(np.float32)
    with pytest.raises(AudioTooShortError, match="5632 samples"):
        explain(y, sr=22050, model="a2mid2e_synth_clean", separator="tf-grid", show_progress=False)


def test_too_many_bands_for_the_fft_is_refused():
    mix, _ = clip()
    model = counting()
    with pytest.raises(ParameterError, match="exceeds the 1025 frequency bins"):
        explain(mix, sr=SR, model=model, separator="tf-grid", n_bands=5000, show_progress=False)
    assert model.calls[0] == 0


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_])
def test_integer_arrays_without_a_pcm_scale_are_refused(dtype):
    model = counting()
    y = np.ones(SR, dtype=dtype)
    with pytest.raises(ParameterError, match="dtype"):
        explain(y, sr=SR, model=model, separator="tf-grid", show_progress=False)
    assert model.calls[0] == 0


@pytest.mark.parametrize("dtype,scale", [(np.int16, 2**15), (np.int32, 2**31), (np.int8, 2**7)])
def test_integer_pcm_arrays_are_scaled_to_unit_range(dtype, scale):
    rng = np.random.default_rng(0)
    pcm = (rng.uniform(-0.5, 0.5, SR) * scale).astype(dtype)
    as_float = pcm.astype(np.float64) / scale
    kw = dict(sr=SR, model=midlevel_predictor(), separator="tf-grid", n_bands=2, segments=1, num_samples=16)
    a, b = quiet_explain(pcm, **kw), quiet_explain(as_float.astype(np.float32), **kw)
    np.testing.assert_array_equal(a.predictions.to_numpy(), b.predictions.to_numpy())
    assert 0.05 < a.predictions["m_rms"] < 1  # an RMS of a unit-range signal, not of raw integers


def test_mix_passed_as_a_stem_is_refused():
    mix, stems = clip()
    model = counting()
    with pytest.raises(SeparationError, match="stem 'mix' is the audio being explained"):
        explain(mix, sr=SR, model=model, stems={**stems, "mix": mix}, show_progress=False)
    assert model.calls[0] == 0


def test_stems_of_another_length_are_refused():
    mix, stems = clip()
    stems["bass"] = stems["bass"][:, :-100]
    model = counting()
    with pytest.raises(MerAudioLimeError, match="same length|samples"):
        explain(mix, sr=SR, model=model, stems=stems, show_progress=False)
    assert model.calls[0] == 0


# --------------------------------------------------------------------- explain(): results with trust warnings
def test_a_sound_explanation_carries_no_warning():
    mix, stems = clip()
    exp = quiet_explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, num_samples=64)
    assert exp.warnings == []


def test_more_components_than_samples_is_underdetermined():
    mix, stems = clip()
    with pytest.warns(ExplanationWarning, match="underdetermined"):
        exp = explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, segments=20, num_samples=16,
                      show_progress=False)
    (w,) = [w for w in exp.warnings if w.code == "underdetermined"]
    assert w.details["n_components"] == 60 and w.details["n_unique_masks"] <= 16
    assert "num_samples >= 610" in w.message


def test_silent_stem_is_reported():
    mix, stems = clip()
    stems["vocals"] = np.zeros_like(stems["vocals"])
    mix = stems["drums"] + stems["bass"]
    exp = quiet_explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, segments=2, num_samples=64)
    (w,) = [w for w in exp.warnings if w.code == "silent_components"]
    assert w.details["components"] == ["vocals@t0", "vocals@t1"] and w.details["n_empty"] == 2


def test_empty_tf_bands_are_reported():
    mix, _ = clip()
    exp = quiet_explain(mix, sr=SR, model=midlevel_predictor(), separator="tf-grid", n_bands=300, segments=1,
                        num_samples=400)
    (w,) = [w for w in exp.warnings if w.code == "silent_components"]
    # log-spaced bands narrower than an FFT bin hold no bin: exactly those components are empty
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    edges = np.array(exp.components.info["band_edges_hz"])
    band_of_bin = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, 299)
    assert w.details["n_empty"] == 300 - len(np.unique(band_of_bin)) > 0


def test_constant_model_has_no_ranking_and_no_r2():
    mix, stems = clip()
    const = CallablePredictor(lambda x: np.tile([0.3, -1.0], (len(x), 1)), sample_rate=SR,
                              output_names=["valence", "arousal"])
    exp = quiet_explain(mix, sr=SR, model=const, stems=stems, segments=2)
    assert {("constant_output", "valence"), ("r2_undefined", "valence"), ("constant_output", "arousal")} <= {
        (w.code, w.target) for w in exp.warnings}
    assert np.isnan(exp.attributions["valence"].score)
    frame = exp.to_frame()
    assert frame["rank"].isna().all() and (frame["weight"] == 0).all()


@pytest.mark.parametrize("fmt,ext,subtype", [("WAV", "wav", "PCM_16"), ("FLAC", "flac", "PCM_16"),
                                             ("OGG", "ogg", "VORBIS"), ("MP3", "mp3", "MPEG_LAYER_III")])
def test_truncated_files_are_explained_with_a_warning(tmp_path, fmt, ext, subtype):
    full = write_audio(tmp_path / f"song.{ext}", seconds=3.0, fmt=fmt, subtype=subtype)
    cut = truncate(full, 0.7)
    exp = quiet_explain(cut, model=f"{ANALYTIC}:build", separator="tf-grid", n_bands=2, segments=1,
                        num_samples=16)
    (w,) = [w for w in exp.warnings if w.code == "truncated_audio"]
    assert "truncated" in w.message and w.details["decoded_frames"] < 3 * 22050
    intact = quiet_explain(full, model=f"{ANALYTIC}:build", separator="tf-grid", n_bands=2, segments=1,
                           num_samples=16)
    assert "truncated_audio" not in codes(intact)


def test_ogg_cut_before_its_first_samples_is_a_decode_error(tmp_path):
    full = write_audio(tmp_path / "song.ogg", seconds=3.0, fmt="OGG", subtype="VORBIS")
    model = counting()
    with pytest.raises(AudioDecodeError, match="truncated"):
        explain(truncate(full, 0.3), model=model, separator="tf-grid", show_progress=False)
    assert model.calls[0] == 0


def test_out_of_domain_input_for_a_zoo_model():
    t = np.arange(22050) / 22050
    sine = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    exp = quiet_explain(sine, sr=22050, model="a2mid2e_synth_clean", separator="tf-grid", n_bands=2,
                        segments=1, num_samples=16)
    (w,) = [w for w in exp.warnings if w.code == "out_of_domain"]
    assert w.details["distance"] > w.details["threshold"] and "synthetic" in w.message
    assert "synthetic" in exp.settings["model_info"]["domain"]  # shown as "trained on" by the page


def test_synthetic_clip_is_in_the_zoo_models_domain(synth):
    from mer_audiolime.datasets import load

    track = load("synthetic", data_home=synth, version="clean").track("synth0000")
    audio, sr = track.audio
    exp = quiet_explain(audio, sr=int(sr), model="a2mid2e_synth_clean", stems=track.stems, stems_sr=int(sr),
                        num_samples=32)
    assert "out_of_domain" not in codes(exp)


def test_stems_that_do_not_sum_to_the_mix_report_the_gap():
    mix, stems = clip()
    stems["bass"] = stems["bass"] * 0.5
    exp = quiet_explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, num_samples=32)
    (w,) = [w for w in exp.warnings if w.code == "stems_mismatch"]
    assert w.details["gap_db"] > -60 and "dB" in w.message and exp.components.residual


def test_unusable_cache_folder_is_skipped_with_a_warning(tmp_path):
    mix, stems = clip()

    class Sep:  # any separator object gets the on-disk cache
        identity = "test-separator"
        sample_rate = SR

        def separate(self, audio, *, sr):
            return {k: v for k, v in stems.items()}

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(MerAudioLimeWarning, match="separation cache skipped"):
        exp = explain(mix, sr=SR, model=midlevel_predictor(), separator=Sep(), cache_dir=blocker / "cache",
                      show_progress=False)
    assert len(exp.components) == 3


# ------------------------------------------------------------------------------------------ long audio
def test_memory_budget_bounds_the_batch_and_keeps_the_numbers(monkeypatch):
    from mer_audiolime.explain.components import batch_limit

    assert batch_limit((1, 22050 * 10), requested=16, budget_bytes=768 * 2**20) == 16
    assert batch_limit((1, 22050 * 600), requested=16, budget_bytes=768 * 2**20) == 1
    mix, stems = clip(seconds=2.0)
    seen = []
    inner = midlevel_predictor()
    model = CallablePredictor(lambda x: (seen.append(len(x)), inner(x))[1], sample_rate=SR,
                              output_names=inner.output_names)
    free = quiet_explain(mix, sr=SR, model=model, stems=stems, segments=3, num_samples=64, batch_size=16)
    assert max(seen) == 16
    seen.clear()
    from mer_audiolime.explain.components import WORKING_MEMORY_FACTOR

    per_input = 4 * 2 * SR * (1 + WORKING_MEMORY_FACTOR)  # float32 bytes of a 2 s input, plus the model's
    monkeypatch.setenv("MER_AUDIOLIME_MEMORY_BUDGET_MB", str(3.5 * per_input / 2**20))  # room for 3 inputs
    bounded = quiet_explain(mix, sr=SR, model=model, stems=stems, segments=3, num_samples=64, batch_size=16)
    assert max(seen) == 3
    for target in free.attributions:  # same masks and outputs; only BLAS rounding of smaller batches differs
        np.testing.assert_allclose(free.attributions[target].weights, bounded.attributions[target].weights,
                                   rtol=1e-9, atol=1e-15)


def test_long_tf_grid_keeps_cells_sparse_and_exact(monkeypatch):
    from mer_audiolime.explain import tf_grid_components

    mix, _ = clip(seconds=2.0)
    dense = tf_grid_components(mix, sr=SR, segments=4, n_bands=3, n_fft=512, hop_length=128)
    monkeypatch.setenv("MER_AUDIOLIME_MEMORY_BUDGET_MB", "0.05")
    sparse = tf_grid_components(mix, sr=SR, segments=4, n_bands=3, n_fft=512, hop_length=128)
    assert sparse.nbytes < dense.nbytes / 2
    z = np.random.default_rng(0).integers(0, 2, (8, len(dense)))
    np.testing.assert_allclose(sparse.compose(z), dense.compose(z), rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------------------ explain CLI
@pytest.fixture
def track_dir(tmp_path):
    """A track folder laid out like the synthetic set: mix.wav beside its stem files."""
    sr = 22050
    rng = np.random.default_rng(3)
    t = np.arange(2 * sr) / sr
    stems = {"vocals": 0.2 * np.sin(2 * np.pi * 330 * t), "drums": 0.05 * rng.standard_normal(t.size),
             "bass": 0.2 * np.sin(2 * np.pi * 55 * t)}
    folder = tmp_path / "track"
    folder.mkdir()
    for name, y in stems.items():
        sf.write(folder / f"{name}.wav", y.astype(np.float32), sr, subtype="FLOAT")
    sf.write(folder / "mix.wav", sum(stems.values()).astype(np.float32), sr, subtype="FLOAT")
    return folder


CLI_ERRORS = [
    ("out-is-a-file", lambda d, tmp: ["--out", str(tmp / "taken")], "is a file, not a folder"),
    ("out-under-a-file", lambda d, tmp: ["--out", str(tmp / "taken" / "sub")], "cannot create --out"),
    ("targets-comma", lambda d, tmp: ["--targets", ","], "names no output"),
    ("seed-negative", lambda d, tmp: ["--seed", "-1"], "--seed must be an integer >= 0"),
    ("seed-too-big", lambda d, tmp: ["--seed", str(2**32)], "<= 4294967295"),
    ("top-k-0", lambda d, tmp: ["--top-k", "0"], "--top-k must be an integer >= 1"),
    ("stem-names-missing", lambda d, tmp: ["--stems", str(d), "--stem-names", "vocals,piano"],
     "no stem file piano"),
    ("stem-names-without-stems", lambda d, tmp: ["--stem-names", "vocals"], "needs --stems"),
    ("stems-not-a-folder", lambda d, tmp: ["--stems", str(d / "mix.wav")], "is not a folder"),
    ("segments-vs-length", lambda d, tmp: ["--separator", "tf-grid", "--segments", "1000"], "segments"),
    ("n-bands", lambda d, tmp: ["--separator", "tf-grid", "--n-bands", "5000"], "frequency bins"),
]


@pytest.mark.parametrize("label,extra,match", CLI_ERRORS, ids=[c[0] for c in CLI_ERRORS])
def test_explain_cli_errors(tmp_path, track_dir, capsys, label, extra, match):
    (tmp_path / "taken").write_text("a file")
    out = ["--out", str(tmp_path / "out")]
    args = extra(track_dir, tmp_path)
    if "--out" in args:
        out = []
    code = main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--no-progress", *out, *args])
    err = capsys.readouterr().err
    assert code == 1 and match in err and "unexpected" not in err
    assert not (tmp_path / "out").exists()  # nothing created for a refused run


def test_explain_cli_reads_the_stem_pattern_without_the_mix(tmp_path, track_dir, capsys):
    out = tmp_path / "out"
    assert main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--stems", str(track_dir),
                 "--out", str(out), "--no-progress"]) == 0
    comps = json.loads((out / "explanation.json").read_text())["components"]
    assert sorted(comps) == ["bass", "drums", "vocals"]  # no "mix", no residual: the stems sum to it


def test_explain_cli_refuses_a_copy_of_the_mix_among_the_stems(tmp_path, track_dir, capsys):
    shutil.copy(track_dir / "mix.wav", track_dir / "full_song.wav")
    code = main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--stems", str(track_dir),
                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 1 and "'full_song' is the audio being explained" in capsys.readouterr().err


def test_explain_cli_stem_names_and_a_loud_gap_warning(tmp_path, track_dir, capsys):
    out = tmp_path / "out"
    assert main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--stems", str(track_dir),
                 "--stem-names", "vocals,bass", "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "[stems_mismatch]" in err and " dB relative to the mix" in err
    meta = json.loads((out / "explanation.json").read_text())
    assert sorted(meta["components"]) == ["bass", "residual", "vocals"]
    assert [w["code"] for w in meta["warnings"]] == ["stems_mismatch"]


def test_explain_cli_rerun_replaces_its_whole_output_set(tmp_path, track_dir, capsys):
    out = tmp_path / "out"
    (tmp_path / "out").mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--stems", str(track_dir),
                 "--top-k", "3", "--html", "--out", str(out), "--no-progress"]) == 0
    assert (out / "midlevel_effects.csv").exists() and (out / "report.html").exists()
    const = f"{ANALYTIC}:build_constant"
    assert main(["explain", str(track_dir / "mix.wav"), "--model", const, "--stems", str(track_dir),
                 "--top-k", "1", "--out", str(out), "--no-progress"]) == 0
    assert not (out / "midlevel_effects.csv").exists() and not (out / "report.html").exists()
    assert sorted(p.name for p in (out / "audio").iterdir()) == ["mix.wav"]  # constant: nothing ranked
    assert (out / "notes.txt").read_text() == "mine"
    captured = capsys.readouterr()
    assert "not ranked" in captured.out and "[constant_output]" in captured.err
    frame = pd.read_csv(out / "attributions.csv")
    assert frame["rank"].isna().all()
    meta = json.loads((out / "explanation.json").read_text())  # strict JSON: NaN became null
    assert meta["scores"]["valence"] is None


def test_explain_cli_writes_files_with_normal_permissions(tmp_path, track_dir):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        assert main(["explain", str(track_dir / "mix.wav"), "--model", MODEL, "--stems", str(track_dir),
                     "--out", str(out), "--no-progress"]) == 0
    finally:
        os.umask(old)
    for name in ("attributions.csv", "predictions.csv", "explanation.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


# --------------------------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from mer_audiolime.models import build_model, save_checkpoint
    from mer_audiolime.models.checkpoint import ModelCard

    model = build_model("cp_resnet", backbone_kwargs={"base_channels": 4})
    card = ModelCard(name="tiny", architecture="cp_resnet", head="a2mid2e",
                     backbone_kwargs={"base_channels": 4}, midlevel_names=model.midlevel_names,
                     emotion_names=model.emotion_names)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, card)
    return path


def _tampered(checkpoint, tmp_path):
    import torch

    payload = torch.load(checkpoint, weights_only=True)
    key = next(k for k in payload["state_dict"] if k.endswith("weight"))
    payload["state_dict"][key].view(-1)[0] += 1e20  # the digest is kept: a silent edit of the weights
    bad = tmp_path / "tampered.pt"
    torch.save(payload, bad)
    return bad


def test_altered_checkpoint_is_refused_without_a_card(checkpoint, tmp_path):
    from mer_audiolime.models import load_checkpoint

    load_checkpoint(checkpoint)  # the intact file loads
    with pytest.raises(ChecksumError, match="altered after it was written"):
        load_checkpoint(_tampered(checkpoint, tmp_path))
    import torch

    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    largest = max(state.values(), key=lambda t: t.numel())
    data = bytearray(checkpoint.read_bytes())
    at = bytes(data).find(largest.numpy().tobytes()[:64])
    assert at > 0
    data[at + 10] ^= 0xFF  # one bit pattern inside the stored weights, as a damaged download would have
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(data))
    with pytest.raises(WeightsError):  # ChecksumError (or an unreadable container): never loaded
        load_checkpoint(flipped)


def test_explain_accepts_a_checkpoint_path_and_refuses_a_tampered_one(checkpoint, tmp_path, track_dir,
                                                                      capsys):
    out = tmp_path / "out"
    assert main(["explain", str(track_dir / "mix.wav"), "--model", str(checkpoint), "--separator", "tf-grid",
                 "--n-bands", "2", "--num-samples", "8", "--out", str(out), "--no-progress"]) == 0
    code = main(["explain", str(track_dir / "mix.wav"), "--model", str(_tampered(checkpoint, tmp_path)),
                 "--separator", "tf-grid", "--out", str(out), "--no-progress"])
    assert code == 1 and "altered" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ harness
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from mer_audiolime.datasets.synthetic import generate

    home = tmp_path_factory.mktemp("synth")
    generate(home, n=3, seed=0, duration=1.5, variant="both", n_jobs=1, progress=False, overwrite=True)
    return home


def run(synth, out, model=MODEL, suite=None, **kw):
    from mer_audiolime.evaluation.runner import evaluate

    kw.setdefault("write_reports", False)
    return evaluate(model, dataset="synthetic", data_home=synth, suite=suite or SUITE, out_dir=out,
                    progress=False, **kw)


def model_calls():
    from mer_audiolime.evaluation.runner import resolve_model

    return resolve_model(COUNTING).calls[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HARNESS_ERRORS = [
    ("out-is-a-file", lambda tmp: dict(out=tmp / "taken"), "is a file"),
    ("out-under-a-file", lambda tmp: dict(out=tmp / "taken" / "run"), "cannot create"),
    ("random-orders-2", lambda tmp: dict(suite={**SUITE, "fidelity": {"random_orders": 2}}),
     "fidelity.random_orders"),
    ("seed-negative", lambda tmp: dict(suite={**SUITE, "explain": {"seeds": [-1]}}), "explain.seeds"),
    ("seed-2**32", lambda tmp: dict(suite={**SUITE, "explain": {"seeds": [0, 2**32]}}), "explain.seeds"),
    ("seeds-repeated", lambda tmp: dict(suite={**SUITE, "explain": {"seeds": [3, 3]}}), "a seed twice"),
    ("segments-empty", lambda tmp: dict(suite={**SUITE, "explain": {"segments": []}}), "explain.segments"),
    ("num-samples-1", lambda tmp: dict(suite={**SUITE, "explain": {"num_samples": 1}}),
     "explain.num_samples"),
    ("top-k-0", lambda tmp: dict(suite={**SUITE, "stability": {"top_k": 0}}), "stability.top_k"),
    ("subsets-1", lambda tmp: dict(suite={**SUITE, "fidelity": {"faithfulness_subsets": 1}}),
     "fidelity.faithfulness_subsets"),
    ("unknown-key", lambda tmp: dict(suite={**SUITE, "explain": {"num_sample": 9}}), "unknown suite key"),
    ("jobs-0", lambda tmp: dict(jobs=0), "jobs"),
    ("dask-malformed", lambda tmp: dict(dask_scheduler="not an address"), "not a scheduler address"),
    ("dask-unreachable", lambda tmp: dict(dask_scheduler=f"tcp://127.0.0.1:{_free_port()}"),
     "cannot reach the dask scheduler"),
]


@pytest.mark.parametrize("label,make,match", HARNESS_ERRORS, ids=[c[0] for c in HARNESS_ERRORS])
def test_evaluate_refuses_before_any_model_call(synth, tmp_path, label, make, match):
    (tmp_path / "taken").write_text("a file")
    kw = make(tmp_path)
    out = kw.pop("out", tmp_path / "run")
    before = model_calls() if label != "out-is-a-file" else None
    with pytest.raises(ParameterError, match=match):
        run(synth, out, model=COUNTING, **kw)
    if before is not None:
        assert model_calls() == before
        assert not Path(out).exists()  # a refused run neither binds nor leaves the folder it created


def test_evaluate_cli_maps_setup_errors_to_exit_1(synth, tmp_path, capsys):
    suite = tmp_path / "bad.toml"
    suite.write_text('name = "bad"\n[fidelity]\nrandom_orders = 2\n')
    code = main(["evaluate", "--model", MODEL, "--dataset", "synthetic", "--data-home", str(synth), "--suite",
                 str(suite), "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "random_orders" in err and "unexpected" not in err
    code = main(["evaluate", "--model", MODEL, "--dataset", "synthetic", "--data-home", str(synth),
                 "--dask-scheduler", f"tcp://127.0.0.1:{_free_port()}", "--out", str(tmp_path / "d"),
                 "--no-progress"])
    assert code == 1 and "cannot reach the dask scheduler" in capsys.readouterr().err


def test_failed_run_does_not_bind_its_folder(synth, tmp_path):
    out = tmp_path / "run"
    bad = {**SUITE, "explain": {**SUITE["explain"], "segments": 1000}}  # 1.5 ms segments: every track fails
    with pytest.raises(EvaluationError, match="every track failed.*AudioTooShortError"):
        run(synth, out, suite=bad, write_reports=True)
    records = [json.loads(p.read_text()) for p in (out / "failures").glob("*.json")]
    assert len(records) == 3 and {r["kind"] for r in records} == {"expected"}
    fixed = run(synth, out)  # the corrected suite takes the folder over
    assert len(fixed.computed) == 3 and not fixed.failures and not (out / "failures").exists()


def test_folder_with_results_but_no_run_json_is_refused(synth, tmp_path):
    out = tmp_path / "run"
    run(synth, out)
    (out / "run.json").unlink()
    with pytest.raises(ParameterError, match="no run.json"):
        run(synth, out)


def test_folder_of_other_settings_is_refused(synth, tmp_path):
    out = tmp_path / "run"
    run(synth, out)
    with pytest.raises(ParameterError, match="different settings"):
        run(synth, out, suite={**SUITE, "explain": {**SUITE["explain"], "num_samples": 33}})


@pytest.fixture(scope="module")
def finished(synth, tmp_path_factory):
    """One complete run with every output (figures included): copied by the tests that damage it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    clean = run(synth, out, write_reports=True)
    return out, clean.rows


def _copy(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished[0], out)
    return out


def _cut_at_line(p):
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join(lines[: len(lines) // 2]))


def _cut_mid_row(p):
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 7])


def _alter_value(p):
    text = p.read_text()
    i = text.index(",prediction,") + len(",prediction,")
    p.write_text(text[:i] + "9" + text[i + 1:])


DAMAGE = [
    ("cut-at-line-boundary", _cut_at_line),
    ("cut-mid-row", _cut_mid_row),
    ("emptied", lambda p: p.write_bytes(b"")),
    ("random-bytes", lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000))),
    ("value-altered", _alter_value),
    ("no-trailer", lambda p: p.write_text(p.read_text().rsplit("# mer_audiolime", 1)[0])),
]


@pytest.mark.parametrize("label,damage", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_track_file_is_recomputed_and_reported(finished, tmp_path, synth, label, damage):
    out = _copy(finished, tmp_path)
    victim = sorted((out / "tracks").glob("*.csv"))[1]
    damage(victim)
    again = run(synth, out)
    assert [r["track_id"] for r in again.repaired] == [victim.stem] and again.computed == [victim.stem]
    assert victim.with_name(victim.name + ".damaged").exists()
    pd.testing.assert_frame_equal(again.rows, finished[1])


@pytest.mark.slow
def test_evaluate_cli_names_repaired_files(finished, tmp_path, synth, capsys):
    out = _copy(finished, tmp_path)
    victim = sorted((out / "tracks").glob("*.csv"))[0]
    _cut_at_line(victim)
    assert main(["evaluate", "--model", MODEL, "--dataset", "synthetic", "--data-home", str(synth), "--suite",
                 _suite_file(tmp_path), "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"recomputed {victim.stem}" in err and "no completeness trailer" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["repaired_tracks"][0]["track_id"] == victim.stem
    from mer_audiolime.evaluation.results import read_results

    pd.testing.assert_frame_equal(read_results(out), finished[1])


def _suite_file(tmp_path):
    path = tmp_path / "faults.toml"
    path.write_text('name = "faults"\n[tracks]\nsplit = "all"\nlimit = 3\n'
                    '[explain]\nnum_samples = 32\nseeds = [0, 1]\nbatch_size = 8\n')
    return str(path)


REPORT_DAMAGE = [
    ("results-csv-truncated", lambda out: _cut_mid_row(out / "results.csv"), "results.csv"),
    ("results-csv-stale-rows", lambda out: _cut_at_line(out / "results.csv"), "results.csv"),
    ("parquet-replaced", lambda out: (out / "results.parquet").write_bytes(b"PAR1"), "results.parquet"),
    ("summary-missing", lambda out: (out / "summary.md").unlink(), "summary.md"),
    ("manifest-garbage", lambda out: (out / "manifest.json").write_text("{not json"), "manifest.json"),
]


@pytest.mark.parametrize("label,damage,name", REPORT_DAMAGE, ids=[d[0] for d in REPORT_DAMAGE])
def test_report_refuses_an_inconsistent_folder_naming_the_file(finished, tmp_path, capsys, label, damage,
                                                                name):
    out = _copy(finished, tmp_path)
    damage(out)
    code = main(["report", str(out), "--tracks", "0"])
    err = capsys.readouterr().err
    assert code == 1 and name in err and "unexpected" not in err
    assert not (out / "report.html").exists()


def test_rerun_repairs_the_outputs_a_crash_left_inconsistent(finished, tmp_path, synth, capsys):
    out = _copy(finished, tmp_path)
    _cut_at_line(out / "results.csv")  # as if killed between results.csv and manifest.json
    run(synth, out, write_reports=True)
    assert main(["report", str(out), "--tracks", "0"]) == 0


def test_report_checks_its_out_before_any_work(finished, tmp_path, capsys):
    out = _copy(finished, tmp_path)
    (tmp_path / "taken").write_text("x")
    for target, match in ((tmp_path, "is a folder"), (tmp_path / "taken" / "r.html", "is a file"),
                          (tmp_path / "r.txt", "must end in")):
        assert main(["report", str(out), "--out", str(target)]) == 1
        assert match in capsys.readouterr().err
    assert main(["report", str(out), "--tracks", "-1"]) == 1
    assert "tracks must be an integer >= 0" in capsys.readouterr().err


def test_run_outputs_are_vouched_for_and_world_readable(finished):
    out = finished[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["outputs_sha256"]) >= {"results.csv", "results.parquet", "summary.md",
                                               "summary_full.csv"}
    for path in [out / "results.csv", out / "manifest.json", *sorted((out / "tracks").glob("*.csv"))]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~_umask(), path


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_trust_warnings_reach_the_results_and_the_report(finished, tmp_path):
    out = _copy(finished, tmp_path)
    rows = finished[1]
    warned = rows[rows["metric"] == "warning"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(warned["component"]) == set(manifest["warnings"])
    # clips without vocals have an all-zero vocals stem: its weight is noise, and the run says so
    from mer_audiolime.datasets import load

    ds = load("synthetic", data_home=manifest["dataset"]["data_home"])
    silent = {t for t in rows["track_id"].unique() if not ds.track(t).vocals_present}
    assert set(manifest["warnings"].get("silent_components", [])) == silent
    if silent:
        assert "Trust warnings" in (out / "summary.md").read_text()
    assert main(["report", str(out), "--tracks", "0"]) == 0
    page = (out / "report.html").read_text().replace("\u200b", "")  # codes may wrap at underscores
    assert 'id="warnings"' in page
    if silent:
        assert "silent_components" in page


def test_constant_model_runs_through_the_harness(synth, tmp_path):
    res = run(synth, tmp_path / "c", model=f"{ANALYTIC}:build_constant")
    rows = res.rows
    assert not res.failures and "surrogate_r2" not in set(rows["metric"])
    assert {"constant_output", "r2_undefined"} <= set(rows[rows["metric"] == "warning"]["component"])


CKPT_SUITE = {**SUITE, "tracks": {"split": "all", "limit": 1}, "explain": {"num_samples": 8, "seeds": [0]}}


def test_checkpoint_run_is_bound_to_the_weights_hash(synth, tmp_path, checkpoint):
    from mer_audiolime.models.checkpoint import sha256_file

    res = run(synth, tmp_path / "k", model=str(checkpoint), suite=CKPT_SUITE)
    assert json.loads((tmp_path / "k" / "run.json").read_text())["weights_sha256"] == sha256_file(checkpoint)
    assert res.rows["track_id"].nunique() == 1


@pytest.mark.slow
def test_checkpoint_run_records_the_weights_hash_in_the_manifest(synth, tmp_path, checkpoint):
    from mer_audiolime.models.checkpoint import sha256_file

    run(synth, tmp_path / "k", model=str(checkpoint), suite=CKPT_SUITE, write_reports=True)
    manifest = json.loads((tmp_path / "k" / "manifest.json").read_text())
    assert manifest["model_weights"]["sha256"] == sha256_file(checkpoint) == manifest["run"]["weights_sha256"]


def test_tampered_checkpoint_is_refused_before_any_track(synth, tmp_path, checkpoint):
    with pytest.raises(ChecksumError):
        run(synth, tmp_path / "k", model=str(_tampered(checkpoint, tmp_path)))
    assert not (tmp_path / "k" / "run.json").exists()


def test_zoo_weights_still_load_with_their_card_hash():
    from mer_audiolime.models.zoo import list_models, load_model

    for name in list_models():
        assert load_model(name, download=False).card.domain["datasets"] == ["synthetic"]


def test_integrity_errors_are_typed():
    assert issubclass(IntegrityError, MerAudioLimeError)
