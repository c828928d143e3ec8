"""Separators: oracle, open-unmix offline (random weights), the on-disk cache, and the offline error."""

import numpy as np
import pytest

from mer_audiolime.explain import explain
from mer_audiolime.exceptions import WeightsError
from mer_audiolime.explain import CachedSeparator, OpenUnmixSeparator, OracleSeparator, get_separator

from explain_models import SR, make_stems, midlevel_predictor


class CountingSeparator:
    """A real separator (oracle) that counts how often it is asked to separate."""

    def __init__(self, stems, sr):
        self.inner = OracleSeparator(stems, sr=sr)
        self.identity = self.inner.identity
        self.sample_rate = sr
        self.calls = 0

    def separate(self, audio, *, sr):
        self.calls += 1
        return self.inner.separate(audio, sr=sr)


def test_cache_hit_skips_separation(tmp_path, rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    mix = stems["a"] + stems["b"]
    counting = CountingSeparator(stems, SR)
    cached = CachedSeparator(counting, cache_dir=tmp_path)
    first = cached.separate(mix, sr=SR)
    second = cached.separate(mix, sr=SR)
    assert counting.calls == 1 and (cached.hits, cached.misses) == (1, 1)
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
    assert not list(tmp_path.glob("*.tmp")), "atomic write leaves no temporary file"
    other = mix * 0.5
    cached.separate(other, sr=SR)
    assert counting.calls == 2, "different audio content is a different cache entry"


def test_oracle_stems_resampled_and_channel_matched(rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    sep = OracleSeparator(stems, sr=SR)
    stereo = np.repeat(stems["a"] + stems["b"], 2, axis=0)
    out = sep.separate(stereo, sr=SR)
    assert out["a"].shape == (2, SR)
    np.testing.assert_allclose(out["a"][0], stems["a"][0])


def test_offline_pretrained_without_weights_names_checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("MER_AUDIOLIME_ALLOW_DOWNLOAD", raising=False)
    sep = OpenUnmixSeparator("umxhq")
    with pytest.raises(WeightsError) as info:
        sep.separate(np.ones((1, 4410), np.float32) * 0.1, sr=44100)
    msg = str(info.value)
    assert "hub/checkpoints" in msg and "separator.json" in msg and "vocals-b62c91ce.pth" in msg


def test_unknown_separator_name():
    from mer_audiolime.exceptions import ParameterError

    with pytest.raises(ParameterError, match="unknown open-unmix model"):
        OpenUnmixSeparator("spleeter").separate(np.ones((1, 100)) * 0.1, sr=44100)
    with pytest.raises(ParameterError, match="Separator object"):
        get_separator(42)


@pytest.mark.slow
def test_openunmix_random_weights_offline_and_cached(tmp_path, rng):
    """The open-unmix path runs offline with pretrained=False; the second explain hits the cache."""
    sr = 22050
    y = (0.1 * np.sin(2 * np.pi * 220 * np.arange(int(1.5 * sr)) / sr)
         + 0.02 * rng.standard_normal(int(1.5 * sr))).astype(np.float32)
    umx = OpenUnmixSeparator("umxhq", pretrained=False, show_progress=False, seed=0)
    calls = {"n": 0}
    original = umx.separate

    def counted(audio, *, sr):
        calls["n"] += 1
        return original(audio, sr=sr)

    umx.separate = counted
    cached = CachedSeparator(umx, cache_dir=tmp_path)
    model = midlevel_predictor(sr=sr)
    a = explain(y, sr=sr, model=model, separator=cached, num_samples=64, seed=0, show_progress=False)
    assert calls["n"] == 1 and cached.misses == 1
    assert set(a.components.stems) == {"vocals", "drums", "bass", "other", "residual"}
    mix = a.components.mix
    np.testing.assert_allclose(a.components.compose(np.ones(len(a.components)))[0], mix,
                               rtol=0, atol=8 * np.finfo(np.float32).eps * np.abs(mix).max())
    b = explain(y, sr=sr, model=model, separator=cached, num_samples=64, seed=0, show_progress=False)
    assert calls["n"] == 1 and cached.hits == 1, "second call on the same audio must not separate again"
    for t in model.output_names:
        np.testing.assert_array_equal(a.attributions[t].weights, b.attributions[t].weights)
    # identity is stable: a fresh separator with the same seed hashes to the same key
    assert OpenUnmixSeparator("umxhq", pretrained=False, seed=0).identity == umx.identity
