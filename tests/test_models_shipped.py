"""The shipped zoo models load offline and reproduce their documented metrics on the synthetic test split."""

import pytest

from mer_audiolime.models import zoo


def shipped():
    return [n for n in zoo.list_models() if zoo.model_card(n).dataset.get("name") == "synthetic"]


@pytest.mark.parametrize("name", shipped())
def test_shipped_model_loads_offline_as_a_predictor(name):
    card = zoo.model_card(name)
    assert card.weights["uri"].startswith("package://")
    path = zoo.resolve_weights(name, download=False)
    assert path.parent == zoo.WEIGHTS_DIR and path.stat().st_size <= 5 * 1024 * 1024
    pred = zoo.pretrained_predictor(name, download=False)
    assert pred.output_names == card.midlevel_names + card.emotion_names
    if card.head == "a2mid2e":
        assert pred.emotion_weights.shape == (len(card.emotion_names), 7)


@pytest.fixture(scope="module")
def synthetic_home(synthetic_v2_home):
    """The v2 set holds the v1 files byte-identically, so it serves the models of both versions."""
    from mer_audiolime.datasets import synthetic

    for card in (zoo.model_card(n) for n in shipped()):
        generated = {k: v for k, v in card.dataset["generate"].items() if k != "cues"}
        assert generated == {k: v for k, v in synthetic.V2_GENERATE.items() if k != "cues"}, card.name
    return synthetic_v2_home


@pytest.mark.slow
@pytest.mark.parametrize("name", shipped())
def test_shipped_model_reproduces_documented_test_metrics(name, synthetic_home):
    from mer_audiolime.datasets.torch_data import split_dataset
    from mer_audiolime.models.training import evaluate

    card = zoo.model_card(name)
    test = split_dataset("synthetic", data_home=synthetic_home, split="test",
                         variant=card.dataset["variant"])
    frame = evaluate(zoo.load_model(name, download=False), test, num_threads=2)
    for row in frame.itertuples():
        documented = card.metrics["test"][row.target]
        assert row.r2 == pytest.approx(documented["r2"], abs=1e-3), row.target
        assert row.pearson_r == pytest.approx(documented["pearson_r"], abs=1e-3), row.target


_MEASURED = ("best_epoch", "epochs_run", "train_seconds", "candidate", "selection")


@pytest.mark.parametrize("name", shipped())
def test_ship_recipe_resolves_to_the_settings_recorded_in_the_cards(name):
    # the recipes are written as changes to the TrainConfig defaults; the cards recorded the full settings
    # each model was trained with, so a changed default would show here
    from dataclasses import asdict

    from mer_audiolime.models import ship
    from mer_audiolime.models.train_config import TrainConfig

    card = zoo.model_card(name)
    recorded = {k: v for k, v in card.training.items() if k not in _MEASURED}
    # models trained before heads took options have no head_kwargs entry: they have the linear head ({})
    recorded.setdefault("head_kwargs", {})
    assert recorded["head_kwargs"] == card.head_kwargs
    if name in ship.SHIPPED:
        resolved = TrainConfig(head=ship.SHIPPED[name][1], **ship.RECIPE)
    else:
        variant = card.dataset["variant"]
        candidate = ship.V2_SELECTED[ship.V2_SELECTED_BY[variant]]["chosen"]
        label = name.split("_synth_v2_")[0]
        assert name == ship.v2_name(variant, label, card.seed)
        head = ship.V2_HEADS[label]
        resolved = TrainConfig(seed=card.seed, **{"head": head["head"], "head_kwargs": dict(head["head_kwargs"]),
                                                  **ship.V2_RECIPE, **ship.V2_CANDIDATES[candidate]})
    assert asdict(resolved) == recorded
