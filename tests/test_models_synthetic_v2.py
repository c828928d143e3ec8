"""The synthetic-v2 zoo models: complete cards, unchanged v1 models, and the planted rule each model learned,
checked by intervention on the model (no explainer involved)."""

from __future__ import annotations

import numpy as np
import pytest

from mer_audiolime.datasets import synthetic as syn
from mer_audiolime.datasets.synthetic import interventions as iv
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.models import ship, zoo

#: sha256 of the synthetic-v1 weights; the published v1 results depend on exactly these files.
V1_WEIGHTS = {
    "a2e_synth_biased": "095571a0ea2edc3462b9960c00103137f6c1d5ba23e1da1252037110ef425230",
    "a2mid2e_synth_biased": "bbaa335bdb8c81d569f8b388c06ddb2dd15c713f818a2cfb9ba6d0e2d314833d",
    "a2mid2e_synth_clean": "4d7b3e9a3eefe0d28bd156683c2d03e1cb8415d0ead23049228890608103bbc6",
}
TASK_VARIANTS = ("biased", "redundant", "interaction", "time_local", "confounded")
#: Shipped models that follow their planted rule on at most half of the scored test clips (their learned-rule
#: checks, by intervention). The A2Mid2E OR and AND models learned a softened, partly additive rule: each cue
#: alone raises valence by less than tau = c / 2 (OR), or removing one cue lowers it by less than tau (AND);
#: their linear head cannot represent either rule. With the hidden-layer head (a2e_mlp, amendment 3 of the
#: pre-registration) the OR models pass on 15, 14 and 11 of 15 clips, but the AND models pass on only 1, 4
#: and 7 (seeds 0 and 1 still give the motif alone about c / 2); trained with cue counterfactuals
#: (a2e_mlp_cf, amendment 4) the AND models pass on 11, 9 and 8. The benchmark's pre-registered exclusion
#: rule leaves the failing pairs out and its results report how many; no model is retrained after its check.
#: A strict xfail: the test fails if one of them starts to pass.
NOT_LEARNED = {f"a2mid2e_synth_v2_{v}_s{s}" for v in ("redundant", "interaction") for s in (0, 1, 2)} | {
    "a2mid2e_synth_v2_confounded_s2"} | {f"a2e_mlp_synth_v2_interaction_s{s}" for s in (0, 1, 2)}


def _unless_learned(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="did not learn its planted rule on "
                                                    "most test clips (see NOT_LEARNED)"))
            if n in NOT_LEARNED else n for n in names]


def test_v1_models_are_unchanged():
    for name, digest in V1_WEIGHTS.items():
        card = zoo.model_card(name)
        assert card.weights["sha256"] == digest
        assert zoo.resolve_weights(name, download=False)  # verifies the file against the card
        assert "benchmark" not in card.dataset


def test_the_v1_benchmark_scores_only_the_v1_models():
    from mer_audiolime.evaluation.benchmark import benchmark_models

    assert sorted(n for n, _ in benchmark_models()) == sorted(V1_WEIGHTS)


@pytest.mark.parametrize("name", ship.v2_names())
def test_v2_card_records_data_recipe_selection_and_checks(name):
    variant, head, seed = next((v, h, s) for v, h in ship.V2_MODELS for s in ship.V2_SEEDS
                               if ship.v2_name(v, h, s) == name)
    card = zoo.model_card(name)
    assert card.head == ship.V2_HEADS[head]["head"] and card.head_kwargs == ship.V2_HEADS[head]["head_kwargs"]
    assert card.seed == seed and card.training["seed"] == seed
    assert card.dataset["benchmark"] == ship.V2_BENCHMARK and card.dataset["variant"] == variant
    assert card.dataset["domain"].startswith("synthetic audio")
    assert card.dataset["generate"] == syn.V2_GENERATE
    chosen = ship.V2_SELECTED[ship.V2_SELECTED_BY[variant]]
    assert card.training["selection"]["split"] == "validation"
    assert card.training["candidate"] == chosen["chosen"]
    assert card.training["crop_seconds"] == ship.V2_CANDIDATES[chosen["chosen"]]["crop_seconds"]
    for key, value in ship.V2_RECIPE.items():
        assert card.training[key] == value, key
    assert set(card.metrics) == {"valid", "test", "learned_rule"}
    rule = card.metrics["learned_rule"]
    assert rule["split"] == "test" and rule["n_clips"] == len(rule["clips"]) == 15
    size = 1.2 if variant in ("redundant", "interaction") else 0.6  # the planted shortcut, by hand
    assert rule["tau"] == pytest.approx(size / 2) and rule["delta"] == pytest.approx(size / 6)
    assert card.weights["size_bytes"] <= 250_000


@pytest.mark.parametrize("name", _unless_learned(ship.v2_names()))
def test_v2_card_records_that_the_model_learned_its_rule(name):
    """The recorded check: the model follows its planted rule (a control: shows none) on most scored test
    clips; the verdicts are reproduced from the weights below (two clips) and in full by the slow test."""
    rule = zoo.model_card(name).metrics["learned_rule"]
    assert rule["n_passed"] > rule["n_clips"] / 2


def _family_clips(audio: str, count: int):
    """The first ``count`` test clips with vocals of the default set, rendered as the generator writes them,
    as versions with cues removed (the same arrays the learned-rule check builds from the files)."""
    settings = syn.V2_GENERATE
    vocals, split = syn.assign_splits(settings["n"], seed=settings["seed"])
    flags = syn.assign_cues(vocals, split, seed=settings["seed"])
    picked = [i for i in range(settings["n"]) if split[i] == "test" and vocals[i]][:count]
    out = {}
    for i in picked:
        f = flags.iloc[i].to_dict()
        clip = syn.render_clip(i, vocals=True, seed=settings["seed"], duration=settings["duration"],
                               sr=settings["sr"], cue_flags=f if audio == "cues" else None)
        if audio == "cues":
            mix, stems, nocue = clip["cue_mix"], clip["cue_pcm"], clip["nocue_pcm"]
        else:
            mix, stems, nocue, f = clip["mix"], clip["pcm"], {}, {"vocals": True}
        as_float = {k: (v / 32768.0).astype(np.float32)[None] for k, v in stems.items()}
        named = iv.versions((mix / 32768.0).astype(np.float32)[None], as_float,
                            {k: (v / 32768.0).astype(np.float32)[None] for k, v in nocue.items()}, f)
        out[syn.track_id(i)] = named
    return out


@pytest.fixture(scope="module")
def handful():
    return {"base": _family_clips("base", 2), "cues": _family_clips("cues", 2)}


@pytest.mark.parametrize("variant,head", [(v, h) for v, h in ship.V2_MODELS if h != "a2e"])
def test_seed0_model_reproduces_its_recorded_check_on_two_clips(variant, head, handful):
    """The recorded per-clip verdicts and effects are what the shipped weights give (two clips, seed 0):
    the learned-rule record in the cards comes from these models, by intervention."""
    name = ship.v2_name(variant, head, 0)
    model = zoo.load_model(name, download=False)
    predict = ship.valence_predict(model)
    recorded = model.card.metrics["learned_rule"]["clips"]
    lim = iv.task_thresholds(variant)
    for tid, named in handful[syn.task(variant).audio].items():
        check = iv.rule_check(variant, iv.effects(named, predict), **lim)
        assert check["passed"] == recorded[tid]["passed"], tid
        for key, value in check.items():
            if key.startswith("effect_"):
                assert value == pytest.approx(recorded[tid][key], abs=2e-4), (tid, key)


@pytest.mark.slow
@pytest.mark.parametrize("name", ship.v2_names())
def test_shipped_model_follows_its_rule_on_most_test_clips(name, synthetic_v2_home):
    """By intervention on the model over every scored test clip: the recorded verdicts reproduce, and a task
    model follows its planted rule (a control: shows no rule) on more than half of the clips."""
    card = zoo.model_card(name)
    variant = card.dataset["variant"]
    ds = syn.Dataset(data_home=synthetic_v2_home, version=variant)
    tracks = [ds.track(t) for t in ds.track_ids if ds.track(t).split == "test"]
    frame = iv.learned_rule_frame(tracks, ship.valence_predict(zoo.load_model(name, download=False)),
                                  variant=variant)
    recorded = card.metrics["learned_rule"]
    verdicts = {t: c["passed"] for t, c in recorded["clips"].items()}
    assert dict(zip(frame["track_id"], frame["passed"])) == verdicts
    passed = int(frame["passed"].sum())
    if name in NOT_LEARNED:
        assert passed <= len(frame) / 2, f"{name} now follows its rule: update NOT_LEARNED"
    else:
        assert passed > len(frame) / 2, f"{name} follows its rule on {passed}/{len(frame)} scored test clips"


def test_exclusion_list_is_read_from_the_cards():
    from mer_audiolime.evaluation.truths import exclusions

    names = ship.v2_names()
    frame = exclusions(names)
    assert len(frame) == 15 * len(names)
    for name, group in frame.groupby("model"):
        assert int(group["passed"].sum()) == zoo.model_card(name).metrics["learned_rule"]["n_passed"]
    with pytest.raises(ParameterError, match="no recorded learned-rule check"):
        exclusions(["a2mid2e_synth_clean"])


def test_the_or_and_head_is_the_one_its_recorded_validation_rule_picks():
    """Amendment 3 of the pre-registration: the head of the OR / AND models and their control is the
    candidate with the most validation clips passing the learned-rule check, as recorded in ship and in the
    suite's amended text; the models of the registered head stay in the suite."""
    import re

    from mer_audiolime.evaluation.suites import load_suite

    sel = ship.V2_HEAD_SELECTION
    assert sel["split"] == "validation" and sel["chosen"] == "a2e_mlp"
    assert max(sel["passed"], key=sel["passed"].get) == "a2e, hidden 64"
    assert ship.V2_HEADS["a2e_mlp"] == {"head": "a2e", "head_kwargs": {"hidden": 64}}
    suite = load_suite("synthetic_v2")
    text = " ".join(suite["preregistration"]["amended"].split())
    counts = re.search(r"A2Mid2E (\d+); A2Mid2E with the hidden layer (\d+); the same with emotion loss "
                       r"weight 4: (\d+); A2E with the hidden layer (\d+)", text)
    assert counts and [int(c) for c in counts.groups()] == list(sel["passed"].values())
    assert suite["tasks"]["redundant"]["heads"] == ["a2mid2e", "a2e_mlp"]
    assert suite["tasks"]["interaction"]["heads"][:2] == ["a2mid2e", "a2e_mlp"]
    mlp = {(v, h) for v, h in ship.V2_MODELS if h == "a2e_mlp"}
    assert mlp == {("clean_cues", "a2e_mlp"), ("redundant", "a2e_mlp"), ("interaction", "a2e_mlp")}
    assert set(ship.v2_names()) == set(suite["models"]["names"])


def test_the_and_training_set_is_the_one_its_recorded_validation_rule_picks():
    """Amendment 4: the cue-counterfactual models join the AND task and its control because more validation
    clips passed with them than without (the rule and the counts as recorded in ship and in the suite's
    amended text); their cards say what they were trained on."""
    import re

    from mer_audiolime.evaluation.suites import load_suite

    sel = ship.V2_CF_SELECTION
    assert sel["split"] == "validation" and sel["task"] == "interaction" and sel["chosen"] == "a2e_mlp_cf"
    assert sel["passed"]["a2e_mlp_cf"] > sel["passed"]["a2e_mlp"]
    suite = load_suite("synthetic_v2")
    text = " ".join(suite["preregistration"]["amended"].split())
    counts = re.search(r"Outcome: (\d+) of 8 validation clips passed \(a2e_mlp: (\d+) of 8\)", text)
    assert counts
    assert [int(c) for c in counts.groups()] == [sel["passed"]["a2e_mlp_cf"], sel["passed"]["a2e_mlp"]]
    assert suite["tasks"]["interaction"]["heads"] == ["a2mid2e", "a2e_mlp", "a2e_mlp_cf"]
    assert ship.V2_COUNTERFACTUALS == ("a2e_mlp_cf",)
    assert ship.V2_HEADS["a2e_mlp_cf"] == ship.V2_HEADS["a2e_mlp"]  # the same head; the training set differs
    cf = {(v, h) for v, h in ship.V2_MODELS if h == "a2e_mlp_cf"}
    assert cf == {("clean_cues", "a2e_mlp_cf"), ("interaction", "a2e_mlp_cf")}
    for variant, head in sorted(cf):
        for seed in ship.V2_SEEDS:
            card = zoo.model_card(ship.v2_name(variant, head, seed))
            assert "counterfactuals" in card.dataset["train_items"]
            # the default set's 140 training clips carry the motif 70 times, the distractor 70, the phrase 36
            assert card.dataset["n_train"] == 140 + 70 + 70 + 36
            assert "cue counterfactuals" in card.description
