"""`mer-audiolime explain`: runs end to end, writes its files, documents every option, maps errors to codes."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_audiolime.cli import build_parser, main

from conftest import RESOURCES

MODEL = f"{RESOURCES / 'models' / 'analytic_model.py'}:build"


@pytest.fixture
def song_with_stems(tmp_path, rng):
    sr = 22050
    t = np.arange(2 * sr) / sr
    stems = {"tone": 0.2 * np.sin(2 * np.pi * 330 * t), "noise": 0.05 * rng.standard_normal(t.size)}
    stem_dir = tmp_path / "stems"
    stem_dir.mkdir()
    for name, y in stems.items():
        sf.write(stem_dir / f"{name}.wav", y.astype(np.float32), sr, subtype="FLOAT")
    song = tmp_path / "song.wav"
    sf.write(song, (stems["tone"] + stems["noise"]).astype(np.float32), sr, subtype="FLOAT")
    return song, stem_dir


def test_explain_cli_with_oracle_stems(tmp_path, song_with_stems, capsys):
    song, stem_dir = song_with_stems
    out = tmp_path / "out"
    code = main(["explain", str(song), "--model", MODEL, "--stems", str(stem_dir), "--segments", "2",
                 "--num-samples", "50", "--seed", "3", "--top-k", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    frame = pd.read_csv(out / "attributions.csv")
    assert set(frame.component) == {"tone@t0", "tone@t1", "noise@t0", "noise@t1"}
    meta = json.loads((out / "explanation.json").read_text())
    assert meta["settings"]["seed"] == 3 and meta["settings"]["exhaustive"] is True
    assert (out / "midlevel_effects.csv").exists()
    wavs = sorted(p.name for p in (out / "audio" / "valence").glob("*.wav"))
    assert len(wavs) == 3 and wavs[-1] == "top2_sum.wav"
    assert "wrote" in capsys.readouterr().out


def test_explain_cli_estimator_and_enumeration(tmp_path, song_with_stems):
    """--estimator shapley writes exact Shapley values (2**4 <= N: enumerated; efficiency holds per target) and
    names the source of every row; --enumeration plain is recorded."""
    song, stem_dir = song_with_stems
    out = tmp_path / "out"
    assert main(["explain", str(song), "--model", MODEL, "--stems", str(stem_dir), "--segments", "2",
                 "--estimator", "shapley", "--enumeration", "plain", "--out", str(out), "--no-progress"]) == 0
    frame = pd.read_csv(out / "attributions.csv")
    assert set(frame.source) == {"shapley", "chain:shapley"}
    meta = json.loads((out / "explanation.json").read_text())
    assert meta["settings"]["source"] == "shapley" and meta["settings"]["enumeration"] == "plain"
    assert meta["sources"]["valence"] == "chain:shapley" and meta["sources"]["loudness"] == "shapley"
    preds = pd.read_csv(out / "predictions.csv", index_col="output")["prediction"]
    for target, grp in frame[frame.source == "shapley"].groupby("target"):
        # efficiency: the weights sum to f(all) - f(none), and intercept = f(none)
        assert grp.weight.sum() + grp.intercept.iloc[0] == pytest.approx(preds[target], abs=1e-9)


def test_explain_help_documents_every_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["explain"]
    text = sub.format_help()
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in text
        if action.option_strings and action.dest != "help":
            assert action.help and len(action.help) > 10, action.dest
    assert "examples:" in text


def test_errors_exit_1_without_traceback(tmp_path, capsys):
    code = main(["explain", str(tmp_path / "missing.wav"), "--model", MODEL, "--separator", "tf-grid",
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "no such audio file" in err and "Traceback" not in err


def test_usage_error_exits_2():
    proc = subprocess.run([sys.executable, "-m", "mer_audiolime.cli", "explain"], capture_output=True, text=True)
    assert proc.returncode == 2 and re.search(r"required: .*audio", proc.stderr)
