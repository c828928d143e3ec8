"""Components: segmentation, residual exactness, structured == generic composition, TF grid."""

import numpy as np
import pytest

from mer_audiolime.exceptions import AudioTooShortError, ParameterError
from mer_audiolime.explain import build_components, segment_bounds, tf_grid_components
from mer_audiolime.explain.components import Components

from explain_models import SR, make_stems


def test_segment_bounds_modes():
    assert segment_bounds(100, sr=10, segments=4).tolist() == [[0, 25], [25, 50], [50, 75], [75, 100]]
    assert segment_bounds(100, sr=10, segment_seconds=3).tolist() == [[0, 30], [30, 60], [60, 90], [90, 100]]
    assert segment_bounds(100, sr=10, segments=[0, 2.5, 7]).tolist() == [[0, 25], [25, 70], [70, 100]]
    assert segment_bounds(100, sr=10, segments=[4.0]).tolist() == [[0, 40], [40, 100]]
    with pytest.raises(ParameterError, match="strictly increasing"):
        segment_bounds(100, sr=10, segments=[0, 5, 3])
    with pytest.raises(AudioTooShortError, match="beyond the end"):
        segment_bounds(100, sr=10, segments=[0, 11])
    with pytest.raises(AudioTooShortError, match="fewer segments"):
        segment_bounds(8000, sr=8000, segments=200)


def test_residual_all_on_reproduces_mix_exactly(rng):
    stems = make_stems(rng, seconds=1.0, names=("vocals", "drums", "bass"))
    true_mix = np.sum(list(stems.values()), axis=0) + 0.05 * rng.standard_normal((1, SR)).astype(np.float32)
    est = {k: 0.8 * v for k, v in stems.items()}  # a separator whose stems do not sum to the mix
    comps = build_components(true_mix, est, sr=SR, segments=5, residual=True)
    assert comps.residual and "residual@t0" in comps.names and len(comps) == 20
    recon = comps.compose(np.ones(len(comps)))[0]
    # float32 sums of 20 pieces: within a few ulps of the signal
    np.testing.assert_allclose(recon, true_mix, rtol=0, atol=4 * np.finfo(np.float32).eps * np.abs(true_mix).max())
    no_res = build_components(true_mix, est, sr=SR, segments=5, residual=False)
    assert not no_res.residual and len(no_res) == 15
    assert no_res.info["reconstruction_error"] > 0.1


def test_no_residual_when_stems_sum_to_mix(rng):
    stems = make_stems(rng, seconds=1.0)
    mix = np.sum(list(stems.values()), axis=0)
    comps = build_components(mix, stems, sr=SR, segments=2)
    assert not comps.residual and comps.names[:2] == ["vocals@t0", "vocals@t1"]


def test_segments_of_a_stem_sum_to_the_stem(rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    mix = stems["a"] + stems["b"]
    comps = build_components(mix, stems, sr=SR, segments=[0, 0.1, 0.55])
    a = [i for i, s in enumerate(comps.stems) if s == "a"]
    np.testing.assert_array_equal(comps.waveforms[a].sum(axis=0), stems["a"])


def test_structured_compose_equals_generic_matmul(rng):
    stems = make_stems(rng, seconds=1.0)
    mix = np.sum(list(stems.values()), axis=0)
    comps = build_components(mix, stems, sr=SR, segments=7)
    z = rng.integers(0, 2, size=(9, len(comps))).astype(np.float32)
    fast = comps.compose(z)
    generic = np.einsum("bk,kcl->bcl", z.astype(np.float64), comps.waveforms.astype(np.float64))
    np.testing.assert_allclose(fast, generic, rtol=0, atol=1e-6)
    plain = Components(names=comps.names, waveforms=comps.waveforms, sample_rate=SR, stems=comps.stems,
                       segments=comps.segments, bounds=comps.bounds, residual=False, mix=mix, info={})
    np.testing.assert_allclose(plain.compose(z), fast, rtol=0, atol=1e-6)


def test_compose_rejects_wrong_mask_shape(rng):
    stems = make_stems(rng, seconds=0.5, names=("a", "b"))
    comps = build_components(stems["a"] + stems["b"], stems, sr=SR)
    with pytest.raises(ParameterError, match=r"shape \(B, 2\)"):
        comps.compose(np.ones((1, 3)))


def test_stem_shape_mismatch_is_reported(rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    stems["b"] = stems["b"][:, :-1]
    with pytest.raises(ParameterError, match="stem 'b' has shape"):
        build_components(stems["a"], stems, sr=SR)


def test_tf_grid_cells_reconstruct_the_mix(rng):
    mix = (rng.standard_normal((1, SR)) * 0.1).astype(np.float32)
    comps = tf_grid_components(mix, sr=SR, segments=4, n_bands=3, n_fft=512, hop_length=128)
    assert len(comps) == 13 and comps.names[0] == "f0@t0" and comps.names[-1] == "residual"
    np.testing.assert_allclose(comps.compose(np.ones(len(comps)))[0], mix, rtol=0, atol=1e-6)
    # the cells alone (without the residual) already reconstruct the mix closely (istft(stft(x)) ~ x)
    cells = comps.waveforms[:-1].sum(axis=0)
    assert np.sqrt(np.mean((cells - mix) ** 2)) < 1e-3 * np.sqrt(np.mean(mix**2))
    # each band holds energy in its own frequency range only
    spec = np.abs(np.fft.rfft(comps.waveforms[comps.names.index("f0@t1")][0]))
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    edges = comps.info["band_edges_hz"]
    assert spec[freqs > edges[1] * 1.5].sum() < 0.05 * spec.sum()
