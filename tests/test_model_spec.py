"""One model-spec parser for every command: zoo names, checkpoints, module:factory and file.py:factory mean
the same model from any working directory; near misses get a "did you mean"; explain and evaluate accept
the same specs."""

import os
import shutil
import sys

import numpy as np
import pytest

from mer_audiolime.cli import main
from mer_audiolime.exceptions import ModelError, ParameterError, WeightsError
from mer_audiolime.models.spec import describe_model, parse_model_spec, resolve_model

from conftest import RESOURCES

ANALYTIC = RESOURCES / "models" / "analytic_model.py"


def test_zoo_names_and_near_misses():
    parsed = parse_model_spec("a2mid2e_synth_clean")
    assert (parsed.kind, parsed.spec, parsed.name) == ("zoo", "a2mid2e_synth_clean", "a2mid2e_synth_clean")
    with pytest.raises(ParameterError, match="did you mean 'a2mid2e_synth_clean'"):
        parse_model_spec("a2mid2e_synth_clen")
    with pytest.raises(ParameterError, match="zoo models: .*a2mid2e_synth_biased"):
        parse_model_spec("resnet")  # nothing close: the zoo is listed instead
    with pytest.raises(ParameterError, match="'my_model.py:build'"):
        parse_model_spec("my_model.py")  # a file without its factory
    with pytest.raises(ParameterError, match="factory name after ':'"):
        parse_model_spec("my_model.py:")


def test_file_specs_become_absolute_and_mean_the_same_model_from_anywhere(tmp_path, monkeypatch):
    shutil.copy(ANALYTIC, tmp_path / "mymodel.py")
    monkeypatch.chdir(tmp_path)
    parsed = parse_model_spec("mymodel.py:build")
    assert parsed.kind == "file" and parsed.spec == f"{tmp_path / 'mymodel.py'}:build"
    assert parsed.name == "mymodel:build"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    again = parse_model_spec(parsed.spec)  # the stored spec resolves from another folder
    assert again.spec == parsed.spec
    x = np.random.default_rng(0).standard_normal((2, 1, 2205)).astype(np.float32)
    np.testing.assert_array_equal(resolve_model(parsed.spec).predictor(x), resolve_model(again).predictor(x))
    with pytest.raises(ModelError, match="does not exist"):
        parse_model_spec("mymodel.py:build")  # relative to the new working directory: not there


def test_module_that_does_not_import_suggests_the_file_form(tmp_path, monkeypatch):
    shutil.copy(ANALYTIC, tmp_path / "mymodel.py")
    monkeypatch.chdir(tmp_path)
    # as in the console script, the working directory is not on sys.path: a module name is not a file
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    with pytest.raises(ModelError, match=r"There is a file 'mymodel.py' here: write 'mymodel.py:build'"):
        resolve_model("mymodel:build")
    with pytest.raises(ModelError, match=r"write 'path/to/elsewhere.py:build'"):
        resolve_model("elsewhere:build")


def test_checkpoints_resolve_with_their_card_name(tmp_path, monkeypatch):
    from test_models_zoo import tiny_model_and_card

    from mer_audiolime.models.checkpoint import save_checkpoint

    model, card = tiny_model_and_card("deam_tiny")
    card.target_scaling = {"valence": {"mean": 5.0, "std": 2.0}}
    card.dataset = {"name": "deam", "variant": "default"}
    save_checkpoint(tmp_path / "runs" / "best.pt", model, card)
    monkeypatch.chdir(tmp_path)
    resolved = resolve_model("runs/best.pt")
    assert resolved.kind == "checkpoint" and resolved.spec == str(tmp_path / "runs" / "best.pt")
    assert resolved.name == "deam_tiny"  # the card's name, not "best"
    info = describe_model(resolved.predictor)
    assert info["target_scaling"]["valence"] == {"mean": 5.0, "std": 2.0}
    assert info["trained_on"] == {"dataset": "deam", "variant": "default"} and "deam" in info["domain"]
    with pytest.raises(WeightsError, match="does not exist"):
        parse_model_spec("runs/missing.pt")


def test_zoo_model_description_names_its_scale_and_domain():
    resolved = resolve_model("a2mid2e_synth_clean")
    info = describe_model(resolved.predictor)
    card = resolved.predictor.card
    assert info["target_scaling"]["valence"]["std"] == card.target_scaling["valence"]["std"]
    assert info["trained_on"]["dataset"] == "synthetic" and "synthetic audio" in info["domain"]


def test_explain_and_evaluate_parse_model_specs_in_one_place(tmp_path, monkeypatch, capsys):
    """Both commands hand --model to models.spec (a recording stand-in stops them right there)."""
    import mer_audiolime.models.spec as spec_module

    seen = []

    class Stop(Exception):
        pass

    def parse(spec):
        seen.append(spec)
        raise Stop

    monkeypatch.setattr(spec_module, "parse_model_spec", parse)
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"")  # never read: the model spec is parsed first
    for command in (["explain", str(wav), "--out", str(tmp_path / "x")],
                    ["evaluate", "--dataset", "synthetic", "--out", str(tmp_path / "y")]):
        with pytest.raises(Stop):
            main(command + ["--model", "mymodel.py:build", "--debug"])
    assert seen == ["mymodel.py:build", "mymodel.py:build"]


@pytest.mark.slow
def test_explain_and_evaluate_accept_the_same_specs(tmp_path, monkeypatch, capsys):
    """One tiny synthetic set; a zoo name, a relative file spec and a near miss, through both commands."""
    import soundfile as sf

    from mer_audiolime.datasets.synthetic import generate

    generate(tmp_path / "synth", n=3, seed=0, duration=2.0, variant="clean", n_jobs=1, progress=False)
    suite = tmp_path / "suite.toml"
    suite.write_text('name = "tiny"\n[tracks]\nsplit = "all"\nlimit = 1\n'
                     "[explain]\nsegments = 1\nnum_samples = 8\nseeds = [0]\n"
                     "[fidelity]\nrandom_orders = 10\nfaithfulness_subsets = 10\n")
    wav = tmp_path / "clip.wav"
    y = 0.1 * np.sin(2 * np.pi * 220 * np.arange(22050 * 2) / 22050)
    sf.write(wav, y.astype(np.float32), 22050)
    shutil.copy(ANALYTIC, tmp_path / "mymodel.py")
    monkeypatch.chdir(tmp_path)
    for spec, name in (("a2mid2e_synth_clean", "a2mid2e_synth_clean"), ("mymodel.py:build", "mymodel:build")):
        out = tmp_path / f"explain-{name.replace(':', '_')}"
        assert main(["explain", str(wav), "--model", spec, "--separator", "tf-grid", "--segments", "1",
                     "--n-bands", "2", "--num-samples", "8", "--out", str(out), "--no-progress"]) == 0
        import json

        settings = json.loads((out / "explanation.json").read_text())["settings"]
        assert settings["model"] == name and settings["model_spec"] == parse_model_spec(spec).spec
        run = tmp_path / f"eval-{name.replace(':', '_')}"
        assert main(["evaluate", "--model", spec, "--dataset", "synthetic", "--data-home", "synth",
                     "--variant", "clean", "--suite", str(suite), "--out", str(run), "--no-progress"]) == 0
        key = json.loads((run / "run.json").read_text())
        assert key["model"] == name and key["model_spec"] == parse_model_spec(spec).spec
        import pandas as pd

        assert set(pd.read_csv(run / "results.csv")["model"]) == {name}
    # the stored spec is absolute: the report re-explains a track from any working directory
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["report", str(tmp_path / "eval-mymodel_build"), "--tracks", "1", "--regenerate",
                 "--no-progress"]) == 0
    capsys.readouterr()
    for command in (["explain", str(wav), "--out", "x"],
                    ["evaluate", "--dataset", "synthetic", "--out", "y"]):
        assert main(command + ["--model", "a2mid2e_synth_clen"]) == 1
        assert "did you mean 'a2mid2e_synth_clean'" in capsys.readouterr().err


def test_debug_is_accepted_before_and_after_the_subcommand(capsys):
    for argv in (["--debug", "models", "info", "nope"], ["models", "info", "nope", "--debug"]):
        with pytest.raises(ModelError):  # --debug: the error propagates with its traceback
            main(argv)
    assert main(["models", "info", "nope"]) == 1  # without it: a message and exit code 1
    assert "Traceback" not in capsys.readouterr().err
    assert os.environ.get("MER_AUDIOLIME_DEBUG") is None


def test_as_predictor_resolves_specs_at_the_package_and_wraps_objects_in_predictor():
    """``models.as_predictor`` (defined in models.spec) takes a spec or an object; ``models.predictor``'s
    wraps objects only and points a spec string to the package's."""
    import numpy as np

    from mer_audiolime import models
    from mer_audiolime.exceptions import ModelError
    from mer_audiolime.models import predictor, spec

    assert models.as_predictor is spec.as_predictor
    fn = lambda x: x.mean(axis=(1, 2))[:, None]  # noqa: E731
    wrapped = models.as_predictor(fn, sample_rate=8000, output_names=["m"])
    assert wrapped(np.full((1, 1, 4), 2.0, np.float32)).tolist() == [[2.0]]
    assert models.as_predictor(wrapped) is wrapped is predictor.as_predictor(wrapped)
    by_name = models.as_predictor("a2mid2e_synth_clean")  # a zoo name, as resolve_model reads it
    assert by_name.output_names == resolve_model("a2mid2e_synth_clean").predictor.output_names
    assert by_name.sample_rate == 22050
    with pytest.raises(ModelError, match="models.as_predictor"):
        predictor.as_predictor("a2mid2e_synth_biased")
