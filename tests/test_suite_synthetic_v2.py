"""The synthetic-v2 pre-registration: the suite file loads, agrees with the code it registers, and its
recorded hash locks it (editing the file without updating the documented hash fails here)."""

from __future__ import annotations

import re

import pytest

from mer_audiolime.datasets import synthetic as syn
from mer_audiolime.datasets.synthetic import interventions as iv
from mer_audiolime.evaluation.suites import OPTIONAL, load_suite, suite_file_sha256
from mer_audiolime.exceptions import ParameterError
from mer_audiolime.models import ship

from conftest import REPO


@pytest.fixture(scope="module")
def suite():
    return load_suite("synthetic_v2")


def test_recorded_hash_is_the_files_hash():
    for doc in ("datasets/synthetic/README.md", "docs/evaluation.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        recorded = set(re.findall(r"synthetic_v2\.toml`\s+sha256\s+`([0-9a-f]{64})`", text))
        assert recorded == {suite_file_sha256("synthetic_v2")}, doc


def test_preregistration_matches_the_data_and_the_rule_code(suite):
    assert suite["data"]["generate"] == syn.V2_GENERATE
    assert suite["preregistration"]["benchmark"] == ship.V2_BENCHMARK
    assert suite["exclusion"]["tau_fraction"] == iv.LEARNED_RULE["tau"]
    assert suite["exclusion"]["delta_fraction"] == pytest.approx(iv.LEARNED_RULE["delta"], rel=1e-15)
    assert suite["bias"]["target"] == "valence"
    for name, spec in suite["tasks"].items():
        task = syn.task(spec["variant"])
        assert spec["clip_cues"] == list(iv.SCORED_CLIPS[spec["variant"]]), name
        stems = [c.split("@")[0] for c in spec["truth"]]
        assert stems == list(task.shortcut_stems), name
        assert spec["distractors"] == list(task.distractor_stems), name
        assert spec["shared"] == (task.combine == "any" and len(task.cues) > 1 or task.combine == "all"), name
        control = syn.task(spec["control"])
        assert not control.cues and control.audio == task.audio, name
        for head in spec["heads"]:
            assert (spec["variant"], head) in ship.V2_MODELS and (spec["control"], head) in ship.V2_MODELS
    assert suite["tasks"]["time_local"]["segments"] == 2  # the phrase (last quarter) lies in segment t1


def test_registered_models_are_the_shipping_scripts(suite):
    assert suite["models"]["names"] == ship.v2_names()
    assert suite["models"]["seeds"] == list(ship.V2_SEEDS)
    tasks = suite["tasks"].values()
    variants = {s["variant"] for s in tasks} | {s["control"] for s in tasks}
    assert variants == {v for v, _ in ship.V2_MODELS}


def test_lime_enumerates_every_oracle_coalition(suite):
    for spec in suite["tasks"].values():
        k = len(syn.STEMS) * spec["segments"]
        assert 2 ** k <= suite["explain"]["num_samples"]


def test_suites_without_a_preregistration_are_unchanged():
    # no pre-registration section is added to them, so their content and hash (the resume key of earlier
    # runs) are what the loader gave before these sections existed
    for name in ("standard", "quick", "segments"):
        assert not set(OPTIONAL) & set(load_suite(name))


@pytest.mark.parametrize("bad,match", [
    ({"explainers": {"names": ["lime", "magic"]}}, "explainers.names"),
    ({"detection": {"rankings": ["signed", "squared"]}}, "detection.rankings"),
    ({"intervals": {"method": "bootstrap-ish"}}, "intervals.method"),
    ({"stems": {"sources": ["oracle", "psychic"]}}, "stems.sources"),
    ({"exclusion": {"tau_fraction": 2.0}}, "tau_fraction"),
    ({"tasks": {"x": {"variant": "biased", "truth": ["vocals"], "segments": 0}}}, "segments"),
    ({"tasks": {"x": {"variant": "redundant", "truth": ["vocals"], "shared": True}}}, "shared truth"),
    ({"tasks": {"x": {"variant": "biased", "truth": ["vocals"], "colour": "red"}}}, "colour"),
    ({"preregistration": "soon"}, "must be a table"),
])
def test_bad_preregistrations_are_rejected(bad, match):
    with pytest.raises(ParameterError, match=match):
        load_suite(bad)
