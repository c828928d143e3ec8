"""Explanations of real recordings (../shared/audio; skipped on a fresh clone without it)."""

import importlib.util

import numpy as np
import pytest
import soundfile as sf

from mer_audiolime.explain import explain
from mer_audiolime.audio import load_audio
from mer_audiolime.explain import OpenUnmixSeparator

from conftest import RESOURCES


def _model():
    spec = importlib.util.spec_from_file_location("analytic_model", RESOURCES / "models" / "analytic_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(sample_rate=22050)


def test_tf_grid_on_stereo_hq_excerpt(shared_audio, tmp_path):
    path = shared_audio / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
    y, sr = load_audio(path, duration=4.0)
    assert (y.shape[0], sr) == (2, 44100)
    exp = explain(y, sr=sr, model=_model(), separator="tf-grid", segments=4, n_bands=3, num_samples=300, seed=0,
                  show_progress=False)
    assert len(exp.components) == 13 and exp.components.sample_rate == 22050
    files = exp.export_audio(tmp_path, top_k=2)
    for p in files.path:
        data, rate = sf.read(p)
        assert rate == 22050 and np.isfinite(data).all() and len(data) == exp.components.shape[1]
    assert exp.attributions["loudness"].score > 0.5


@pytest.mark.slow
def test_openunmix_on_real_recording_exports_wavs(shared_audio, tmp_path):
    path = shared_audio / "sorohanro_-_solo-trumpet-06.ogg"
    sep = OpenUnmixSeparator("umxhq", pretrained=False, show_progress=False)
    exp = explain(str(path), model=_model(), separator=sep, segments=5, num_samples=200, seed=0,
                  cache_dir=tmp_path / "cache", show_progress=False)
    assert len(exp.components) == 25  # 4 stems + residual, x 5 segments
    files = exp.export_audio(tmp_path / "audio", top_k=3)
    assert len(files) == 1 + len(exp.attributions | exp.chained) * 4
    assert all((tmp_path / "audio").glob("**/*.wav"))
    assert np.isfinite(exp.reconstruction_gap.values).all()
