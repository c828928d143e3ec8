"""Known truth of the synthetic benchmark, checked by probes that do not read the relevance table.

* Stem-off probe: drop one stem from a score and recompute the targets from the notes that remain; exactly the
  targets the table says the stem drives may move (and each listed one moves in some clip).
* Intervention probe: change one generation parameter and re-render; exactly the stems the table lists for
  the parameter's target may change (sample by sample), and each listed stem changes in some clip.
* The emotion map in the annotations is the documented ``W @ m + noise (+ shortcut)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.datasets.synthetic import score as S
from mer_audiolime.datasets.synthetic import truth as T
from mer_audiolime.datasets.synthetic.render import render_score

SEED = 7
CLIPS = range(6)
DURATION = 6.0


def _score(clip, **changes):
    params = S.draw_params(SEED, clip, vocals=True)
    if changes:
        params = params.replace(**changes)
    return S.compose(params, seed=SEED, clip=clip, duration=DURATION)


def _stem_off_table():
    """Observed table: True where switching the stem off moved the target in at least one clip."""
    moved = pd.DataFrame(False, index=pd.Index(T.MIDLEVEL, name="target"),
                         columns=pd.Index(S.STEMS, name="stem"))
    for clip in CLIPS:
        score = _score(clip)
        full = T.midlevel_targets(score)
        for stem in S.STEMS:
            without = T.midlevel_targets(score, stems=[s for s in S.STEMS if s != stem])
            for target in T.MIDLEVEL:
                if without[target] != full[target]:
                    moved.loc[target, stem] = True
    return moved


def test_stem_off_probe_moves_exactly_the_driven_targets():
    observed = _stem_off_table()
    wrong = observed != T.RELEVANCE
    assert not wrong.to_numpy().any(), f"relevance table disagrees with the stem-off probe at:\n{wrong}"


def test_stem_off_probe_would_catch_a_wrong_table():
    observed = _stem_off_table()
    tampered = T.RELEVANCE.copy()
    tampered.loc["dissonance", "other"] = True  # a claim no stem-off can support
    assert not observed.equals(tampered)


def _extreme(value):
    return 1.0 if value < 0.5 else 0.0


def test_intervention_probe_changes_exactly_the_listed_stems():
    bases = {clip: _score(clip) for clip in CLIPS}
    rendered = {clip: render_score(score, sr=22050) for clip, score in bases.items()}
    for param, target in T.PARAM_TARGET.items():
        expected = {s for s in S.STEMS if T.RELEVANCE.loc[target, s]}
        seen = set()
        for clip in CLIPS:
            alt = _score(clip, **{param: _extreme(getattr(bases[clip].params, param))})
            a, b = rendered[clip], render_score(alt, sr=22050)
            changed = {s for s in S.STEMS if not np.array_equal(a[s], b[s])}
            leaked = sorted(changed - expected)
            assert not leaked, f"{param} changed {leaked} (not listed for {target})"
            seen |= changed
        assert seen == expected, f"{param}: listed stems {sorted(expected - seen)} never changed"


@pytest.mark.parametrize("param,target,sign", [
    ("stepwise", "melodiousness", 1), ("staccato", "articulation", 1),
    ("syncopation", "rhythm_complexity", 1),
    ("density", "rhythm_complexity", 1), ("regularity", "rhythm_stability", 1), ("clusters", "dissonance", 1),
    ("minor", "minorness", 1), ("modulation", "tonal_stability", -1),
])
def test_each_parameter_moves_its_target_in_the_documented_direction(param, target, sign):
    strict = 0
    for clip in CLIPS:
        low = T.midlevel_targets(_score(clip, **{param: 0.0}))[target]
        high = T.midlevel_targets(_score(clip, **{param: 1.0}))[target]
        assert sign * (high - low) >= 0.0
        strict += sign * (high - low) > 0.0
    assert strict >= len(CLIPS) - 1


def test_extreme_parameters_give_extreme_targets():
    clip = 0
    assert T.midlevel_targets(_score(clip, stepwise=1.0))["melodiousness"] == 1.0
    assert T.midlevel_targets(_score(clip, stepwise=0.0))["melodiousness"] == 0.0
    assert T.midlevel_targets(_score(clip, minor=1.0))["minorness"] == 1.0
    assert T.midlevel_targets(_score(clip, minor=0.0))["minorness"] == 0.0
    assert T.midlevel_targets(_score(clip, modulation=0.0))["tonal_stability"] == 1.0
    assert T.midlevel_targets(_score(clip, clusters=0.0))["dissonance"] == 0.0


def test_without_vocals_the_vocal_targets_are_neutral_and_valence_has_no_vocal_path():
    params = S.draw_params(SEED, 0, vocals=False)
    score = S.compose(params, seed=SEED, clip=0, duration=DURATION)
    assert score.parts["vocals"].notes == []
    m = T.midlevel_targets(score)
    assert m["melodiousness"] == 0.5 and m["articulation"] == 0.5
    assert not T.relevance_table(vocals=True)["vocals"]["valence"]
    assert T.relevance_table(vocals=True, shortcut=True)["vocals"]["valence"]
    assert not T.relevance_table(vocals=False).loc[:, "vocals"].any()


def test_emotion_relevance_follows_the_weights():
    table = T.relevance_table()
    for emotion in T.EMOTIONS:
        weights = T.EMOTION_WEIGHTS.loc[emotion]
        expected = T.RELEVANCE.loc[weights[weights != 0].index].any(axis=0)
        assert table.loc[emotion].equals(expected.rename(emotion))


def test_relevance_frame_is_tidy():
    frame = T.relevance_frame()
    assert list(frame.columns) == ["target", "stem", "relevant"]
    assert len(frame) == (len(T.MIDLEVEL) + len(T.EMOTIONS)) * len(S.STEMS)
    assert frame["relevant"].dtype == bool


def test_targets_lie_in_unit_interval_and_are_deterministic():
    for clip in CLIPS:
        a, b = T.midlevel_targets(_score(clip)), T.midlevel_targets(_score(clip))
        assert a == b
        assert all(0.0 <= v <= 1.0 for v in a.values())


def test_clip_params_validate():
    from mer_audiolime.exceptions import ParameterError

    params = S.draw_params(0, 0, vocals=True)
    with pytest.raises(ParameterError, match="minor"):
        params.replace(minor=1.5)
    with pytest.raises(ParameterError, match="unknown"):
        params.replace(loudness=1.0)
    with pytest.raises(ParameterError, match="stem"):
        T.midlevel_targets(_score(0), stems=["guitar"])
