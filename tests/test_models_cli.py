"""``mer-audiolime models list|info`` and ``mer-audiolime train`` end to end (tiny, offline)."""

import json
from pathlib import Path

import pytest

from mer_audiolime.cli import main
from mer_audiolime.models import zoo
from mer_audiolime.models.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from mer_audiolime.models.heads import build_model

TOY = str(Path(__file__).resolve().parent / "models_toy.py") + ":toy"


@pytest.fixture
def one_model_zoo(monkeypatch, tmp_path):
    monkeypatch.setattr(zoo, "_REGISTRY", {})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "pkg")
    model = build_model(backbone_kwargs={"base_channels": 4})
    card = ModelCard(name="tiny", architecture="cp_resnet", head="a2mid2e", clip_seconds=1.0,
                     midlevel_names=model.midlevel_names, emotion_names=model.emotion_names,
                     backbone_kwargs={"base_channels": 4}, dataset={"name": "toy"})
    digest = save_checkpoint(tmp_path / "pkg" / "tiny.pt", model, card)
    entry = card.to_dict()
    entry["weights"] = {"uri": "https://example.invalid/tiny.pt", "sha256": digest, "filename": "tiny.pt"}
    zoo.register_model(entry)
    return tmp_path


def test_models_list_and_info(one_model_zoo, capsys):
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["tiny"] and rows[0]["weights"].endswith("tiny.pt")
    assert main(["models", "info", "tiny", "--check", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["check"]["weights"].startswith("sha256 ok") and card["architecture"] == "cp_resnet"
    assert main(["models", "info", "nope"]) == 1
    assert "no model named 'nope'" in capsys.readouterr().err


def test_models_info_reports_checksum_failure(one_model_zoo, capsys):
    path = one_model_zoo / "pkg" / "tiny.pt"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert main(["models", "info", "tiny", "--check"]) == 1
    assert "sha256" in capsys.readouterr().err


def test_train_command_writes_checkpoint_card_and_history(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", TOY, "--model", "cp_resnet", "--width", "4", "--epochs", "2",
                 "--batch-size", "8", "--threads", "1", "--valid-split", "valid", "--out", str(out),
                 "--no-progress", "--name", "toy_run"])
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert card["name"] == "toy_run" and card["emotion_names"] == ["valence", "arousal"]
    assert set(card["metrics"]) == {"valid", "test"}
    model, stored = load_checkpoint(out / "best.pt")
    assert stored.metrics["test"].keys() == card["metrics"]["test"].keys()
    assert (out / "history.csv").read_text().startswith("epoch,train_loss,valid_loss")
    assert "trained toy_run" in capsys.readouterr().out


def test_train_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "Examples:" in capsys.readouterr().out


def test_train_rejects_bad_dataset_spec(tmp_path, capsys):
    assert main(["train", "--dataset", "nowhere.py:make", "--out", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_train_on_the_registered_synthetic_loader(tmp_path, capsys):
    synthetic = pytest.importorskip("mer_audiolime.datasets.synthetic")
    home = tmp_path / "synth"
    synthetic.generate(home, n=10, seed=0, duration=2.0, n_jobs=1, progress=False)
    out = tmp_path / "run"
    code = main(["train", "--dataset", "synthetic", "--data-home", str(home), "--variant", "biased",
                 "--head", "a2e", "--width", "4", "--epochs", "1", "--batch-size", "4", "--threads", "1",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert card["name"] == "a2e_cp_resnet_synthetic_biased" and card["head"] == "a2e"
    assert card["dataset"]["index_version"] == "biased" and card["emotion_names"] == ["valence", "arousal"]
    _, splits = synthetic.assign_splits(10, seed=0)
    assert card["dataset"]["n_train"] == splits.count("train")
    assert card["dataset"]["n_valid"] == splits.count("validation")
    assert set(card["metrics"]) == {"valid", "test"}


def test_train_choices_are_the_registries():
    # the CLI reads its --model/--head choices from torch-free names; they must be the registries' keys
    import argparse

    from mer_audiolime.models import _cli
    from mer_audiolime.models.architectures import ARCHITECTURES
    from mer_audiolime.models.heads import HEADS
    from mer_audiolime.models.train_config import ARCHITECTURE_NAMES, HEAD_NAMES

    assert ARCHITECTURE_NAMES == tuple(ARCHITECTURES)
    assert HEAD_NAMES == tuple(HEADS)
    parser = argparse.ArgumentParser()
    _cli.register(parser.add_subparsers(dest="command"))
    train = parser._subparsers._group_actions[0].choices["train"]
    choices = {a.dest: a.choices for a in train._actions if a.dest in ("model", "head")}
    assert choices == {"model": ARCHITECTURE_NAMES, "head": HEAD_NAMES}
