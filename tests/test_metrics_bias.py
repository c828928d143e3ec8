"""Bias truths: planted-shortcut scoring on analytic tone models, Benjamini-Hochberg by hand, and subgroup
analysis on frames with a planted subgroup effect."""

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.evaluation import (
    PlantedBias,
    SubgroupEffectProfile,
    SubgroupError,
    SubgroupErrorShare,
    SubgroupTopStems,
    benjamini_hochberg,
    effect_frame,
    mann_whitney,
    planted_bias_scores,
    stem_frame,
)
from mer_audiolime.exceptions import EvaluationError, ParameterError

from explain_models import make_stems, midlevel_predictor
from test_metrics_models import STEMS, explain_tones, tone_model, tone_stems


def _models(n, rng, *, shortcut):
    """Tone models: clean ones have no path from vocals; the biased ones add ``shortcut * amp(vocals)``."""
    out = []
    for _ in range(n):
        w = {s: rng.uniform(0.2, 1.0) * rng.choice([-1, 1]) for s in STEMS if s != "vocals"}
        out.append({**w, "vocals": shortcut})
    return out


def _planted(shortcut, seed=0, alpha=1.0):
    """LIME stem frames and the true-effect frames (``f(stem alone) - f(silence)``: the tone models are
    exactly additive, the tones being orthogonal over the clip) of 3 biased and 3 clean models on the same 8
    tracks."""
    rng = np.random.default_rng(seed)
    tracks = [tone_stems(rng) for _ in range(8)]
    frames, truth = [], []
    models = [(True, w) for w in _models(3, rng, shortcut=shortcut)] + [
        (False, w) for w in _models(3, rng, shortcut=0.0)
    ]
    for m, (biased, weights) in enumerate(models):
        model = tone_model(weights)
        for i, stems in enumerate(tracks):
            labels = dict(model=f"m{m}", track_id=f"t{i}", biased=biased)
            frames.append(
                stem_frame(explain_tones(stems, model, seed=i, alpha=alpha), target="valence", **labels)
            )
            silence = model(np.zeros((1,) + stems["vocals"].shape))[0, 0]
            effects = model(np.stack([stems[s] for s in STEMS]))[:, 0] - silence
            truth.append(pd.DataFrame({"stem": STEMS, "weight": effects, **labels}))
    return pd.concat(frames, ignore_index=True), pd.concat(truth, ignore_index=True)


@pytest.fixture(scope="module")
def planted():
    return _planted(6.0)[0]  # 6 x the smallest vocal amplitude (0.2) beats every other effect (<= 1)


def test_detection_agrees_with_the_true_effects_for_a_moderate_shortcut():
    """Without the ridge penalty LIME recovers the additive effects exactly, so the detector must decide every
    track as it would on the true effects (with alpha = 1 the ridge adds a common shift to all weights, which
    can flip near-ties of |a|)."""
    lime, truth = _planted(1.5, seed=1, alpha=0.0)
    got, expected = PlantedBias()(lime), PlantedBias()(truth)
    assert got == expected and 0 < expected["hit_rate"] < 1 and expected["false_alarm_rate"] == 0
    top2 = PlantedBias(top_n=2)
    assert top2(lime) == top2(truth) and top2(truth)["hit_rate"] >= expected["hit_rate"]


def test_detection_rule_by_hand():
    rows = []
    for track, weights in {
        "a": [3, 1, 1],
        "b": [2, 2, 1],
        "c": [-4, 1, 1],
        "d": [1, 3, 1],
        "e": [1, 3, 3],
    }.items():
        for biased in (True, False):
            rows += [
                {"model": f"m{biased}", "track_id": track, "stem": s, "weight": w, "biased": biased}
                for s, w in zip(("vocals", "drums", "bass"), weights)
            ]
    frame = pd.DataFrame(rows)
    # top by |w|: a hit, b tie (miss), c hit, d miss, e miss -> 2/5; signed: only a -> 1/5
    assert PlantedBias()(frame)["hit_rate"] == pytest.approx(2 / 5)
    assert PlantedBias(by="weight")(frame)["hit_rate"] == pytest.approx(1 / 5)
    # strictly within the top 2 by |w|: a, b, c; in d vocals ties bass for 2nd place, in e it is 3rd -> 3/5
    assert PlantedBias(top_n=2)(frame)["hit_rate"] == pytest.approx(3 / 5)


def test_planted_shortcut_is_found_for_biased_models_only(planted):
    res = PlantedBias(shortcut="vocals")(planted, target="valence")
    assert res == {
        "hit_rate": 1.0,
        "false_alarm_rate": 0.0,
        "auc": 1.0,
        "n_biased": 24,
        "n_clean": 24,
        "n_excluded": 0,
    }
    signed = PlantedBias(shortcut="vocals", by="weight", score="weight")(planted)
    assert signed["hit_rate"] == 1.0 and signed["false_alarm_rate"] == 0.0 and signed["auc"] == 1.0
    # a stem the models never use is never "found"
    assert PlantedBias(shortcut="other")(planted)["hit_rate"] < 1.0


def test_planted_bias_scores_accepts_both_harness_layouts(planted):
    stem_level = planted_bias_scores(
        planted.drop(columns="biased").assign(variant=np.where(planted.biased, "biased", "clean")), by="abs"
    )
    assert stem_level.iloc[0].to_dict() == PlantedBias()(planted)
    per_clip = []
    for (model, track), g in planted.groupby(["model", "track_id"]):
        w = g.set_index("stem")["weight"]
        per_clip.append(
            {
                "model": model,
                "track_id": track,
                "biased": bool(g.biased.iloc[0]),
                "shortcut_weight": w["vocals"],
                "shortcut_top": w.idxmax() == "vocals",
                "vocals_present": track != "t0",
            }
        )
    res = planted_bias_scores(pd.DataFrame(per_clip)).iloc[0]
    assert (res.hit_rate, res.false_alarm_rate, res.auc) == (1.0, 0.0, 1.0)
    assert (res.n_biased, res.n_clean, res.n_excluded) == (21, 21, 6)


def test_tracks_without_the_shortcut_are_excluded(planted):
    frame = planted.assign(shortcut_present=planted.track_id != "t0")
    res = PlantedBias()(frame)
    assert res["n_excluded"] == 6 and res["n_biased"] == 21
    with pytest.raises(EvaluationError, match="both biased and clean"):
        PlantedBias()(planted[planted.biased])
    with pytest.raises(ParameterError, match="needs column"):
        PlantedBias()(planted.drop(columns="biased"))


def test_benjamini_hochberg_by_hand():
    # sorted p: .01 .03 .04 .20 .50 -> m p / rank: .05 .075 .0667 .25 .5 -> running min from the top:
    # .05 .0667 .0667 .25 .5, returned in input order
    q = benjamini_hochberg([0.04, 0.01, 0.5, 0.03, 0.2])
    np.testing.assert_allclose(q, [0.2 / 3, 0.05, 0.5, 0.2 / 3, 0.25])
    assert benjamini_hochberg([0.9, 0.9]).tolist() == [0.9, 0.9]
    rng = np.random.default_rng(1)
    p = rng.uniform(size=40) ** 3
    brute = [min(min(1.0, 40 * np.sort(p)[j] / (j + 1)) for j in range(i, 40)) for i in range(40)]
    np.testing.assert_allclose(np.sort(benjamini_hochberg(p)), brute)
    with pytest.raises(EvaluationError):
        benjamini_hochberg([0.1, np.nan])


def test_mann_whitney_auc_is_the_probability_of_exceeding():
    res = mann_whitney([3, 4, 5], [1, 2, 3])
    assert res["auc"] == pytest.approx((3 + 3 + 2.5) / 9) and 0 < res["p_value"] <= 1


def _tracks(rng, n=240):
    genres = np.array(["hip-hop", "rock", "pop", "jazz"])[rng.integers(0, 4, n)]
    truth = rng.normal(5, 1, n)
    error = rng.normal(0, 0.2, n) + np.where(genres == "hip-hop", 0.8, 0.0)  # hip-hop valence over-estimated
    return pd.DataFrame(
        {
            "track_id": [f"t{i}" for i in range(n)],
            "genre": genres,
            "truth": truth,
            "prediction": truth + error,
        }
    )


def test_subgroup_error_singles_out_the_overestimated_subgroup():
    frame = _tracks(np.random.default_rng(0))
    res = SubgroupError()(frame, group="genre")
    hip = res.set_index("subgroup").loc["hip-hop"]
    assert hip.mean_error == pytest.approx(0.8, abs=0.1) and hip.q_value < 1e-6 and hip.auc > 0.95
    assert res.q_value.idxmin() == res.index[res.subgroup == "hip-hop"][0]
    assert {"n", "mean_error", "median_error", "mean_error_rest", "u", "p_value", "auc", "q_value"} <= set(
        res
    )


def test_error_share_per_quantile_reproduces_the_hiphop_figure():
    frame = _tracks(np.random.default_rng(0))
    res = SubgroupErrorShare(n_quantiles=10)(frame, subgroups=["hip-hop"])
    assert list(res.bin) == list(range(1, 11)) and res.error_low.is_monotonic_increasing
    assert res.enrichment.iloc[-1] > 3 and res.enrichment.iloc[0] < 0.2 and res.n.sum() == len(frame)
    np.testing.assert_allclose(res.share * res.n, np.round(res.share * res.n))
    with pytest.raises(ParameterError, match="does not occur"):
        SubgroupErrorShare()(frame, subgroups=["polka"])


def test_effect_profiles_and_top_stems_per_subgroup():
    rng = np.random.default_rng(2)
    effects, stems = [], []
    features = ["rhythm_stability", "minorness", "dissonance"]
    for i in range(120):
        genre = "hip-hop" if i % 3 == 0 else "other"
        for f in features:
            shift = 0.5 if (genre == "hip-hop" and f == "rhythm_stability") else 0.0
            effects.append({"track_id": i, "genre": genre, "feature": f, "effect": rng.normal(shift, 0.1)})
        for s in STEMS:
            boost = 1.0 if (genre == "hip-hop" and s == "vocals") else 0.0
            stems.append({"track_id": i, "genre": genre, "stem": s, "weight": rng.normal(boost, 0.2)})
    prof = SubgroupEffectProfile()(pd.DataFrame(effects), group="genre")
    best = prof.loc[prof.q_value.idxmin()]
    assert (best.feature, best.subgroup) == ("rhythm_stability", "hip-hop") and best["mean"] > best.mean_rest
    other = prof[(prof.feature != "rhythm_stability")]
    assert (other.q_value > 0.01).all()
    top = SubgroupTopStems()(pd.DataFrame(stems), group="genre").set_index(["stem", "subgroup"])
    assert (
        top.loc[("vocals", "hip-hop"), "top_share"] > 0.9 and top.loc[("vocals", "other"), "top_share"] < 0.5
    )
    assert top.loc[("vocals", "hip-hop"), "q_value"] < 1e-6


def test_frames_from_explanations():
    from mer_audiolime.explain import explain

    stems = make_stems(np.random.default_rng(0), seconds=1.0, names=("vocals", "drums"))
    exp = explain(
        sum(stems.values()),
        sr=8000,
        model=midlevel_predictor(),
        stems=stems,
        segments=2,
        num_samples=64,
        show_progress=False,
    )
    sf = stem_frame(exp, target="valence", track_id="a")
    assert list(sf.stem) == ["vocals", "drums"] and set(sf.columns) == {
        "stem",
        "weight",
        "target",
        "source",
        "track_id",
    }
    assert set(sf.source) == {"chain:lime"}  # the default rule: the chain for an emotion
    np.testing.assert_allclose(sf.weight.sum(), exp.attribution("valence").weights.sum())
    np.testing.assert_allclose(stem_frame(exp, target="valence", source="shapley").weight.sum(),
                               exp.predictions["valence"] - exp.attribution("valence", "shapley").intercept)
    ef = effect_frame(exp, emotion="valence", track_id="a", genre="x")
    assert list(ef.feature) == ["m_rms", "m_peak", "m_bright"]
    np.testing.assert_allclose(ef.effect.sum(), exp.predictions["valence"])
