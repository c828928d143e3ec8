"""docs/tutorials/pmemo_deam_bias.py — the SMC-2021 bias study on real data — runs end to end on the DEAM and
PMEmo fixtures (with their real-format quirks) with a model trained here for one epoch and the tf-grid
components: the wiring is tested, the numbers mean nothing on six 1-s songs."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_audiolime import datasets
from mer_audiolime.datasets import MetadataWarning

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docs" / "tutorials" / "pmemo_deam_bias.py"
RESOURCES = REPO / "tests" / "resources"
MIDLEVEL = ["melodiousness", "articulation", "rhythm_complexity", "rhythm_stability", "dissonance",
            "tonal_stability", "minorness"]


@pytest.fixture(autouse=True)
def _no_user_index_dir(monkeypatch):
    monkeypatch.delenv("MER_AUDIOLIME_INDEX_DIR", raising=False)


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    root = tmp_path_factory.mktemp("bias_recipe")
    out = {}
    for name in ("deam", "pmemo"):
        out[name] = root / name
        shutil.copytree(RESOURCES / name, out[name])
        datasets.build_index(name, out[name], progress=False)
    # genre tags for PMEmo (the paper used an auto-tagger; PMEmo ships none): spellings vary on purpose
    out["genres"] = root / "pmemo_genres.csv"
    out["genres"].write_text("musicId,tags\n1,Hip-Hop\n4,pop;rock\n7,hip hop|R&B\n")
    return out


def _run(homes, tmp_path, *extra, quiet=True):
    argv = ["--deam-home", str(homes["deam"]), "--pmemo-home", str(homes["pmemo"]), "--separator", "tf-grid",
            "--num-samples", "16", "--epochs", "1", "--width", "4", "--clip-seconds", "1",
            "--crop-seconds", "0", "--min-size", "1", "--quantiles", "2", "--out", str(tmp_path / "out"),
            *extra]
    main = runpy.run_path(str(SCRIPT), run_name="recipe")["main"]
    if not quiet:
        return main(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)  # the deam fixture's shifted 2015 row (tested below)
        return main(argv)


def test_recipe_runs_the_three_steps_on_the_fixtures(homes, tmp_path):
    with pytest.warns(MetadataWarning, match="metadata_2015.csv line 3"):
        res = _run(homes, tmp_path, "--pmemo-genres", str(homes["genres"]), "--pmemo-split", "all",
                   "--deam-holdout", "0.5", quiet=False)
    out, splits = res["out"], res["splits"]
    # the split: DEAM train / held out partition DEAM's songs; a DEAM-only model is tested on all of PMEmo
    assert sorted(splits["deam"]["train"] + splits["deam"]["held_out"], key=int) == \
        datasets.load("deam", data_home=homes["deam"]).track_ids
    assert splits["pmemo"] == {"train": [], "test": ["1", "4", "7"]}
    # genres of DEAM come from its metadata files, ragged rows and all (the shifted 2015 row has none)
    genres = res["deam_genres"].set_index("track_id")
    assert genres.loc["3", "group"] == "Hip-Hop" and genres.loc["1001", "group"] == "Hip-Hop"
    assert genres.loc["1001", "genres"] == "Hip-Hop|Electronic" and genres.loc["1002", "group"] == "other"
    assert genres.loc["2002", "group"] == "unknown"
    assert res["composition"]["songs"].sum() == len(splits["deam"]["train"])

    pm = res["results"]["pmemo"]
    clips = pm["tables"]["clips"].set_index("track_id")
    assert clips["group"].to_dict() == {"1": "Hip-Hop", "4": "other", "7": "Hip-Hop"}
    # truths are PMEmo's 0-1 ratings, already on the unit scale; errors are prediction - truth
    assert clips.loc["7", "truth"] == pytest.approx(0.6)
    np.testing.assert_allclose(clips["error"], clips["prediction"] - clips["truth"])
    # step 2: the seven mid-level effects of every song add up to its valence output (W m, bias-free head)
    assert set(pm["tables"]["effects"]["feature"]) == set(MIDLEVEL)
    assert set(pm["tables"]["effect_profile"]["feature"]) == set(MIDLEVEL)
    # step 3: stem attributions per song, top-stem counts per subgroup
    assert pm["tables"]["stems"].groupby("track_id").size().nunique() == 1
    assert {"top_count", "top_share", "q_value"} <= set(pm["tables"]["top_stems"].columns)
    assert set(pm["tables"]["error"]["subgroup"]) == {"Hip-Hop", "other"}
    for name in ("clips", "effects", "stems", "error", "error_share", "effect_profile", "top_stems"):
        assert (out / "pmemo_test" / f"{name}.csv").is_file(), name
    assert list((out / "pmemo_test" / "listen").glob("*/mix.wav"))

    dm = res["results"]["deam"]
    truth = dm["tables"]["clips"].set_index("track_id")["truth"]
    ratings = {t: datasets.load("deam", data_home=homes["deam"]).track(t).valence for t in truth.index}
    np.testing.assert_allclose(truth, [(ratings[t] - 1) / 8 for t in truth.index])  # DEAM 1-9 -> [0, 1]

    settings = json.loads((out / "settings.json").read_text())
    assert settings["pmemo_split"] == "all" and settings["seed"] == 0
    assert settings["coverage"]["deam"] == {**settings["coverage"]["deam"], "found": 6, "published": 1802}
    assert (out / "model" / "best.pt").is_file()


def test_effects_add_up_to_the_valence_output(homes, tmp_path):
    res = _run(homes, tmp_path, "--pmemo-genres", str(homes["genres"]), "--pmemo-split", "all",
               "--no-deam-control")
    tables = res["results"]["pmemo"]["tables"]
    total = tables["effects"].groupby("track_id")["effect"].sum()
    from mer_audiolime.models.checkpoint import load_checkpoint

    _, card = load_checkpoint(res["out"] / "model" / "best.pt")
    s = card.target_scaling["valence"]
    clips = tables["clips"].set_index("track_id")
    np.testing.assert_allclose(total.loc[clips.index] * s["std"] + s["mean"], clips["prediction"], atol=1e-5)
    assert "deam" not in res["results"]


def test_paper_split_holds_out_single_artist_songs(homes, tmp_path):
    res = _run(homes, tmp_path, "--pmemo-test-size", "1", "--train-on", "deam+pmemo", "--no-deam-control")
    pmemo = datasets.load("pmemo", data_home=homes["pmemo"])
    test, train = res["splits"]["pmemo"]["test"], res["splits"]["pmemo"]["train"]
    assert test == ["1"] and train == ["4", "7"]  # "Solo Singer" is the fixture's only one-song artist
    test_artists = {pmemo.track(t).artist for t in test}
    assert not test_artists & {pmemo.track(t).artist for t in train}
    assert res["settings"]["train_on"] == "deam+pmemo" and "pmemo" not in res["results"]  # no genre file


def test_genre_tags_file_needs_id_and_genre_columns(tmp_path):
    recipe = runpy.run_path(str(SCRIPT), run_name="recipe")
    bad = tmp_path / "g.csv"
    bad.write_text("song,label\n1,rock\n")
    with pytest.raises(ValueError, match="needs an id column"):
        recipe["read_genre_tags"](bad)
    good = tmp_path / "h.csv"
    pd.DataFrame({"song_ids": ["12.0", "3"], "genre": ["Hip Hop, Soul", ""]}).to_csv(good, index=False)
    tags = recipe["read_genre_tags"](good)
    assert tags == {"12": ["Hip Hop", "Soul"], "3": []}
    assert recipe["group_of_tags"](tags["12"], "Hip-Hop") == "Hip-Hop"
    assert recipe["group_of_tags"](tags["3"], "Hip-Hop") == "unknown"


def test_recipe_has_a_tutorial_page_and_help():
    page = REPO / "docs" / "tutorials" / "pmemo_deam_bias.md"
    assert '--8<-- "docs/tutorials/pmemo_deam_bias.py"' in page.read_text(encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=False,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "--pmemo-genres" in out.stdout and "--deam-home" in out.stdout
