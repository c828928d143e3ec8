"""The synthetic-v2 scorer: detection rules, Wilson intervals, exclusions and costs, checked on analytic
models (functions of the stem mix with a known rule) and hand-built attribution frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.evaluation.suites import load_suite
from mer_audiolime.evaluation.v2_explainers import attribute_clip, random_scores, shortcut_scores
from mer_audiolime.evaluation.v2_report import KEYS, clip_verdicts, metrics_table, stored_explainer
from mer_audiolime.evaluation.v2_scoring import auc, chance_rate, clip_detections, detects, wilson_interval
from mer_audiolime.exceptions import ParameterError

STEMS = ["vocals", "piano", "bass", "drums", "other"]
#: small additive valence of the non-cue stems, so every stem has a distinct non-zero effect
OWN = {"vocals": 0.0, "piano": 0.05, "bass": 0.1, "drums": 0.02, "other": -0.04}


def analytic(rule, names=STEMS, own=OWN):
    """``masks -> (B, 1)``: a planted rule of the cue stems plus an additive part of every stem."""
    base = np.array([own[n.split("@")[0]] for n in names])
    idx = {n: i for i, n in enumerate(names)}

    def predict(z):
        z = np.asarray(z, dtype=np.float64)
        return (z @ base + rule(z, idx))[:, None]

    return predict


def explain(rule, names=STEMS, own=OWN):
    rows, cost = attribute_clip(analytic(rule, names, own), component_names=names, model="m", track_id="t")
    first = rows[rows["seed"] == 0]
    return first.pivot(index="component", columns="explainer", values="score").loc[list(names)], cost


def OR(z, i):
    return 1.2 * np.maximum(z[:, i["vocals"]], z[:, i["piano"]])


def AND(z, i):
    return 1.2 * z[:, i["vocals"]] * z[:, i["piano"]]


# --- Wilson intervals ---------------------------------------------------------------------------------------

def test_wilson_golden_values():
    # by hand: upper(0/n) = z^2 / (n + z^2); 14/15 from the Wilson formula with z = 1.959964
    lo, hi = wilson_interval(0, 15)
    assert lo == 0.0 and hi == pytest.approx(1.959964**2 / (15 + 1.959964**2), abs=1e-6)
    assert hi == pytest.approx(0.2039, abs=1e-4)
    assert wilson_interval(14, 15) == pytest.approx((0.70185, 0.98815), abs=1e-4)
    assert wilson_interval(15, 15)[1] == pytest.approx(1.0)
    assert all(np.isnan(wilson_interval(0, 0)))
    with pytest.raises(ParameterError, match="successes"):
        wilson_interval(3, 2)


# --- detection rules ----------------------------------------------------------------------------------------

def test_single_rule_needs_a_strict_top():
    assert detects([0.3, 0.1, 0.2], ["vocals", "piano", "bass"], ["vocals"])
    assert not detects([0.3, 0.3, 0.2], ["vocals", "piano", "bass"], ["vocals"])   # tie at the top
    assert not detects([0.1, 0.3, 0.2], ["vocals", "piano", "bass"], ["vocals"])


def test_rankings_differ_on_negative_credit():
    scores, names = [0.2, -0.5, 0.1], ["vocals", "piano", "bass"]
    assert detects(scores, names, ["vocals"], ranking="signed")
    assert not detects(scores, names, ["vocals"], ranking="abs")
    assert detects(scores, names, ["piano"], ranking="abs")


def test_shared_rule_is_the_strict_top_two():
    names = ["vocals", "piano", "bass", "drums"]
    assert detects([0.5, 0.4, 0.1, 0.0], names, ["vocals", "piano"])
    assert not detects([0.5, 0.1, 0.4, 0.0], names, ["vocals", "piano"])          # bass in the top 2
    assert not detects([0.5, 0.4, 0.4, 0.0], names, ["vocals", "piano"])          # tie at the boundary
    assert detects([0.4, 0.4, 0.1, 0.0], names, ["vocals", "piano"])              # a tie inside the truth
    with pytest.raises(ParameterError, match="not among"):
        detects([0.5, 0.4], ["vocals", "bass"], ["vocals", "piano"])


def test_shortcut_stem_baseline_cannot_name_a_segment_or_a_pair():
    names = ["vocals@t0", "vocals@t1", "piano@t0", "piano@t1"]
    s = shortcut_scores(names, stem="vocals")
    assert not detects(s, names, ["vocals@t1"])
    assert not detects(shortcut_scores(STEMS, stem="vocals"), STEMS, ["vocals", "piano"])
    assert detects(shortcut_scores(STEMS, stem="vocals"), STEMS, ["vocals"])


def test_random_baseline_is_seeded_by_model_and_track():
    a = random_scores(5, model="m", track_id="t")
    assert np.array_equal(a, random_scores(5, model="m", track_id="t"))
    assert not np.array_equal(a, random_scores(5, model="m", track_id="u"))
    assert not np.array_equal(a, random_scores(5, model="n", track_id="t"))
    assert np.all((a >= 0) & (a < 1))


def test_auc_and_chance():
    assert auc([1.0, 2.0], [0.0, 0.5]) == 1.0
    assert auc([1.0], [1.0]) == 0.5
    assert np.isnan(auc([], [1.0]))
    assert chance_rate(6, 1) == pytest.approx(1 / 6)
    assert chance_rate(5, 2) == pytest.approx(0.1)
    assert chance_rate(12, 1) == pytest.approx(1 / 12)


# --- analytic models through every explainer ----------------------------------------------------------------

def test_or_model_exact_shapley_shares_credit_and_leave_one_out_sees_nothing():
    table, _ = explain(OR)
    assert table.loc["vocals", "exact_shapley"] == pytest.approx(0.6)
    assert table.loc["piano", "exact_shapley"] == pytest.approx(0.6 + OWN["piano"])
    # removing either cue alone leaves the OR on: leave-one-out gives the cues only their own effect (0)
    assert table.loc["vocals", "leave_one_out"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["piano", "leave_one_out"] == pytest.approx(OWN["piano"])
    assert table.loc["vocals", "add_one_in"] == pytest.approx(1.2)
    scores = table.to_dict(orient="series")
    truth = ["vocals", "piano"]
    assert detects(scores["exact_shapley"], STEMS, truth)
    assert detects(scores["sampled_shapley"], STEMS, truth)
    assert not detects(scores["leave_one_out"], STEMS, truth)
    assert detects(scores["add_one_in"], STEMS, truth)


def test_pure_or_gives_exact_half_half_credit():
    zero = dict.fromkeys(STEMS, 0.0)
    table, _ = explain(lambda z, i: np.maximum(z[:, i["vocals"]], z[:, i["piano"]]), own=zero)
    assert table.loc["vocals", "exact_shapley"] == pytest.approx(0.5)
    assert table.loc["piano", "exact_shapley"] == pytest.approx(0.5)
    assert table.loc[["vocals", "piano"], "leave_one_out"].tolist() == pytest.approx([0.0, 0.0])
    # sampled Shapley with antithetic orders is efficient: its credits sum to f(all) - f(none) = 1
    assert table["sampled_shapley"].sum() == pytest.approx(1.0)


def test_and_model_add_one_in_sees_nothing():
    table, _ = explain(AND)
    assert table.loc["vocals", "exact_shapley"] == pytest.approx(0.6)
    assert table.loc["vocals", "add_one_in"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["vocals", "leave_one_out"] == pytest.approx(1.2)
    scores = table.to_dict(orient="series")
    assert not detects(scores["add_one_in"], STEMS, ["vocals", "piano"])
    assert detects(scores["leave_one_out"], STEMS, ["vocals", "piano"])
    assert detects(scores["exact_shapley"], STEMS, ["vocals", "piano"])


def test_no_shortcut_model_is_not_flagged_and_another_stem_is_no_vocals_hit():
    clean, _ = explain(lambda z, i: 0.0 * z[:, 0])
    drums, _ = explain(lambda z, i: 0.6 * z[:, i["drums"]])
    for explainer in ("leave_one_out", "add_one_in", "exact_shapley", "sampled_shapley", "lime"):
        assert not detects(clean[explainer].to_numpy(), STEMS, ["vocals"]), explainer
        assert not detects(drums[explainer].to_numpy(), STEMS, ["vocals"]), explainer
        assert detects(drums[explainer].to_numpy(), STEMS, ["drums"]), explainer


def test_time_local_truth_is_one_segment_component():
    names = [f"{s}@t{j}" for s in STEMS for j in (0, 1)]
    table, cost = explain(lambda z, i: 0.6 * z[:, i["vocals@t1"]], names=names)
    for explainer in ("leave_one_out", "add_one_in", "exact_shapley", "sampled_shapley", "lime"):
        assert detects(table[explainer].to_numpy(), names, ["vocals@t1"]), explainer
    assert int(cost.set_index("explainer").loc["all", "k_components"]) == 10


def test_model_calls_count_distinct_masks_and_the_cache_shares_them():
    _, cost = explain(OR)
    calls = cost.set_index("explainer")["model_calls"]
    assert calls["leave_one_out"] == 6 and calls["add_one_in"] == 7
    assert calls["exact_shapley"] == 32 and calls["lime"] == 32      # 2**5 <= 1024: LIME enumerates
    assert calls["random"] == 0 and calls["shortcut_stem"] == 0
    assert calls["all"] == 32                                        # every design is a set of coalitions
    names = [f"c{j}" for j in range(12)]
    seen = []

    def counting(z):
        seen.extend(map(bytes, np.asarray(z, np.uint8)))
        return np.asarray(z, float)[:, :1]

    _, cost12 = attribute_clip(counting, component_names=names, model="m", track_id="t")
    calls12 = cost12.set_index("explainer")["model_calls"]
    assert calls12["exact_shapley"] == 4096 and calls12["all"] == 4096
    assert len(seen) == len(set(seen)) == 4096                        # no mask is predicted twice
    assert 0 < calls12["lime"] <= 1024 and 0 < calls12["sampled_shapley"] <= 200


# --- pooled metrics on a hand-built frame -------------------------------------------------------------------

def _suite_one_task():
    suite = load_suite("synthetic_v2")
    suite = {**suite, "tasks": {"redundant": suite["tasks"]["redundant"]}}
    return suite


def _attr_rows(model, role, tid, scores, explainer="exact_shapley", source="oracle"):
    return [{"task": "redundant", "head": "a2mid2e", "role": role, "model": model, "track_id": tid,
             "source": source, "explainer": explainer, "seed": 0, "component": c, "score": s}
            for c, s in zip(STEMS, scores)]


def test_metrics_count_hits_false_alarms_and_exclusions():
    suite = _suite_one_task()
    hit, miss = [0.6, 0.5, 0.1, 0.0, 0.0], [0.6, 0.0, 0.5, 0.0, 0.0]
    rows = (_attr_rows("a2mid2e_synth_v2_redundant_s0", "task", "c1", hit)
            + _attr_rows("a2mid2e_synth_v2_redundant_s0", "task", "c2", miss)
            + _attr_rows("a2mid2e_synth_v2_redundant_s1", "task", "c1", hit)       # excluded below
            + _attr_rows("a2mid2e_synth_v2_clean_cues_s0", "control", "c1", hit)   # a false alarm
            + _attr_rows("a2mid2e_synth_v2_clean_cues_s0", "control", "c2", [0.0, 0.0, 0.3, 0.2, 0.1]))
    attrs = pd.DataFrame(rows)
    excl = pd.DataFrame([{"model": m, "track_id": t, "passed": p} for m, t, p in [
        ("a2mid2e_synth_v2_redundant_s0", "c1", True), ("a2mid2e_synth_v2_redundant_s0", "c2", True),
        ("a2mid2e_synth_v2_redundant_s1", "c1", False), ("a2mid2e_synth_v2_clean_cues_s0", "c1", True),
        ("a2mid2e_synth_v2_clean_cues_s0", "c2", True)]])
    verdicts = clip_verdicts(attrs, suite=suite, exclusions=excl)
    costs = attrs[KEYS].drop_duplicates().assign(explainer="exact_shapley", model_calls=32, wall_seconds=0.5,
                                                 k_components=5)
    expected = attrs[KEYS].drop_duplicates()
    expected = pd.concat([expected, expected.iloc[:1].assign(track_id="c9")])   # one planned, never run
    m = metrics_table(verdicts, costs, suite=suite, expected=expected)
    row = m[(m["explainer"] == "exact_shapley") & (m["ranking"] == "signed")].iloc[0]
    assert (row.hit_k, row.hit_n) == (1, 2)
    assert (row.n_excluded, row.n_missing) == (1, 1)
    assert (row.false_alarm_k, row.false_alarm_n) == (1, 2)
    assert row.chance_rate == pytest.approx(0.1)
    assert row.model_calls_per_clip == 32
    assert row.hits_by_seed == "s0 1/2"
    # AUC over summed truth scores: task {1.1, 0.6} vs control {1.1, 0.0} -> (0.5 + 1 + 0 + 1) / 4
    assert row.auc == pytest.approx(0.625)
    # credit share a_vocals / (a_vocals + a_piano): task clips 0.6/1.1 and 1.0
    assert row.credit_share_task == pytest.approx(np.median([0.6 / 1.1, 1.0]))
    assert (row.hit_lo, row.hit_hi) == pytest.approx(wilson_interval(1, 2))
    lime = m[m["explainer"] == "lime_abs"]
    assert lime["hit_n"].eq(0).all()                    # no lime rows were given: nothing scored, no crash


def test_clip_detections_flags_a_distractor():
    attrs = pd.DataFrame(_attr_rows("m", "task", "c1", [0.2, 0.0, 0.0, 0.0, 0.5]))
    d = clip_detections(attrs, ["vocals"], keys=KEYS, distractors=["other"])
    assert d["distractor_alarm"].all() and not d["hit"].any()


def test_every_registered_explainer_reads_stored_attributions():
    suite = load_suite("synthetic_v2")
    assert {stored_explainer(e) for e in suite["explainers"]["names"]} == {
        "random", "shortcut_stem", "leave_one_out", "add_one_in", "exact_shapley", "sampled_shapley", "lime"}
    with pytest.raises(ParameterError, match="unknown explainer"):
        stored_explainer("kernel_shap")


def test_clip_detections_agree_with_the_single_clip_rule():
    """The vectorised per-clip verdicts equal detects() clip by clip, with ties (scores on a coarse grid),
    both rankings, and explanations without a residual component beside ones with it."""
    rng = np.random.default_rng(0)
    rows = []
    for c in range(60):
        comps = STEMS + (["residual"] if c % 2 else [])
        scores = rng.integers(-3, 4, size=len(comps)) / 2.0
        rows += [{"model": "m", "track_id": f"c{c:02d}", "component": n, "score": s}
                 for n, s in zip(comps, scores)]
    attrs = pd.DataFrame(rows)
    for truth in (["vocals"], ["vocals", "piano"]):
        d = clip_detections(attrs, truth, distractors=["other"])
        for r in d.itertuples():
            clip = attrs[attrs["track_id"] == r.track_id]
            names, scores = clip["component"].tolist(), clip["score"].to_numpy()
            assert r.hit == detects(scores, names, truth, ranking=r.ranking)
            assert r.distractor_alarm == detects(scores, names, ["other"], ranking=r.ranking)


def test_quick_preset_is_the_seed0_models_of_two_tasks_on_a_few_clips():
    from mer_audiolime.evaluation.benchmark_v2 import QUICK_TASKS, quick_suite
    from mer_audiolime.evaluation.truths import task_models

    full = load_suite("synthetic_v2")
    quick = quick_suite(clips=3)
    assert quick["preset"] == "quick" and "preset" not in full  # a copy: the registered suite is untouched
    assert list(quick["tasks"]) == list(QUICK_TASKS) and quick["tracks"]["limit"] == 3
    expected = {n for t in QUICK_TASKS for names in task_models(full, t).values() for n in names
                if n.endswith("_s0")}
    assert set(quick["models"]["names"]) == expected
    assert {"a2mid2e_synth_v2_biased_s0", "a2e_synth_v2_clean_s0", "a2mid2e_synth_v2_clean_cues_s0"} <= expected
    with pytest.raises(ParameterError, match="clips"):
        quick_suite(clips=0)


def test_quick_summary_says_it_is_not_the_benchmark():
    from mer_audiolime.evaluation.v2_report import summary_markdown

    from pathlib import Path

    results = Path(__file__).resolve().parents[1] / "evaluation" / "results" / "synthetic-v2"
    metrics = pd.read_csv(results / "metrics.csv")
    base = {"benchmark": "synthetic-v2", "suite": "synthetic_v2.toml", "suite_sha256": "0" * 64,
            "wall_seconds": 12.0, "machine": {"cpus": 2}}
    quick = summary_markdown(metrics, manifest={**base, "preset": "quick"})
    full = summary_markdown(metrics, manifest=base)
    assert "Quick preset" in quick and "not the benchmark's" in quick and "one training seed" in quick
    assert "Quick preset" not in full and "three training seeds" in full and "Full run wall time" in full


# --- unit keys: a rerun never reuses a unit computed under other settings ----------------------------------
def test_unit_key_covers_what_a_unit_depends_on_and_nothing_else(tmp_path, monkeypatch):
    import copy
    import json

    from mer_audiolime.evaluation import benchmark_v2 as b
    from mer_audiolime.evaluation import v2_units

    suite = load_suite("synthetic_v2")
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"n": 200, "seed": 0}))
    unit = {"model": "a2mid2e_synth_v2_redundant_s0", "source": "oracle",
            "jobs": [{"task": "redundant", "head": "a2mid2e", "role": "task", "variant": "redundant",
                      "segments": 1, "track_ids": ["synth0003"]}]}
    key = b.unit_key(unit, suite, home)
    assert len(key) == 64 and key == b.unit_key(copy.deepcopy(unit), copy.deepcopy(suite), home)

    same = copy.deepcopy(suite)
    same["tasks"]["redundant"]["heads"] = ["a2mid2e", "a2e_mlp"]   # another model joins the task
    same["tasks"]["redundant"]["description"] = "reworded"
    same["tasks"]["shortcut"]["segments"] = 3                          # a task this unit does not run
    assert b.unit_key(unit, same, home) == key

    changed = []
    other = copy.deepcopy(suite)
    other["explain"]["num_samples"] = 512
    changed.append(b.unit_key(unit, other, home))
    other = copy.deepcopy(suite)
    other["tasks"]["redundant"]["segments"] = 2
    changed.append(b.unit_key(unit, other, home))
    other_clip = {**unit, "jobs": [{**unit["jobs"][0], "track_ids": ["synth0004"]}]}
    changed.append(b.unit_key(other_clip, suite, home))
    changed.append(b.unit_key({**unit, "model": "a2mid2e_synth_v2_redundant_s1"}, suite, home))
    (home / "settings.json").write_text(json.dumps({"n": 200, "seed": 1}))
    changed.append(b.unit_key(unit, suite, home))
    (home / "settings.json").write_text(json.dumps({"n": 200, "seed": 0}))
    assert b.unit_key is v2_units.unit_key          # the key reads the version of the module it lives in
    monkeypatch.setattr(v2_units, "__version__", "0.0.0+other")
    changed.append(b.unit_key(unit, suite, home))
    assert key not in changed and len(set(changed)) == len(changed)


def test_published_units_carry_the_key_of_the_settings_they_were_computed_with():
    """Every finished unit of the published run has a key file; a key that no longer matches the registered
    suite and shipped weights would make a rerun recompute it (checked in full by the slow run test)."""
    from pathlib import Path

    runs = Path(__file__).resolve().parents[1] / "evaluation" / "results" / "synthetic-v2" / "runs"
    units = sorted(p.stem for p in runs.glob("*.csv") if not p.name.endswith("_cost.csv"))
    assert units and all((runs / f"{u}.key").is_file() for u in units)
    assert all(len((runs / f"{u}.key").read_text().strip()) == 64 for u in units)


def test_wall_time_is_summed_over_run_phases_not_spanned():
    """Units of models added later (an amendment) run in a second phase: the wall time is the sum of the
    phases' spans, not the hours between them."""
    from mer_audiolime.evaluation.benchmark_v2 import PHASE_GAP_SECONDS, run_phases

    entries = [{"unit": "a", "start": 100.0, "end": 160.0, "commit": "c1"},
               {"unit": "b", "start": 120.0, "end": 400.0, "commit": "c1"},          # overlaps: same phase
               {"unit": "c", "start": 400.0 + PHASE_GAP_SECONDS, "end": 1100.0, "commit": "c1"},  # at the gap
               {"unit": "d", "start": 20_000.0, "end": 20_090.0, "commit": "c2"},
               {"unit": "e", "start": 20_050.0, "end": 20_070.0, "commit": "c3"}]
    phases = run_phases(list(reversed(entries)))                                  # order does not matter
    assert [p["units"] for p in phases] == [3, 2]
    assert [p["wall_seconds"] for p in phases] == [1000.0, 90.0]
    assert phases[1]["commits"] == ["c2", "c3"] and phases[0]["started"] == "1970-01-01 00:01:40"
    assert run_phases([]) == []
