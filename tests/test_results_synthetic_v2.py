"""The published synthetic-v2 results recompute from their own CSVs: the per-clip verdicts from the tidy
attributions, every metric from the verdicts, the headline tables of summary.md from the metrics, and the
manifest names the registered suite file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.evaluation.suites import load_suite, suite_file_sha256
from mer_audiolime.evaluation.truths import exclusions
from mer_audiolime.evaluation.v2_analysis import analysis_table
from mer_audiolime.evaluation.v2_report import clip_verdicts, headline_matrix, metrics_table, read_units

RESULTS = Path(__file__).resolve().parents[1] / "evaluation" / "results" / "synthetic-v2"


@pytest.fixture(scope="module")
def published():
    suite = load_suite("synthetic_v2")
    attrs, costs, failures = read_units(RESULTS / "runs")
    excl = exclusions(suite["models"]["names"])
    return {"suite": suite, "attrs": attrs, "costs": costs, "failures": failures, "excl": excl,
            "manifest": json.loads((RESULTS / "manifest.json").read_text(encoding="utf-8")),
            "metrics": pd.read_csv(RESULTS / "metrics.csv", keep_default_na=True),
            "per_clip": pd.read_csv(RESULTS / "per_clip.csv", dtype={"track_id": str})}


def test_manifest_names_the_registered_suite(published):
    m = published["manifest"]
    assert m["suite"] == "synthetic_v2.toml" and m["suite_sha256"] == suite_file_sha256("synthetic_v2")
    assert m["benchmark"] == "synthetic-v2"
    assert m["status"] in ("complete", "partial")
    if m["status"] == "complete":
        assert not published["failures"] and m["counts"]["units_done"] == m["counts"]["units"]


def test_per_clip_verdicts_recompute_from_the_attributions(published):
    verdicts = clip_verdicts(published["attrs"], suite=published["suite"], exclusions=published["excl"])
    keys = ["task", "head", "role", "model", "track_id", "source", "explainer", "ranking"]
    mine = verdicts.sort_values(keys).reset_index(drop=True)
    theirs = published["per_clip"].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[keys + ["hit", "distractor_alarm", "passed"]],
                                  theirs[keys + ["hit", "distractor_alarm", "passed"]])
    assert np.allclose(mine["truth_score"], theirs["truth_score"], rtol=1e-6, atol=1e-9)


def test_metrics_and_headline_recompute_from_the_csvs(published):
    verdicts = published["per_clip"].copy()
    metrics = metrics_table(verdicts, published["costs"], suite=published["suite"])
    theirs = published["metrics"]
    keys = ["task", "head", "source", "explainer", "ranking"]
    merged = metrics.merge(theirs, on=keys, suffixes=("", "_pub"))
    assert len(merged) == len(theirs) == len(metrics)
    for col in ("hit_k", "hit_n", "false_alarm_k", "false_alarm_n", "n_excluded", "n_control_excluded"):
        assert (merged[col] == merged[f"{col}_pub"]).all(), col
    for col in ("hit_rate", "hit_lo", "hit_hi", "false_alarm_rate", "false_alarm_lo", "false_alarm_hi", "auc",
                "chance_rate", "model_calls_per_clip", "wall_seconds_per_clip"):
        assert np.allclose(merged[col], merged[f"{col}_pub"], rtol=1e-6, equal_nan=True), col
    summary = (RESULTS / "summary.md").read_text(encoding="utf-8")
    for source in ("oracle", "estimated"):
        if (theirs["source"] == source).any():
            assert headline_matrix(theirs, source=source).to_markdown() in summary


def test_analysis_recomputes(published):
    preds = pd.read_csv(RESULTS / "predictions.csv", dtype={"track_id": str})
    table = analysis_table(preds, published["attrs"], exclusions=published["excl"])
    theirs = pd.read_csv(RESULTS / "analysis.csv")
    assert len(table) == len(theirs)
    assert np.allclose(table["difference"], theirs["difference"], rtol=1e-6, atol=1e-9, equal_nan=True)
