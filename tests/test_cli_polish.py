"""Every subcommand: an example in --help, the shared option names, and exit codes 0 / 1 / 2 with the error
message and no traceback (unless --debug)."""

import argparse
import subprocess
import sys

import pytest

from mer_audiolime.cli import build_parser, main

from conftest import RESOURCES

MODEL = f"{RESOURCES / 'models' / 'analytic_model.py'}:build"


def _subparsers(parser, prefix=("mer-audiolime",)):
    """(command path, parser) for every subcommand at every depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = prefix + (name,)
                yield path, sub
                yield from _subparsers(sub, path)


ALL = list(_subparsers(build_parser()))
IDS = [" ".join(p[1:]) for p, _ in ALL]


def test_every_subsystem_is_registered():
    top = {p[1] for p, _ in ALL if len(p) == 2}
    assert {"explain", "datasets", "models", "train", "evaluate", "benchmark", "report"} <= top


@pytest.mark.parametrize("path,parser", ALL, ids=IDS)
def test_help_shows_a_runnable_example(path, parser):
    text = parser.format_help()
    assert "example" in text.lower(), f"{' '.join(path)} --help has no example"
    # the example is an invocation of this very subcommand
    assert " ".join(path) in text, f"{' '.join(path)} --help shows no '{' '.join(path)} ...' example line"


#: Shared concepts have one spelling; a synonym may only survive as an alias of the canonical option.
CANONICAL = {"--out": {"--output", "--outdir", "--out-dir", "--output-dir"},
             "--data-home": {"--data-dir", "--datadir", "--data", "--root"},
             "--seed": {"--random-seed", "--rng", "--random-state"},
             "--jobs": {"--n-jobs", "--workers", "--num-workers", "--njobs"},
             "--no-progress": {"--quiet", "--no-tqdm", "--silent", "--progress"},
             "--variant": {"--dataset-version"}}


@pytest.mark.parametrize("path,parser", ALL, ids=IDS)
def test_option_names_are_consistent(path, parser):
    for action in parser._actions:
        opts = set(action.option_strings)
        for canonical, synonyms in CANONICAL.items():
            if opts & synonyms:
                assert canonical in opts, f"{' '.join(path)}: {sorted(opts & synonyms)} without {canonical}"
        dataset_version = action.dest == "version" and not isinstance(action, argparse._VersionAction)
        if "--version" in opts and dataset_version:
            assert "--variant" in opts, f"{' '.join(path)}: a dataset --version must also be --variant"


def test_old_spellings_still_work(tmp_path):
    parser = build_parser()
    args = parser.parse_args(["datasets", "synth", "--out", str(tmp_path), "--quiet"])
    assert args.quiet is True
    base = ["evaluate", "--model", "m", "--dataset", "d", "--out", "o"]
    assert parser.parse_args(base + ["--version", "biased"]).version == "biased"
    assert parser.parse_args(base + ["--variant", "biased"]).version == "biased"


# -- exit codes -----------------------------------------------------------------------------------------

OK = [["models", "list"], ["datasets", "list"], ["datasets", "info", "deam"]]


@pytest.mark.parametrize("argv", OK, ids=[" ".join(a) for a in OK])
def test_success_exits_0(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip()


USAGE = [[], ["no-such-command"], ["explain"], ["explain", "a.wav"], ["evaluate", "--model", "m"],
         ["benchmark"], ["benchmark", "--out", "o", "--preset", "huge"], ["train", "--out", "o"],
         ["datasets"], ["datasets", "info"], ["datasets", "index", "deam"], ["datasets", "synth"],
         ["models"], ["models", "info"], ["report"], ["report", "f", "--tracks", "many"],
         ["explain", "a.wav", "--model", "m", "--out", "o", "--segments", "x"]]


@pytest.mark.parametrize("argv", USAGE, ids=[" ".join(a) or "<none>" for a in USAGE])
def test_usage_errors_exit_2(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    captured = capsys.readouterr()
    assert "usage:" in (captured.err + captured.out)
    assert "Traceback" not in captured.err


def _failures(tmp_path):
    tmp_path.joinpath("not_a_set").mkdir()
    tmp_path.joinpath("not_a_set", "x.txt").write_text("x")
    return {
        "explain": ["explain", str(tmp_path / "missing.wav"), "--model", MODEL, "--separator", "tf-grid",
                    "--out", str(tmp_path / "o")],
        "explain-model": ["explain", str(tmp_path / "missing.wav"), "--model", "no_such_pkg:factory",
                          "--out", str(tmp_path / "o")],
        "evaluate": ["evaluate", "--model", MODEL, "--dataset", "no_such_dataset",
                     "--out", str(tmp_path / "e")],
        "benchmark": ["benchmark", "--data-home", str(tmp_path / "not_a_set"), "--out", str(tmp_path / "b"),
                      "--no-progress"],
        "train": ["train", "--dataset", "no_such_dataset", "--out", str(tmp_path / "t")],
        "datasets info": ["datasets", "info", "no_such_dataset"],
        "datasets index": ["datasets", "index", "deam", "--data-home", str(tmp_path / "missing")],
        "datasets synth": ["datasets", "synth", "--out", str(tmp_path / "not_a_set"), "--n", "2",
                           "--no-progress"],
        "models info": ["models", "info", "no_such_model"],
        "report": ["report", str(tmp_path / "missing")],
    }


FAILING = ["explain", "explain-model", "evaluate", "benchmark", "train", "datasets info", "datasets index",
           "datasets synth", "models info", "report"]


@pytest.mark.parametrize("name", FAILING)
def test_failures_exit_1_with_message_and_no_traceback(name, tmp_path, capsys):
    argv = _failures(tmp_path)[name]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("mer-audiolime: error: ") and len(err.strip()) > 30
    assert "Traceback" not in err
    with pytest.raises(Exception):  # --debug re-raises, so the traceback is shown
        main(["--debug", *argv])


def test_unexpected_errors_exit_1_without_traceback(tmp_path, capsys):
    """A user's model raising a plain RuntimeError is still exit 1 with its message."""
    import numpy as np
    import soundfile as sf

    song = tmp_path / "short.wav"
    sf.write(song, (0.1 * np.sin(np.arange(22050) / 5.0)).astype(np.float32), 22050)
    model = f"{RESOURCES / 'models' / 'analytic_model.py'}:build_failing_on_short"
    argv = ["explain", str(song), "--model", model, "--separator", "tf-grid", "--out", str(tmp_path / "o"),
            "--no-progress"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: this model needs at least 2.5 s" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main(["--debug", *argv])


def test_real_process_exit_code(tmp_path):
    """The module entry point returns main()'s code to the shell (one process: start-up imports torch)."""
    proc = subprocess.run([sys.executable, "-m", "mer_audiolime.cli", "report", str(tmp_path / "missing")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
