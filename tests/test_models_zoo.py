"""Checkpoints and the zoo: bit-exact round trips, sha256 verified before loading, offline errors."""

import json

import numpy as np
import pytest
import torch

from mer_audiolime.exceptions import ChecksumError, ModelError, WeightsError
from mer_audiolime.models import checkpoint, load_predictor, zoo
from mer_audiolime.models.checkpoint import ModelCard, load_checkpoint, save_checkpoint, sha256_file
from mer_audiolime.models.heads import build_model


def tiny_model_and_card(name="tiny"):
    model = build_model("cp_resnet", backbone_kwargs={"base_channels": 4}, seed=7)
    model.frontend.set_normalization(np.linspace(0, 1, 149), np.linspace(1, 2, 149))
    with torch.no_grad():  # make BN running stats non-trivial too
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
    card = ModelCard(name=name, architecture="cp_resnet", head="a2mid2e", sample_rate=22050, clip_seconds=1.0,
                     midlevel_names=model.midlevel_names, emotion_names=model.emotion_names,
                     backbone_kwargs={"base_channels": 4}, frontend_kwargs=model.frontend.config, seed=7)
    return model, card


@pytest.fixture
def isolated_zoo(monkeypatch, tmp_path):
    """Empty registry and a private TORCH_HOME so nothing outside tmp_path is read or written."""
    monkeypatch.setattr(zoo, "_REGISTRY", {})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path / "no_package_weights")
    return tmp_path


def publish(tmp_path, name="tiny"):
    model, card = tiny_model_and_card(name)
    src = tmp_path / "server" / f"{name}.pt"
    digest = save_checkpoint(src, model, card)
    entry = card.to_dict()
    entry["weights"] = {"uri": src.as_uri(), "sha256": digest, "filename": f"{name}.pt"}
    return model, entry, src


def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    model, card = tiny_model_and_card()
    path = tmp_path / "m.pt"
    digest = save_checkpoint(path, model, card)
    assert digest == sha256_file(path)
    loaded, loaded_card = load_checkpoint(path, sha256=digest)
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
    assert loaded_card.to_dict() == {**card.to_dict(), "weights": {}}
    x = torch.randn(2, 22050, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.eval()(x)["emotion"], loaded(x)["emotion"])


def test_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "mer_audiolime.checkpoint", "card": {}, "state_dict": {}, "x": ModelCard}, path)
    with pytest.raises(WeightsError, match="weights-only"):
        load_checkpoint(path)


def test_download_from_file_uri_verifies_and_caches(isolated_zoo):
    model, entry, _ = publish(isolated_zoo)
    zoo.register_model(entry)
    assert zoo.list_models() == ["tiny"]
    loaded = zoo.load_model("tiny")
    cached = isolated_zoo / "torch_home" / "hub" / "checkpoints" / "tiny.pt"
    assert cached.is_file()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    assert loaded.card.weights["sha256"] == entry["weights"]["sha256"]


def test_bad_checksum_is_rejected_before_torch_load(isolated_zoo, monkeypatch):
    _, entry, src = publish(isolated_zoo)
    zoo.register_model(entry)
    cached = isolated_zoo / "torch_home" / "hub" / "checkpoints" / "tiny.pt"
    cached.parent.mkdir(parents=True)
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    cached.write_bytes(bytes(data))

    def forbidden(*args, **kwargs):
        raise AssertionError("torch.load must not run on an unverified file")

    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(ChecksumError, match="nothing was loaded"):
        zoo.load_model("tiny")
    with pytest.raises(ChecksumError):
        load_checkpoint(cached, sha256=entry["weights"]["sha256"])


def test_tampered_download_is_discarded(isolated_zoo):
    _, entry, src = publish(isolated_zoo)
    entry["weights"]["sha256"] = "0" * 64
    zoo.register_model(entry)
    with pytest.raises(ChecksumError):
        zoo.load_model("tiny")
    folder = isolated_zoo / "torch_home" / "hub" / "checkpoints"
    assert not any(folder.iterdir())  # neither the file nor a partial download is left behind


def test_missing_weights_offline_says_where_to_put_them(isolated_zoo):
    _, entry, src = publish(isolated_zoo)
    src.unlink()  # the "server" is unreachable
    zoo.register_model(entry)
    target = isolated_zoo / "torch_home" / "hub" / "checkpoints" / "tiny.pt"
    with pytest.raises(WeightsError, match=str(target)):
        zoo.load_model("tiny")
    with pytest.raises(WeightsError, match="Put the file at"):
        zoo.load_model("tiny", download=False)


def test_weights_dir_is_searched_first(isolated_zoo):
    _, entry, src = publish(isolated_zoo)
    zoo.register_model(entry)
    assert zoo.resolve_weights("tiny", weights_dir=src.parent, download=False) == src


def test_zoo_names_are_module_factories(isolated_zoo):
    model, entry, _ = publish(isolated_zoo)
    zoo.register_model(entry)
    pred = load_predictor("mer_audiolime.models.zoo:tiny")
    assert pred.output_names == model.midlevel_names + model.emotion_names
    np.testing.assert_array_equal(pred.emotion_weights, model.head.emotion.weight.detach().double().numpy())
    with pytest.raises(ModelError):
        zoo.model_card("nope")


def test_registered_cards_are_complete_and_shipped_weights_verify():
    """Every shipped card names its builder, data, metrics and weights; shipped files match their sha256."""
    for name in zoo.list_models():
        card = zoo.model_card(name)
        for field in ("uri", "sha256", "filename"):
            assert card.weights.get(field), (name, field)
        assert card.sample_rate == 22050 and card.clip_seconds
        assert card.dataset.get("name") and card.metrics.get("test") and card.package_versions
        path = zoo.WEIGHTS_DIR / card.weights["filename"]
        if path.is_file():
            assert path.stat().st_size <= 5 * 1024 * 1024
            assert sha256_file(path) == card.weights["sha256"]
        on_disk = json.loads((zoo.CARDS_DIR / f"{name}.json").read_text())
        assert on_disk["name"] == name


def test_publish_checkpoint_writes_card_and_weights(isolated_zoo):
    model, card = tiny_model_and_card("run")
    save_checkpoint(isolated_zoo / "best.pt", model, card)
    published = zoo.publish_checkpoint(isolated_zoo / "best.pt", "shipped_tiny", description="test",
                                       weights_dir=isolated_zoo / "w", cards_dir=isolated_zoo / "c")
    on_disk = json.loads((isolated_zoo / "c" / "shipped_tiny.json").read_text())
    assert on_disk["weights"]["sha256"] == sha256_file(isolated_zoo / "w" / "shipped_tiny.pt")
    assert on_disk["weights"]["uri"].startswith("package://") and published.name == "shipped_tiny"
    loaded = zoo.load_model("shipped_tiny", weights_dir=isolated_zoo / "w", download=False)
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
