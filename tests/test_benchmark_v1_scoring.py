"""The synthetic-v1 benchmark's scoring code (bias_rows, per_clip) on hand-built harness rows with known answers.

Three models explain the same clips: a clean one (small, spread attributions), a biased one whose valence
rests on the vocals, and one whose shortcut sits on the drums instead (it must not count as a vocals hit).
"""

from __future__ import annotations

import pandas as pd
import pytest

from mer_audiolime.evaluation.benchmark import bias_rows, per_clip
from mer_audiolime.evaluation.metrics import PlantedBias

STEMS = ("vocals", "piano", "bass", "drums", "other")
# per model: stem -> valence attribution of each of two segments (t0, t1)
WEIGHTS = {
    "clean": {"vocals": (0.02, 0.01), "piano": (0.05, 0.04), "bass": (-0.03, 0.0), "drums": (0.01, 0.02),
              "other": (0.0, -0.01)},
    "biased": {"vocals": (0.30, 0.25), "piano": (0.05, 0.04), "bass": (-0.03, 0.0), "drums": (0.01, 0.02),
               "other": (0.0, -0.01)},
    "drums_cut": {"vocals": (0.02, 0.01), "piano": (0.05, 0.04), "bass": (-0.03, 0.0), "drums": (0.3, 0.3),
                  "other": (0.0, -0.01)},
}
VARIANTS = {"clean": "clean", "biased": "biased", "drums_cut": "biased"}


def _rows():
    rows = []
    for model, stems in WEIGHTS.items():
        for track in ("c1", "c2", "novox"):
            for seed, scale in ((0, 1.0), (1, -5.0)):  # seed 1 is wildly different: only the first seed counts
                for target, tscale in (("valence", 1.0), ("arousal", -3.0)):
                    for stem, segs in stems.items():
                        for i, w in enumerate(segs):
                            rows.append({"model": model, "track_id": track, "seed": seed, "target": target,
                                         "metric": "weight", "component": f"{stem}@t{i}",
                                         "value": w * scale * tscale})
                    rows.append({"model": model, "track_id": track, "seed": seed, "target": target,
                                 "metric": "surrogate_r2", "component": "", "value": 0.9})
    return pd.DataFrame(rows)


VOCALS = {"c1": True, "c2": True, "novox": False}


def test_bias_rows_sum_segments_of_the_first_seed_on_vocal_clips_only():
    stems = bias_rows(_rows(), vocals=VOCALS, target="valence", variants=VARIANTS)
    assert set(stems["track_id"]) == {"c1", "c2"}
    assert len(stems) == 3 * 2 * len(STEMS)
    got = stems.set_index(["model", "track_id", "stem"])["weight"]
    assert got[("biased", "c1", "vocals")] == pytest.approx(0.55)
    assert got[("clean", "c2", "bass")] == pytest.approx(-0.03)
    assert got[("drums_cut", "c1", "drums")] == pytest.approx(0.6)
    assert stems.groupby("model")["biased"].first().to_dict() == {"biased": True, "clean": False,
                                                                    "drums_cut": True}


def test_per_clip_flags_the_vocals_shortcut_and_nothing_else():
    stems = bias_rows(_rows(), vocals=VOCALS, target="valence", variants=VARIANTS)
    clips = per_clip(stems, shortcut="vocals").set_index(["model", "track_id"])
    assert clips.loc[("biased", "c1"), "shortcut_top"] and clips.loc[("biased", "c2"), "shortcut_top"]
    assert not clips["shortcut_top"].loc["clean"].any()  # no shortcut: never flagged
    assert not clips["shortcut_top"].loc["drums_cut"].any()  # a shortcut on another stem is no vocals hit
    assert (clips.loc["drums_cut", "top_stem"] == "drums").all()
    assert clips.loc[("biased", "c1"), "shortcut_weight"] == pytest.approx(0.55)


def test_a_tie_at_the_top_is_no_detection():
    stems = bias_rows(_rows(), vocals=VOCALS, target="valence", variants=VARIANTS)
    tied = stems.copy()
    pick = (tied["model"] == "biased") & (tied["track_id"] == "c1") & (tied["stem"] == "piano")
    tied.loc[pick, "weight"] = 0.55  # piano ties the vocals
    clips = per_clip(tied, shortcut="vocals").set_index(["model", "track_id"])
    assert not clips.loc[("biased", "c1"), "shortcut_top"] and clips.loc[("biased", "c2"), "shortcut_top"]


def test_planted_bias_rates_on_these_rows():
    stems = bias_rows(_rows(), vocals=VOCALS, target="valence", variants=VARIANTS)
    res = PlantedBias(shortcut="vocals", by="abs")(stems)
    # biased-variant clips: 2 (biased, hits) + 2 (drums_cut, misses); clean: 2, no alarm
    assert (res["n_biased"], res["n_clean"]) == (4, 2)
    assert res["hit_rate"] == pytest.approx(0.5) and res["false_alarm_rate"] == 0.0
