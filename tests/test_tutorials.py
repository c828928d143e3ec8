"""The three tutorials in docs/tutorials/ run end to end on small synthetic settings.

Each script is loaded with runpy (as a user's ``python docs/tutorials/<name>.py`` would, minus the
``__main__`` guard) and its ``main(argv)`` is called with small settings; the returned objects are checked
for the facts the tutorial text states. One subprocess run per script checks the command-line entry point.
"""

import hashlib
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TUTORIALS = REPO / "docs" / "tutorials"
SCRIPTS = ["load_dataset.py", "evaluate_your_model.py", "bias_debugging.py"]


def _load(name):
    return runpy.run_path(str(TUTORIALS / name), run_name="tutorial")


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_runs_as_a_program(script):
    out = subprocess.run([sys.executable, str(TUTORIALS / script), "--help"], capture_output=True, text=True,
                         check=False, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_every_tutorial_has_a_page_that_includes_it():
    for script in SCRIPTS:
        page = TUTORIALS / script.replace(".py", ".md")
        assert f'--8<-- "docs/tutorials/{script}"' in page.read_text(encoding="utf-8"), page


def test_tutorial_1_builds_index_from_a_copy_and_loads(tmp_path):
    fixture = REPO / "tests" / "resources" / "deam"
    before = _tree_digest(fixture)
    res = _load("load_dataset.py")["main"](["--work-dir", str(tmp_path), "--n", "6", "--duration", "2"])
    # the index is written into the copy, never into the repository's fixture
    assert res["index_path"].parent == tmp_path / "deam"
    assert _tree_digest(fixture) == before
    assert res["n_tracks"] == 6 and res["missing"] == 0 and res["changed"] == 0
    assert res["n_synth"] == 6


def test_tutorial_1_works_on_pmemo_and_a_separate_index_file(tmp_path):
    out = tmp_path / "idx" / "pmemo.json"
    out.parent.mkdir()
    res = _load("load_dataset.py")["main"](["--dataset", "pmemo", "--index-out", str(out), "--work-dir",
                                            str(tmp_path), "--n", "4", "--duration", "2"])
    assert res["index_path"] == out and out.is_file()
    assert res["n_tracks"] == 3 and res["missing"] == 0


def test_tutorial_2_evaluates_a_user_model_and_resumes(tmp_path):
    from mer_audiolime.evaluation import ROW_COLUMNS

    res = _load("evaluate_your_model.py")["main"](
        ["--work-dir", str(tmp_path), "--n", "14", "--duration", "2", "--limit", "2", "--num-samples", "32"])
    rows, out = res["rows"], res["out"]
    assert list(rows.columns) == ROW_COLUMNS
    assert sorted(rows["track_id"].unique()) == sorted(res["rerun"].reused) and len(res["rerun"].reused) == 2
    assert res["rerun"].computed == [] and res["rerun"].rows.equals(rows)
    for name in ("results.csv", "summary.md", "manifest.json", "run.json"):
        assert (out / name).is_file(), name
    # valence is explained through the chain: one weight per stem (enumerated: the first seed stands for all),
    # stability over both seeds on the sampled 10-component setting, and prediction/truth/error rows
    w = rows[(rows["metric"] == "weight") & (rows["target"] == "valence")]
    assert set(w["component"]) == {"vocals", "piano", "bass", "drums", "other"}
    assert set(w["seed"]) == {0} and set(w["source"]) == {"chain:lime"}
    stab = rows[rows["metric"] == "kendall_tau"]
    assert len(stab) and set(stab["k_components"]) == {10} and set(stab["num_samples"]) == {32}
    err = rows[rows["target"] == "valence"].pivot_table(index="track_id", columns="metric", values="value")
    np.testing.assert_allclose(err["error"], err["prediction"] - err["truth"], atol=1e-12)


def test_tutorial_2_model_file_is_a_valid_predictor():
    from mer_audiolime.models import load_predictor

    model = load_predictor(f"{TUTORIALS / 'my_model.py'}:build")
    batch = np.random.default_rng(0).standard_normal((3, 1, 22050)).astype(np.float32) * 0.1
    out = model(batch)
    assert out.shape == (3, 9)
    # the emotion outputs are exactly emotion_weights @ midlevel outputs (what unlocks the chain)
    head = np.asarray(model.emotion_weights)
    np.testing.assert_allclose(out[:, 7:], out[:, :7] @ head.T, rtol=1e-5, atol=1e-6)


def test_tutorial_3_bias_analysis_runs_with_a_model_trained_here(tmp_path):
    res = _load("bias_debugging.py")["main"](
        ["--model", "train", "--work-dir", str(tmp_path), "--n", "40", "--duration", "2", "--epochs", "1",
         "--num-samples", "32"])
    clips, effects, stems = res["clips"], res["effects"], res["stems"]
    assert set(clips["group"]) == {"vocals", "no vocals"}
    assert set(effects["feature"]) == {"melodiousness", "articulation", "rhythm_complexity",
                                       "rhythm_stability", "dissonance", "tonal_stability", "minorness"}
    # effects are W[valence, j] * m_j: per clip they add up to the model's valence output (a z-score,
    # which the card's target scaling maps back to the annotation scale of the prediction column)
    s = res["scaling"]["valence"]
    total = effects.groupby("track_id")["effect"].sum() * s["std"] + s["mean"]
    np.testing.assert_allclose(total.loc[clips["track_id"]].to_numpy(), clips["prediction"],
                               rtol=1e-5, atol=1e-5)
    assert set(stems["stem"]) == {"vocals", "piano", "bass", "drums", "other"}
    assert set(res["analysis"]["error"]["subgroup"]) == {"vocals", "no vocals"}
    assert set(res["analysis"]["effects"]["feature"]) == set(effects["feature"])
    assert {"top_count", "top_share", "q_value"} <= set(res["analysis"]["stems"].columns)
    listen = list((res["work"] / "listen").glob("*/mix.wav"))
    assert len(listen) == 1


def test_recipe_factory_mixes_midlevel_and_deam_items_and_trains(tmp_path):
    """docs/tutorials/midlevel_deam.py:make (the anchored A2Mid2E recipe): each item carries one target group,
    and the training function z-scores each target only on the items that have it."""
    import shutil

    from mer_audiolime import datasets
    from mer_audiolime.models.training import train

    homes = {}
    for name in ("midlevel", "deam"):
        homes[name] = tmp_path / name
        shutil.copytree(REPO / "tests" / "resources" / name, homes[name])
        datasets.build_index(name, homes[name], progress=False)
    make = _load("midlevel_deam.py")["make"]
    data = make("train", midlevel_home=homes["midlevel"], deam_home=homes["deam"], clip_seconds=1.0)
    items = [data[i] for i in range(len(data))]
    keys = [tuple(targets) for _, targets in items]
    assert set(keys) == {("midlevel",), ("emotion",)}
    assert all(audio.shape == (1, 22050) for audio, _ in items)
    valence = [float(t["emotion"][0]) for _, t in items if "emotion" in t]  # (valence, arousal)
    result = train(data, valid_set=data, epochs=1, emotion_names=data.emotion_names, progress=False,
                   crop_seconds=None, backbone_kwargs={"base_channels": 4})
    assert result.card.target_scaling["valence"]["mean"] == pytest.approx(np.mean(valence), rel=1e-6)
