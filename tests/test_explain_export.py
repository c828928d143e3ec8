"""Listenable export: files named by component, the sum equals the sum of the exported components."""

import numpy as np
import soundfile as sf

from mer_audiolime.explain import explain

from explain_models import SR, make_stems, midlevel_predictor


def test_export_top_k_and_sum(tmp_path, rng):
    stems = make_stems(rng, seconds=1.0, names=("vocals", "drums", "bass"))
    mix = np.sum(list(stems.values()), axis=0)
    exp = explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, segments=2, num_samples=100, seed=0,
                  show_progress=False)
    files = exp.export_audio(tmp_path, top_k=2, targets=["valence"])
    top = exp.chain("valence").top(2, by="abs")  # the largest influences, as on the report page
    ranked = files[(files.target == "valence") & (files["rank"] > 0)]
    assert list(ranked.component) == top
    signed = exp.export_audio(tmp_path / "signed", top_k=2, targets=["valence"], absolute_feature_sort=False)
    assert list(signed[signed["rank"] > 0].component) == exp.chain("valence").top(2)
    for _, row in ranked.iterrows():
        assert row.component in row.path
    parts = [sf.read(p, dtype="float32")[0] for p in ranked.path]
    total, sr = sf.read(files[files.component == "<sum>"].path.iloc[0], dtype="float32")
    assert sr == SR
    np.testing.assert_allclose(total, parts[0] + parts[1], atol=1e-6)
    mix_read, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    np.testing.assert_array_equal(mix_read, exp.components.mix[0])


def test_to_frame_is_tidy(rng):
    stems = make_stems(rng, seconds=1.0, names=("a", "b"))
    mix = stems["a"] + stems["b"]
    exp = explain(mix, sr=SR, model=midlevel_predictor(), stems=stems, segments=3, num_samples=100, seed=0,
                  show_progress=False)
    frame = exp.to_frame()
    k = len(exp.components)
    assert len(frame) == k * (len(exp.attributions) + len(exp.chained))
    assert {"target", "component", "stem", "segment", "weight", "rank", "score", "seed", "source"} <= set(frame)
    one = frame[(frame.target == "m_rms") & (frame.source == "lime")]
    assert sorted(one["rank"]) == list(range(1, k + 1))
    assert exp.stem_segment_matrix("valence").shape == (2, 3)
