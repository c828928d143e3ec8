"""Every bad input gets its typed error, from the audio layer up through explain()."""

import numpy as np
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.audio import load_audio
from mer_audiolime.exceptions import (
    AudioDecodeError,
    AudioTooShortError,
    EmptyAudioError,
    MerAudioLimeError,
    ModelError,
    NonFiniteAudioError,
    ParameterError,
    SilentAudioError,
)

from explain_models import SR, midlevel_predictor


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _truncated_wav(tmp_path):
    import soundfile as sf

    p = tmp_path / "full.wav"
    sf.write(p, np.random.default_rng(0).standard_normal(SR) * 0.1, SR)
    data = p.read_bytes()
    return _write(tmp_path, "truncated.wav", data[:30])


BAD_ARRAYS = [
    ("empty", lambda: np.zeros(0, np.float32), EmptyAudioError, "no samples"),
    ("nan", lambda: np.where(np.arange(SR) == 5, np.nan, 0.1).astype(np.float32), NonFiniteAudioError, "NaN"),
    ("inf", lambda: np.where(np.arange(SR) == 5, np.inf, 0.1).astype(np.float32), NonFiniteAudioError, "infinite"),
    ("silent", lambda: np.zeros(SR, np.float32), SilentAudioError, "silent"),
    ("3d", lambda: np.ones((1, 1, SR), np.float32), ParameterError, "shape"),
    ("complex", lambda: np.ones(SR, np.complex64), ParameterError, "real-valued"),
]


@pytest.mark.parametrize("label,make,error,message", BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
def test_bad_arrays(label, make, error, message):
    with pytest.raises(error, match=message):
        load_audio(make(), sr=SR)
    with pytest.raises(error, match=message):
        explain(make(), sr=SR, model=midlevel_predictor(), stems={"a": np.ones(SR)}, show_progress=False)


BAD_FILES = [
    ("missing", lambda d: d / "nope.wav", "no such audio file"),
    ("directory", lambda d: d, "is a directory"),
    ("text", lambda d: _write(d, "notes.wav", b"this is not audio\n" * 20), "could not decode"),
    ("random-bytes", lambda d: _write(d, "noise.mp3", np.random.default_rng(1).bytes(4000)), "could not decode"),
    ("truncated", _truncated_wav, "could not decode|no samples"),
]


@pytest.mark.parametrize("label,make,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files(tmp_path, label, make, message):
    path = make(tmp_path)
    with pytest.raises((AudioDecodeError, EmptyAudioError), match=message):
        load_audio(path)
    with pytest.raises(MerAudioLimeError):
        explain(path, model=midlevel_predictor(), separator="tf-grid", show_progress=False)


def test_too_short_for_segmentation():
    y = np.random.default_rng(0).standard_normal(SR // 2).astype(np.float32) * 0.1
    with pytest.raises(AudioTooShortError, match="fewer segments"):
        explain(y, sr=SR, model=midlevel_predictor(), stems={"a": y}, segments=100, show_progress=False)
    with pytest.raises(AudioTooShortError, match="segment_seconds"):
        explain(y, sr=SR, model=midlevel_predictor(), stems={"a": y}, segment_seconds=2.0, show_progress=False)
    with pytest.raises(AudioTooShortError, match="at least 1.000 s"):
        load_audio(y, sr=SR, min_duration=1.0)


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"num_samples": 1}, ParameterError, "num_samples"),
        ({"seed": None}, ParameterError, "seed"),
        ({"targets": ["nope"]}, ParameterError, "unknown target"),
        ({"mode": "ranking"}, ParameterError, "mode"),
        ({"kernel_width": 0.0}, ParameterError, "kernel_width"),
        ({"batch_size": 0}, ParameterError, "batch_size"),
    ],
)
def test_bad_parameters(kwargs, error, message):
    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    with pytest.raises(error, match=message):
        explain(y, sr=SR, model=midlevel_predictor(), stems={"a": y}, show_progress=False, **kwargs)


def test_array_without_sr():
    with pytest.raises(ParameterError, match="sample rate"):
        load_audio(np.ones(100))


def test_model_with_wrong_output_shape():
    from mer_audiolime.models import CallablePredictor

    bad = CallablePredictor(lambda x: np.ones((x.shape[0], 3)), sample_rate=SR, output_names=["a", "b"])
    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    with pytest.raises(ModelError, match="expected"):
        explain(y, sr=SR, model=bad, stems={"a": y}, show_progress=False)


def test_bare_callable_needs_declaration():
    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    with pytest.raises(ModelError, match="sample_rate"):
        explain(y, sr=SR, model=lambda x: x.mean(axis=(1, 2)), stems={"a": y}, show_progress=False)
