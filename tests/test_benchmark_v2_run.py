"""The synthetic-v2 run end to end on real clips and shipped models (one clip per task): units are written,
a rerun skips them, a failing unit is recorded instead of stopping the run, and the tables are written."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from mer_audiolime.evaluation import benchmark_v2 as b
from mer_audiolime.evaluation.suites import load_suite, suite_file_sha256


def _small_suite(names):
    suite = copy.deepcopy(load_suite("synthetic_v2"))
    suite["tracks"]["limit"] = 1
    suite["models"]["names"] = list(names)
    suite["tasks"] = {"shortcut": {**suite["tasks"]["shortcut"], "heads": ["a2mid2e"]}}
    return suite


@pytest.mark.slow
def test_run_resume_failures_and_tables(synthetic_v2_home, tmp_path, monkeypatch):
    monkeypatch.setenv("MER_AUDIOLIME_CACHE", str(tmp_path / "cache"))
    suite = _small_suite(["a2mid2e_synth_v2_clean_s0", "a2mid2e_synth_v2_biased_s0"])
    out = tmp_path / "out"
    first = b.run_benchmark_v2(out, data_home=synthetic_v2_home, suite=suite, progress=False)
    assert sorted(first["done"]) == sorted(f"{m}__{s}" for m in suite["models"]["names"]
                                           for s in ("oracle", "estimated"))
    assert not first["failed"]
    again = b.run_benchmark_v2(out, data_home=synthetic_v2_home, suite=suite, progress=False)
    assert not again["done"] and len(again["skipped"]) == 4
    worded = copy.deepcopy(suite)
    worded["tasks"]["shortcut"]["description"] = "reworded: the computation is the same"
    assert not b.run_benchmark_v2(out, data_home=synthetic_v2_home, suite=worded, progress=False)["done"]
    before = (out / "runs" / "a2mid2e_synth_v2_clean_s0__oracle.csv").read_bytes()
    fewer = copy.deepcopy(suite)
    fewer["explain"]["seeds"] = [0, 1]                               # computed otherwise: not reused
    redo = b.run_benchmark_v2(out, data_home=synthetic_v2_home, suite=fewer,
                              models=["a2mid2e_synth_v2_clean_s0"], sources=["oracle"], progress=False)
    assert redo["done"] == ["a2mid2e_synth_v2_clean_s0__oracle"]
    kept = list((out / "runs" / "stale").glob("*/a2mid2e_synth_v2_clean_s0__oracle.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == before                # nothing finished is lost
    b.run_benchmark_v2(out, data_home=synthetic_v2_home, suite=suite, models=["a2mid2e_synth_v2_clean_s0"],
                       sources=["oracle"], progress=False)              # back to the registered settings

    attrs = pd.read_csv(out / "runs" / "a2mid2e_synth_v2_biased_s0__estimated.csv", dtype={"track_id": str})
    comps = set(attrs["component"])
    assert comps == {"vocals", "piano", "bass", "drums", "other", "residual"}   # estimated: residual added
    oracle = pd.read_csv(out / "runs" / "a2mid2e_synth_v2_biased_s0__oracle_cost.csv")
    assert set(oracle["k_components"]) == {5}
    calls = oracle.set_index("explainer")["model_calls"]
    assert calls["leave_one_out"] == 6 and calls["exact_shapley"] == 32 and calls["all"] == 32

    manifest = b.write_results(out, data_home=synthetic_v2_home, suite=suite)
    assert manifest["status"] == "complete" and manifest["suite_sha256"] == suite_file_sha256("synthetic_v2")
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["source"]) == {"oracle", "estimated"}
    assert set(metrics["explainer"]) == set(suite["explainers"]["names"])
    assert (metrics["hit_n"] + metrics["n_excluded"] == 1).all()
    assert json.loads((out / "manifest.json").read_text())["counts"]["planned_explanations"] == 4
    assert "## Hit rate, estimated stems" in (out / "summary.md").read_text()

    broken = _small_suite(["a2mid2e_synth_v2_biased_s9"])                      # no such model
    report = b.run_benchmark_v2(tmp_path / "broken", data_home=synthetic_v2_home, suite=broken,
                                sources=["oracle"], progress=False)
    assert report["failed"] == ["a2mid2e_synth_v2_biased_s9__oracle"]
    assert "a2mid2e_synth_v2_biased_s9" in (tmp_path / "broken" / "runs" /
                                            "a2mid2e_synth_v2_biased_s9__oracle.failed.txt").read_text()
