"""Cue counterfactuals: one ornament removed from a training clip, the label set by the task's rule.

The labels are checked against the generator's own labels read another way: the clean valence of a clip is
its ``clean_cues`` label (that variant plants nothing), so a counterfactual's valence must be that plus the
shortcut exactly when the task's rule fires on the cues left (hand-written below), in the splits whose labels
carry the shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from mer_audiolime.datasets import synthetic as syn
from mer_audiolime.datasets.synthetic import interventions as iv
from mer_audiolime.datasets.synthetic.counterfactuals import CueCounterfactuals, counterfactual_label_shift
from mer_audiolime.datasets.synthetic.loader import Track
from mer_audiolime.datasets.torch_data import split_dataset
from mer_audiolime.exceptions import DatasetError, ParameterError

SMALL = dict(n=8, seed=3, duration=3.0, sr=22050, n_jobs=1, progress=False)
C2 = 2 * syn.SHORTCUT  # the OR / AND tasks plant c = 1.2

V_M_D = {"vocals": True, "motif": True, "phrase": False, "distractor": True}
M_ONLY = {"vocals": False, "motif": True, "phrase": False, "distractor": False}
V_P = {"vocals": True, "motif": False, "phrase": True, "distractor": False}


@pytest.mark.parametrize("variant,flags,removed,shift", [
    ("interaction", V_M_D, "motif", -C2),        # vocals AND motif -> vocals alone: the rule stops firing
    ("interaction", M_ONLY, "motif", 0.0),       # it never fired
    ("interaction", V_M_D, "distractor", 0.0),   # not read by the rule
    ("redundant", V_M_D, "motif", 0.0),          # vocals OR motif still fires on the vocals
    ("redundant", M_ONLY, "motif", -C2),         # the motif was its only cue
    ("time_local", V_P, "phrase", -syn.SHORTCUT),
    ("confounded", V_M_D, "distractor", 0.0),    # the distractor is correlated, never read
    ("clean_cues", V_M_D, "motif", 0.0),         # the control plants nothing
])
def test_label_shift_follows_the_rule(variant, flags, removed, shift):
    c = C2 if variant in ("redundant", "interaction") else syn.SHORTCUT
    assert counterfactual_label_shift(variant, flags, removed, shortcut=c) == pytest.approx(shift)
    assert counterfactual_label_shift(variant, flags, removed, shortcut=c, labelled=False) == 0.0


def test_only_a_carried_ornament_can_be_removed():
    with pytest.raises(ParameterError, match="vocal stem"):
        counterfactual_label_shift("interaction", V_M_D, "vocals", shortcut=C2)
    with pytest.raises(ParameterError, match="does not carry the phrase"):
        counterfactual_label_shift("interaction", V_M_D, "phrase", shortcut=C2)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return syn.generate(tmp_path_factory.mktemp("cf") / "set", cues=True, **SMALL)


def _base(home, variant, split="train"):
    return split_dataset("synthetic", data_home=str(home), split=split, variant=variant)


@pytest.mark.parametrize("variant", ["interaction", "redundant", "time_local"])
def test_counterfactual_items_are_exact(home, variant):
    base = _base(home, variant)
    cf = CueCounterfactuals(base)
    clean = syn.Dataset(data_home=home, version="clean_cues")
    tracks = [base.dataset.track(t) for t in base.track_ids]
    assert len(cf) == len(base) + sum(t.cues[c] for t in tracks for c in syn.ORNAMENT_CUES)
    assert [cf.items[i] for i in range(len(base))] == [(i, None) for i in range(len(base))]
    seen = set()
    for k in range(len(base), len(cf)):
        i, cue = cf.items[k]
        track = tracks[i]
        audio, y = cf[k]
        original_audio, original_y = base[i]
        expected_audio = iv.cue_versions(track)[f"-{cue}"]
        np.testing.assert_array_equal(audio.numpy(), expected_audio)
        assert not np.array_equal(audio.numpy(), original_audio.numpy())
        np.testing.assert_array_equal(y["midlevel"].numpy(), original_y["midlevel"].numpy())
        after = {**track.cues, cue: False}
        rule = {"interaction": after["vocals"] and after["motif"],
                "redundant": after["vocals"] or after["motif"],
                "time_local": after["phrase"]}[variant]
        clean_valence = clean.track(track.track_id).valence
        want = clean_valence + (track.shortcut_size if rule else 0.0)
        valence, arousal = (float(v) for v in y["emotion"].numpy())
        assert valence == pytest.approx(want, abs=1e-5), (track.track_id, cue)
        assert arousal == pytest.approx(float(original_y["emotion"][1]), abs=1e-6)
        seen.add(cue)
    assert seen  # the small set has ornaments to remove in its training split


def test_a_split_without_the_shortcut_only_changes_the_audio(home):
    base = _base(home, "interaction", split="test")
    if base is None or len(base) == 0:
        pytest.skip("the small set has no test clips")
    cf = CueCounterfactuals(base)
    for k in range(len(base), len(cf)):
        i, _ = cf.items[k]
        np.testing.assert_array_equal(cf[k][1]["emotion"].numpy(), base[i][1]["emotion"].numpy())


def test_a_label_that_breaks_the_rule_is_refused(home, monkeypatch):
    base = _base(home, "interaction")
    cf = CueCounterfactuals(base)
    k = len(base)  # the first counterfactual item
    monkeypatch.setattr(Track, "shortcut", property(lambda self: 0.77))
    with pytest.raises(DatasetError, match="regenerate the set"):
        cf[k]


def test_bad_bases_and_cues_are_refused(home):
    base = _base(home, "interaction")
    with pytest.raises(ParameterError, match="unknown ornament"):
        CueCounterfactuals(base, cues=("vocals",))
    base.scale = "standardize"
    with pytest.raises(ParameterError, match="unscaled"):
        CueCounterfactuals(base)


def test_the_cf_models_train_on_the_counterfactuals_and_the_others_do_not(home, tmp_path):
    """ship.train_v2 adds the counterfactuals for the labels of V2_COUNTERFACTUALS only, and says so in the
    card (one epoch on the small set: the wiring, not the model)."""
    from mer_audiolime.models import ship

    n_base = len(_base(home, "interaction"))
    n_cf = len(CueCounterfactuals(_base(home, "interaction")))
    assert n_cf > n_base
    seen = {}
    for head in ("a2e_mlp", "a2e_mlp_cf"):
        result = ship.train_v2(home, variant="interaction", head=head, seed=0, candidate="full",
                               out_dir=tmp_path, progress=False, recipe_overrides={"epochs": 1})
        seen[head] = result.card.dataset
    assert seen["a2e_mlp"]["n_train"] == n_base and "train_items" not in seen["a2e_mlp"]
    assert seen["a2e_mlp_cf"]["n_train"] == n_cf and "counterfactuals" in seen["a2e_mlp_cf"]["train_items"]
