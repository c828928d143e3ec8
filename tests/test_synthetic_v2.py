"""synthetic-v2 data: the v1 files stay byte-identical, the cue audio and the task variants carry the truth
their documentation states (checked against hand-written tables and the rendered audio, not against the code
that writes them), and the learned-rule criterion behaves as the pre-registration says."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mer_audiolime.datasets import synthetic as syn
from mer_audiolime.datasets.synthetic import interventions as iv
from mer_audiolime.exceptions import ParameterError

SMALL = dict(n=8, seed=3, duration=3.0, sr=22050, n_jobs=1, progress=False)
#: Digest of the v1 files (tracks/, metadata_*.csv, relevance.csv) of generate(**SMALL without n_jobs and
#: progress), computed with the generator as published with synthetic-v1 (before the cue audio existed).
GOLDEN_V1_SMALL = ("44570115a550e8efce78dbe7a419dae41936635d145829ec4266885c1f0a9e9c", 55)
#: The same digest of the default set (V1_GENERATE), from the synthetic-v1 generator.
GOLDEN_V1_DEFAULT = ("e22ca64d082f7ff800fb6a9d69ae5919e2a9ee13cb84d5e879630b33fd546a05", 1303)
C = syn.SHORTCUT


def v1_digest(root: Path) -> tuple:
    """sha256 over (relative path, md5) of the v1 data files: audio, MIDI, v1 metadata, relevance."""
    root = Path(root)
    v1_meta = {f"metadata_{v}.csv" for v in syn.V1_VARIANTS}
    files = sorted(p for p in root.rglob("*") if p.is_file() and (
        (p.relative_to(root).parts[0] == "tracks" and "cues" not in p.relative_to(root).parts)
        or p.name in v1_meta or p.name == "relevance.csv"))
    h = hashlib.sha256()
    for p in files:
        md5 = hashlib.md5(p.read_bytes()).hexdigest().encode()
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + md5 + b"\n")
    return h.hexdigest(), len(files)


@pytest.fixture(scope="module")
def v1_home(tmp_path_factory):
    return syn.generate(tmp_path_factory.mktemp("v1") / "set", **SMALL)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return syn.generate(tmp_path_factory.mktemp("v2") / "set", cues=True, **SMALL)


def _files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- v1 stays byte-identical --------------------------------------------------------------------------------

def test_v1_files_are_those_of_the_published_generator(v1_home):
    assert v1_digest(v1_home) == GOLDEN_V1_SMALL


def test_cue_generation_writes_every_v1_file_byte_identically(v1_home, home):
    plain, cued = _files(v1_home), _files(home)
    assert set(plain) <= set(cued)
    assert [k for k in plain if plain[k] != cued[k]] == []  # settings.json and the v1 indexes included
    assert v1_digest(home) == GOLDEN_V1_SMALL


def test_same_seed_gives_byte_identical_cue_sets(home, tmp_path):
    again = syn.generate(tmp_path / "again", cues=True, **{**SMALL, "n_jobs": 2})
    a, b = _files(home), _files(again)
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []


def test_every_variant_has_a_valid_index(home):
    for variant in syn.ALL_VARIANTS:
        ds = syn.Dataset(data_home=home, version=variant)
        missing, invalid = ds.validate(verbose=False)
        assert all(not v for part in (missing, invalid) for v in part.values()), variant
    assert syn.Dataset(data_home=home, version="clean").truth()["role"].eq("shortcut").sum() == 0


def test_cues_need_all_variants(tmp_path):
    with pytest.raises(ParameterError, match="variant='both'"):
        syn.generate(tmp_path / "x", n=2, variant="clean", cues=True)


# --- the cue design -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def design():
    vocals, split = syn.assign_splits(200, seed=0)
    flags = syn.assign_cues(vocals, split, seed=0)
    flags["split"] = split
    return flags


def test_development_splits_balance_the_cues(design):
    for name in ("train", "validation"):
        part = design[design["split"] == name]
        for has_vocals, group in part.groupby("vocals"):
            assert group["motif"].sum() == round(len(group) * 0.5)  # motif independent of vocals
            share = 0.8 if has_vocals else 0.2
            assert group["distractor"].sum() == round(len(group) * share)
        voc = part[part["vocals"]]
        for _, group in voc.groupby("motif"):
            assert group["phrase"].sum() == round(len(group) * 0.5)
    assert not (design["phrase"] & ~design["vocals"]).any()


def test_test_split_is_the_evaluation_design(design):
    test = design[design["split"] == "test"]
    voc, rest = test[test["vocals"]], test[~test["vocals"]]
    assert len(voc) == 15 and voc[["motif", "phrase", "distractor"]].all().all()
    assert not rest[["phrase", "distractor"]].any().any()
    assert rest["motif"].sum() == round(len(rest) * 0.5)
    assert (test["distractor"] == test["vocals"]).all()  # perfectly confounded in the evaluated data


def test_cue_flags_are_deterministic_and_seeded():
    vocals, split = syn.assign_splits(40, seed=5)
    a = syn.assign_cues(vocals, split, seed=5)
    assert a.equals(syn.assign_cues(vocals, split, seed=5))
    assert not a.equals(syn.assign_cues(vocals, split, seed=6))


# --- the rules and their credit (hand-written tables) -------------------------------------------------------

#: Each variant's shortcut in valence units, written by hand (the OR and AND rules plant 2 x 0.6).
SIZE = {"clean": C, "biased": C, "clean_cues": C, "redundant": 2 * C, "interaction": 2 * C, "time_local": C,
        "confounded": C}


#: Whether each variant's rule fires, for flags (vocals, motif, phrase, distractor). Written by hand.
def _fires_by_hand(variant, v, m, p, d):
    return {"clean": False, "clean_cues": False, "biased": v, "confounded": v, "redundant": v or m,
            "interaction": v and m, "time_local": p}[variant]


@pytest.mark.parametrize("variant", syn.ALL_VARIANTS)
def test_rules_fire_as_documented(variant):
    for v, m, p, d in itertools.product((False, True), repeat=4):
        flags = {"vocals": v, "motif": m, "phrase": p, "distractor": d}
        assert syn.fires(variant, flags) == _fires_by_hand(variant, v, m, p, d), flags


def test_credit_is_the_shapley_split_of_the_rule():
    both = {"vocals": True, "motif": True, "phrase": True, "distractor": True}
    only_motif = {"vocals": False, "motif": True, "phrase": False, "distractor": False}
    kw = dict(track_id="t", duration=10.0, shortcut=C, in_labels=False)

    def credit(variant, flags):
        return {(r["stem"], r["start"], r["end"], r["role"]): r["credit"]
                for r in syn.credit_rows(variant, flags, **kw)}

    assert credit("redundant", both) == {("vocals", 0.0, 10.0, "shortcut"): C / 2,
                                         ("piano", 0.0, 10.0, "shortcut"): C / 2}
    assert credit("redundant", only_motif) == {("piano", 0.0, 10.0, "shortcut"): C}
    assert credit("interaction", both) == {("vocals", 0.0, 10.0, "shortcut"): C / 2,
                                           ("piano", 0.0, 10.0, "shortcut"): C / 2}
    assert credit("interaction", only_motif) == {("piano", 0.0, 10.0, "shortcut"): 0.0}
    assert credit("time_local", both) == {("vocals", 7.5, 10.0, "shortcut"): C}
    assert credit("confounded", both) == {("vocals", 0.0, 10.0, "shortcut"): C,
                                          ("other", 0.0, 10.0, "distractor"): 0.0}
    assert credit("biased", both) == {("vocals", 0.0, 10.0, "shortcut"): C}
    assert credit("clean_cues", both) == {}


@pytest.mark.parametrize("variant", syn.ALL_VARIANTS)
def test_truth_files_match_the_flags_and_the_tracks(home, variant):
    ds = syn.Dataset(data_home=home, version=variant)
    written = pd.read_csv(home / f"truth_{variant}.csv", dtype={"track_id": str})
    assert list(written.columns) == list(syn.TRUTH_COLUMNS)
    assert written.equals(ds.truth())
    per_track = pd.concat([ds.track(t).truth for t in ds.track_ids], ignore_index=True)
    pd.testing.assert_frame_equal(per_track.reset_index(drop=True), written, check_dtype=False)
    flags = json.loads((home / "cues.json").read_text())["flags"]
    for tid, f in flags.items():
        rows = written[(written["track_id"] == tid) & (written["role"] == "shortcut")]
        fired = _fires_by_hand(variant, f["vocals"], f["motif"], f["phrase"], f["distractor"])
        assert rows["credit"].sum() == pytest.approx(SIZE[variant] if fired else 0.0, abs=1e-12)
        split = ds.track(tid).split
        assert rows["in_labels"].all() == (fired and split != "test") or rows.empty


@pytest.mark.parametrize("variant", syn.CUE_VARIANTS)
def test_labels_add_the_shortcut_only_where_the_rule_fires_in_development(home, variant):
    clean = pd.read_csv(home / "metadata_clean.csv")
    meta = pd.read_csv(home / f"metadata_{variant}.csv")
    flags = json.loads((home / "cues.json").read_text())["flags"]
    cues = ("vocals", "motif", "phrase", "distractor")
    expected = [SIZE[variant] if (_fires_by_hand(variant, *(flags[t][k] for k in cues)) and s != "test")
                else 0.0 for t, s in zip(meta["track_id"], meta["split"])]
    np.testing.assert_allclose(meta["valence"] - clean["valence"], expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(meta["shortcut"], expected, rtol=0, atol=0)
    same = [c for c in clean.columns if c not in ("valence", "shortcut", "gain")]
    pd.testing.assert_frame_equal(meta[same], clean[same])  # mid-level and arousal: ornaments are outside
    for cue in syn.ORNAMENT_CUES:
        assert meta[cue].tolist() == [flags[t][cue] for t in meta["track_id"]]


def test_relevance_names_the_cue_stems_of_a_fired_label(home):
    ds = syn.Dataset(data_home=home, version="redundant")
    for tid in ds.track_ids:
        track = ds.track(tid)
        row = track.relevance.loc["valence"]
        if track.split != "test" and track.cues["vocals"]:
            assert row["vocals"]
        elif track.cues["vocals"]:
            assert not row["vocals"]  # the test labels carry no shortcut


# --- the cue audio ------------------------------------------------------------------------------------------

def test_cue_audio_is_exact_and_the_ornaments_sound_where_documented(home):
    ds = syn.Dataset(data_home=home, version="time_local")
    sr, duration = SMALL["sr"], SMALL["duration"]
    start = int(round(0.75 * duration * sr))
    seen = set()
    for tid in ds.track_ids:
        track = ds.track(tid)
        mix, _ = track.audio
        stems = track.stems
        assert np.array_equal(sum(stems.values()), mix)  # 16-bit integers: exact
        nocue = track.nocue_stems
        for cue in syn.ORNAMENT_CUES:
            stem = syn.CUE_STEMS[cue]
            if not track.cues[cue]:
                continue
            seen.add(cue)
            ornament = stems[stem] - nocue[stem]
            if cue == "phrase":
                assert not ornament[:, :start].any() and ornament[:, start:].any()
            else:
                quarter = mix.shape[1] // 4
                assert ornament[:, :quarter].any() and ornament[:, -quarter:].any()
    assert seen == set(syn.ORNAMENT_CUES)


def test_removing_every_ornament_gives_back_the_v1_clip(home):
    cues = syn.Dataset(data_home=home, version="clean_cues")
    base = syn.Dataset(data_home=home, version="clean")
    cue_gain = json.loads((home / "cues.json").read_text())["gains"]
    base_gain = pd.read_csv(home / "metadata_clean.csv").set_index("track_id")["gain"]
    for tid in cues.track_ids:
        track = cues.track(tid)
        if cue_gain[tid] != base_gain[tid]:
            continue  # re-quantised at another gain: not bit-comparable
        mix, _ = track.audio
        stems, nocue = track.stems, track.nocue_stems
        stripped = mix - sum(stems[s] - nocue[s] for s in nocue)
        assert np.array_equal(stripped, base.track(tid).audio[0])


def test_versions_remove_exactly_one_cue(home):
    ds = syn.Dataset(data_home=home, version="redundant")
    track = next(ds.track(t) for t in ds.track_ids if all(ds.track(t).cues.values()))
    v = iv.cue_versions(track)
    assert set(v) == {"full", "-vocals", "-motif", "-phrase", "-distractor", "-vocals-motif"}
    stems, nocue = track.stems, track.nocue_stems
    assert np.array_equal(v["full"] - v["-vocals"], stems["vocals"])
    assert np.array_equal(v["full"] - v["-motif"], stems["piano"] - nocue["piano"])
    assert np.array_equal(v["-vocals"] - v["-vocals-motif"], stems["piano"] - nocue["piano"])


def test_render_clip_is_what_the_generator_writes(home):
    flags = json.loads((home / "cues.json").read_text())["flags"]
    tid = next(t for t, f in flags.items() if f["motif"])
    i = int(tid[len("synth"):])
    clip = syn.render_clip(i, vocals=flags[tid]["vocals"], seed=SMALL["seed"], duration=SMALL["duration"],
                           sr=SMALL["sr"], cue_flags=flags[tid])
    track = syn.Dataset(data_home=home, version="redundant").track(tid)
    assert np.array_equal(clip["cue_mix"] / 32768.0, track.audio[0][0])
    assert np.array_equal(clip["nocue_pcm"]["piano"] / 32768.0, track.nocue_stems["piano"][0])


# --- the learned-rule criterion (hand-made model outputs) ---------------------------------------------------

TAU, DELTA = 0.3, 0.1


def _table(g11, g10, g01, g00, **extra):
    return {"full": g11, "-motif": g10, "-vocals": g01, "-vocals-motif": g00, **extra}


@pytest.mark.parametrize("variant,outputs,passed", [
    ("redundant", _table(0.6, 0.6, 0.6, 0.0), True),        # OR
    ("redundant", _table(0.6, 0.3, 0.3, 0.0), False),       # additive halves: removing one cue costs 0.3
    ("redundant", _table(0.6, 0.0, 0.6, 0.0), False),       # motif only: the vocals alone do nothing
    ("interaction", _table(0.6, 0.0, 0.0, 0.0), True),      # AND
    ("interaction", _table(0.6, 0.3, 0.3, 0.0), False),     # additive halves: each alone adds 0.3
    ("interaction", _table(0.2, 0.0, 0.0, 0.0), False),     # too small
    ("biased", {"full": 0.5, "-vocals": 0.1}, True),
    ("biased", {"full": 0.5, "-vocals": 0.25}, False),
    ("confounded", {"full": 0.5, "-vocals": 0.0, "-distractor": 0.45}, True),
    ("confounded", {"full": 0.5, "-vocals": 0.0, "-distractor": 0.35}, False),  # the distractor matters
    ("time_local", {"full": 0.6, "-phrase": 0.1, "-vocals": 0.05}, True),
    ("time_local", {"full": 0.6, "-phrase": 0.35, "-vocals": 0.0}, False),      # the rest of the vocals too
    ("clean_cues", {"full": 0.1, "-vocals": 0.0, "-motif": 0.2, "-phrase": 0.1}, True),
    ("clean_cues", {"full": 0.1, "-vocals": 0.0, "-motif": 0.5}, False),
    ("clean", {"full": 0.1, "-vocals": -0.25}, False),
])
def test_rule_check_follows_the_preregistered_criterion(variant, outputs, passed):
    assert iv.rule_check(variant, outputs, tau=TAU, delta=DELTA)["passed"] is passed


def test_rule_check_needs_the_versions_of_a_scored_clip():
    with pytest.raises(ParameterError, match="needs the versions"):
        iv.rule_check("redundant", {"full": 0.0, "-vocals": 0.0}, tau=TAU, delta=DELTA)


def test_learned_rule_frame_scores_an_analytic_model(home):
    """A model that is exactly the OR rule on the vocal stem's and the motif's energy passes every clip."""
    ds = syn.Dataset(data_home=home, version="redundant")
    tracks = [ds.track(t) for t in ds.track_ids]
    scored = [t for t in tracks if t.cues["vocals"] and t.cues["motif"]]
    assert scored, "the small set has no clip with both cues"

    def model_for(track):
        stems, nocue = track.stems, track.nocue_stems
        v = stems["vocals"][0]
        o = (stems["piano"] - nocue["piano"])[0]

        def predict(batch):  # projections onto the two cues: 1 when the cue is in the clip, 0 when removed
            x = batch[:, 0, :].astype(np.float64) - track.audio[0][0] + v + o
            has_v = (x @ v) / (v @ v) > 0.5
            has_o = (x @ o) / (o @ o) > 0.5
            return SIZE["redundant"] * (has_v | has_o)

        return predict

    for track in scored:
        frame = iv.learned_rule_frame([track], model_for(track), variant="redundant")
        assert frame["passed"].tolist() == [True]
        assert frame["effect_both"].iloc[0] == pytest.approx(SIZE["redundant"])
        frame = iv.learned_rule_frame([track], model_for(track), variant="interaction")
        assert frame["passed"].tolist() == [False]


def test_thresholds_scale_with_the_shortcut():
    assert iv.thresholds(0.6) == pytest.approx({"tau": 0.3, "delta": 0.1})
    for variant, size in SIZE.items():
        assert syn.task(variant).shortcut() == pytest.approx(size)
        assert iv.task_thresholds(variant) == pytest.approx({"tau": size / 2, "delta": size / 6})


@pytest.mark.slow
def test_default_v2_set_holds_the_published_v1_files(synthetic_v2_home):
    assert v1_digest(synthetic_v2_home) == GOLDEN_V1_DEFAULT
    flags = json.loads((synthetic_v2_home / "cues.json").read_text())["flags"]
    test = syn.Dataset(data_home=synthetic_v2_home, version="clean_cues")
    scored = [t for t in test.track_ids if test.track(t).split == "test" and flags[t]["vocals"]]
    assert len(scored) == 15 and all(all(flags[t].values()) for t in scored)


def test_cli_writes_the_cue_variants(tmp_path, capsys):
    from mer_audiolime.cli import main

    out = tmp_path / "cli"
    code = main(["datasets", "synth", "--out", str(out), "--n", "3", "--duration", "2", "--jobs", "1",
                 "--cues", "--quiet"])
    assert code == 0 and "index check: ok" in capsys.readouterr().out
    for variant in syn.ALL_VARIANTS:
        assert len(syn.Dataset(data_home=out, version=variant).track_ids) == 3


# --- read-only truth helpers for the scorer -----------------------------------------------------------------

def test_truth_components_follow_the_segmentation(home):
    from mer_audiolime.evaluation.truths import truth_components

    truth = syn.Dataset(data_home=home, version="time_local").truth()
    d, sr = SMALL["duration"], SMALL["sr"]
    for segments, expected in ((1, {"vocals"}), (2, {"vocals@t1"}), (4, {"vocals@t3"})):
        comps = truth_components(truth, segments=segments, duration=d, sr=sr)
        assert set(comps["component"]) == expected
        assert comps.groupby("track_id")["credit"].sum().tolist() == pytest.approx(
            truth.groupby("track_id")["credit"].sum().tolist())
    whole = syn.Dataset(data_home=home, version="redundant").truth()
    comps = truth_components(whole, segments=2, duration=d, sr=sr)
    per_clip = comps.groupby(["track_id", "stem"])["credit"].sum()
    assert per_clip.tolist() == pytest.approx(whole.groupby(["track_id", "stem"])["credit"].sum().tolist())


def test_scored_clips_and_task_models_come_from_the_suite(home):
    from mer_audiolime.evaluation.suites import load_suite
    from mer_audiolime.evaluation.truths import scored_track_ids, task_models

    suite = load_suite("synthetic_v2")
    ds = syn.Dataset(data_home=home, version="redundant")
    ids = scored_track_ids(ds, suite, "redundant")
    assert ids == [t for t in ds.track_ids if ds.track(t).split == "test" and ds.track(t).cues["vocals"]
                   and ds.track(t).cues["motif"]]
    models = task_models(suite, "shortcut")
    assert len(models["task"]) == len(models["control"]) == 6
    assert all("_biased_" in n for n in models["task"]) and all("_clean_s" in n for n in models["control"])
