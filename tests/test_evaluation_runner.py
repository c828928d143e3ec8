"""The harness runner: tidy rows, outputs, resume after a kill, failures recorded, parallel == serial."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.evaluation.runner import ROW_COLUMNS, evaluate
from mer_audiolime.exceptions import ParameterError

from conftest import RESOURCES

MODEL = f"{RESOURCES / 'models' / 'analytic_model.py'}:build"
SUITE = {"name": "test", "tracks": {"split": "all", "limit": 4},
         "explain": {"num_samples": 64, "seeds": [0, 1], "batch_size": 8}}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from mer_audiolime.datasets.synthetic import generate

    home = tmp_path_factory.mktemp("synth")
    generate(home, n=6, seed=0, duration=2.0, variant="both", n_jobs=1, progress=False, overwrite=True)
    return home


def _run(synth, out, **kw):
    return evaluate(kw.pop("model", MODEL), dataset="synthetic", data_home=synth, suite=kw.pop("suite", SUITE),
                    out_dir=out, progress=False, **kw)


def test_rows_files_and_manifest(synth, tmp_path):
    run = _run(synth, tmp_path / "r")
    rows = run.rows
    assert list(rows.columns) == ROW_COLUMNS and rows["track_id"].nunique() == 4 and not run.failures
    assert set(rows["metric"]) >= {"prediction", "truth", "error", "weight", "surrogate_r2", "reconstruction_gap"}
    # the explained valence is the chain through the mid-level features; its weights sum over stems
    w = rows[(rows.metric == "weight") & (rows.target == "valence") & (rows.seed == 0)]
    assert set(w.component) == {"vocals", "piano", "bass", "drums", "other"}
    for name in ("results.csv", "results.parquet", "manifest.json", "summary.md", "summary.tex",
                 "figures/stem_weights.png", "figures/stem_weights.pdf"):
        assert (tmp_path / "r" / name).exists(), name
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "r" / "results.parquet"), rows)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["seeds"] == [0, 1] and manifest["n_tracks"] == 4
    assert {"torch", "numpy", "lime", "mirdata"} <= set(manifest["package_versions"])
    assert manifest["run"]["suite_hash"] and manifest["dataset"]["index_sha256"]
    # every row names the attribution it measures (one rule: the chain for emotions), none for model rows
    attributed = rows[rows.metric.isin(["weight", "surrogate_r2", "faithfulness_correlation",
                                        "relative_infidelity", "norm_abc_minus_random"])]
    assert set(attributed.loc[attributed.target == "valence", "source"]) == {"chain:lime"}
    assert set(attributed.loc[attributed.target == "loudness", "source"]) == {"lime"}
    assert set(rows.loc[rows.metric.isin(["prediction", "error", "model_calls"]), "source"]) == {""}
    # 2**5 <= N: enumerated, every seed gives the same attribution -> no stability number anywhere
    assert not rows.metric.isin(["jaccard_topk", "kendall_tau", "vsi", "csi"]).any()
    assert set(w.seed) == {0}
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "exact (no sampling)" in summary and "1.000 ± 0.000 | 1.000 ± 0.000" not in summary
    assert not (tmp_path / "r" / "figures" / "stability.png").exists()
    # convergence of N-row LIME to the enumerated answer, free from the 32 cached coalitions
    conv = rows[rows.metric == "convergence_rel_error"]
    assert set(conv.step) == {100, 250, 500, 1000, 2000, 4000} and set(conv.source) == {"lime"}
    assert (tmp_path / "r" / "figures" / "convergence.png").exists()


def test_stability_is_measured_on_a_sampled_setting(synth, tmp_path):
    suite = {**SUITE, "tracks": {"split": "all", "limit": 2}, "stability": {"segments": 2}}
    rows = _run(synth, tmp_path / "r", suite=suite).rows
    stab = rows[rows.metric.isin(["jaccard_topk", "kendall_tau", "vsi", "csi"])]
    # 5 stems x 2 segments: 2**10 > N = 64, the masks depend on the seed
    assert len(stab) and set(stab.k_components) == {10} and set(stab.num_samples) == {64}
    assert set(stab.loc[stab.target == "valence", "source"]) == {"chain:lime"}
    assert stab.groupby("metric")["value"].min().loc["kendall_tau"] < 1.0  # it varies
    assert set(rows.loc[rows.metric == "weight", "k_components"]) == {5}
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "K = 10 components, N = 64 sampled rows" in summary
    assert (tmp_path / "r" / "figures" / "stability.png").exists()


def test_resume_reuses_finished_tracks(synth, tmp_path):
    first = _run(synth, tmp_path / "r")
    again = _run(synth, tmp_path / "r")
    assert again.computed == [] and len(again.reused) == 4
    pd.testing.assert_frame_equal(first.rows, again.rows)
    with pytest.raises(ParameterError, match="different settings"):
        _run(synth, tmp_path / "r", suite={**SUITE, "explain": {**SUITE["explain"], "num_samples": 65}})


def test_all_tracks_failing_is_an_error_with_the_reason(synth, tmp_path):
    from mer_audiolime.exceptions import EvaluationError

    model = f"{RESOURCES / 'models' / 'analytic_model.py'}:build_failing_on_short"  # every clip is 2 s
    with pytest.raises(EvaluationError, match="every track failed.*at least 2.5 s"):
        evaluate(model, dataset="synthetic", data_home=synth, suite=SUITE, out_dir=tmp_path / "r", progress=False)
    records = sorted((tmp_path / "r" / "failures").glob("*.json"))
    assert len(records) == 4
    assert json.loads(records[0].read_text())["kind"] == "unexpected"


def test_one_corrupt_track_fails_alone(synth, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(synth, home)
    (home / "tracks" / "synth0001" / "mix.wav").write_bytes(b"not a wav file at all")
    run = evaluate(MODEL, dataset="synthetic", data_home=home, suite=SUITE, out_dir=tmp_path / "r", progress=False)
    assert [f["track_id"] for f in run.failures] == ["synth0001"]
    assert run.rows["track_id"].nunique() == 3
    record = json.loads((tmp_path / "r" / "failures" / "synth0001.json").read_text())
    assert record["kind"] == "expected" and "decode" in record["message"]
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["failures"][0]["track_id"] == "synth0001"


@pytest.mark.slow
def test_parallel_equals_serial(synth, tmp_path):
    serial = _run(synth, tmp_path / "s")
    parallel = _run(synth, tmp_path / "p", jobs=2)
    pd.testing.assert_frame_equal(serial.rows, parallel.rows)


@pytest.mark.slow
def test_killed_run_resumes_to_identical_results(synth, tmp_path):
    slow = f"{RESOURCES / 'models' / 'analytic_model.py'}:build_slow"
    suite_path = tmp_path / "suite.toml"
    suite_path.write_text('name = "kill"\n[tracks]\nsplit = "all"\nlimit = 4\n'
                          '[explain]\nnum_samples = 64\nseeds = [0, 1]\nbatch_size = 8\n')
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "mer_audiolime.cli", "evaluate", "--model", slow, "--dataset", "synthetic",
           "--data-home", str(synth), "--suite", str(suite_path), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "tracks").glob("*.csv"))) < 1:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.stem for p in (out / "tracks").glob("*.csv")}
    assert 1 <= len(finished) < 4, "the kill must land mid-run"
    assert not list((out / "tracks").glob("*.tmp"))
    resumed = evaluate(slow, dataset="synthetic", data_home=synth, suite=str(suite_path), out_dir=out,
                       progress=False)
    assert set(resumed.reused) == finished and len(resumed.computed) == 4 - len(finished)
    clean = evaluate(slow, dataset="synthetic", data_home=synth, suite=str(suite_path), out_dir=tmp_path / "clean",
                     progress=False)
    pd.testing.assert_frame_equal(resumed.rows, clean.rows)


@pytest.mark.slow
def test_dask_local_cluster(synth, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        run = _run(synth, tmp_path / "d", dask_scheduler=cluster.scheduler_address)
    serial = _run(synth, tmp_path / "s")
    pd.testing.assert_frame_equal(run.rows, serial.rows)
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["execution"]["dask_scheduler"]
