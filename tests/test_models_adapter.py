"""The zoo models as Predictors: declared names, the emotion weight matrix, and the chain identity."""

import numpy as np
import pytest
import torch

from mer_audiolime.exceptions import ModelError
from mer_audiolime.models import as_predictor, predict_batched
from mer_audiolime.models.heads import MIDLEVEL_NAMES, build_model, to_predictor


@pytest.fixture(scope="module")
def a2mid2e():
    return build_model("cp_resnet", backbone_kwargs={"base_channels": 4}, emotion_names=["valence", "arousal",
                                                                                        "tension"], seed=1)


def test_a2mid2e_predictor_declares_the_linear_head(a2mid2e):
    pred = to_predictor(a2mid2e)
    assert pred.sample_rate == 22050 and pred.channels == 1
    assert pred.output_names == list(MIDLEVEL_NAMES) + ["valence", "arousal", "tension"]
    assert pred.midlevel_names == list(MIDLEVEL_NAMES)
    assert pred.emotion_names == ["valence", "arousal", "tension"]
    np.testing.assert_array_equal(pred.emotion_weights, a2mid2e.head.emotion.weight.detach().double().numpy())
    assert pred.emotion_weights.shape == (3, 7)


def test_predictor_outputs_follow_the_chain(a2mid2e):
    pred = to_predictor(a2mid2e)
    x = np.random.default_rng(0).standard_normal((3, 1, 22050)).astype(np.float32) * 0.1
    out = predict_batched(pred, x, batch_size=2)
    assert out.shape == (3, 10)
    mid, emo = out[:, :7], out[:, 7:]
    np.testing.assert_allclose(emo, mid @ pred.emotion_weights.T, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        direct = a2mid2e.eval()(torch.from_numpy(x))
    np.testing.assert_allclose(mid, direct["midlevel"].double().numpy(), rtol=1e-5, atol=1e-6)


def test_stereo_input_is_mixed_to_mono(a2mid2e):
    pred = to_predictor(a2mid2e)
    x = np.random.default_rng(1).standard_normal((2, 2, 22050)).astype(np.float32) * 0.1
    np.testing.assert_allclose(pred(x), pred(x.mean(axis=1, keepdims=True)), rtol=1e-5, atol=1e-6)


def test_a2e_predictor_has_emotions_only():
    model = build_model("vggish", head="a2e", backbone_kwargs={"width": 4})
    pred = to_predictor(model)
    assert pred.output_names == ["valence", "arousal"] and pred.emotion_weights is None
    assert pred(np.zeros((1, 1, 22050), np.float32)).shape == (1, 2)


def test_other_modules_are_refused_with_a_hint():
    with pytest.raises(ModelError, match="TorchPredictor"):
        to_predictor(torch.nn.Linear(2, 2))
    assert as_predictor(to_predictor(build_model(backbone_kwargs={"base_channels": 4}))).sample_rate == 22050


def test_zoo_predictor_carries_card_and_clip_length():
    from mer_audiolime.models import load_predictor, zoo

    if "a2mid2e_synth_clean" not in zoo.list_models():
        pytest.skip("shipped models not present")
    pred = load_predictor("mer_audiolime.models.zoo:a2mid2e_synth_clean", download=False)
    assert pred.clip_seconds == 10.0 and pred.card.name == "a2mid2e_synth_clean"
    assert pred.name == "a2mid2e_synth_clean" and pred.emotion_weights.shape == (2, 7)
