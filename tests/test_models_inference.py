"""The inference-optimised zoo models compute the same function as the eager modules (to float32 rounding)."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from mer_audiolime.exceptions import ModelError, ParameterError
from mer_audiolime.models import Frontend, TorchPredictor, build_model, list_models, load_model, to_predictor
from mer_audiolime.models.inference import FastFrontend, fuse_conv_bn, optimize_for_inference


def _randomise_batch_norms(model, seed=0):
    """Trained-looking eval statistics, so that folding them is actually exercised."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                n = mod.num_features
                mod.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                mod.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                mod.weight.copy_(0.5 + torch.rand(n, generator=gen))
                mod.bias.copy_(0.4 * torch.rand(n, generator=gen) - 0.2)
    return model.eval()


def _audio(batch, seconds, seed=0, channels=None):
    rng = np.random.default_rng(seed)
    shape = (batch, int(seconds * 22050)) if channels is None else (batch, channels, int(seconds * 22050))
    return torch.from_numpy((0.1 * rng.standard_normal(shape)).astype(np.float32))


def _assert_same_outputs(a, b, x, atol=1e-4):
    with torch.inference_mode():
        out_a, out_b = a(x), b(x)
    assert set(out_a) == set(out_b)
    for key in out_a:
        np.testing.assert_allclose(out_b[key].numpy(), out_a[key].numpy(), rtol=0, atol=atol, err_msg=key)


@pytest.mark.parametrize("name", list_models())
def test_zoo_models_match_eager(name):
    model = load_model(name)
    _assert_same_outputs(model, optimize_for_inference(model), _audio(3, 2.5, seed=1))


@pytest.mark.parametrize("architecture, kwargs", [
    ("cp_resnet", {"base_channels": 8}),
    ("cp_resnet", {"base_channels": 8, "freq_position": False}),
    ("vggish", {"width": 4}),
])
def test_architectures_match_eager_with_trained_statistics(architecture, kwargs):
    model = _randomise_batch_norms(build_model(architecture, backbone_kwargs=kwargs, seed=3))
    fast = optimize_for_inference(model)
    _assert_same_outputs(model, fast, _audio(2, 1.3, seed=2))
    # the input model is untouched: still trainable, still has its batch norms
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())
    assert not any(p.requires_grad for p in fast.parameters())


def test_fuse_conv_bn_is_exact_in_eval():
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=True)
    bn = _randomise_batch_norms(nn.Sequential(nn.BatchNorm2d(5)))[0]
    x = torch.randn(2, 3, 9, 7)
    with torch.no_grad():
        np.testing.assert_allclose(fuse_conv_bn(conv, bn)(x).numpy(), bn(conv(x)).numpy(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("scale", ["log", "mel"])
@pytest.mark.parametrize("channels", [None, 2])
def test_fast_frontend_matches_stft_frontend(scale, channels):
    fe = Frontend(scale=scale).eval()
    fe.set_normalization(np.linspace(-1, 1, fe.n_bands), np.linspace(0.5, 2, fe.n_bands))
    fast = FastFrontend(fe)
    x = _audio(2, 1.01, seed=4, channels=channels)  # an odd length: the last frame is partial
    with torch.no_grad():
        ref, out = fe(x), fast(x)
    assert out.shape == ref.shape == (2, 1, fe.n_bands, fe.num_frames(x.shape[-1]))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("max_frames", [1, 2, 7, 18])
def test_fast_frontend_in_chunks_equals_one_pass(max_frames):
    # long inputs are transformed max_frames frames at a time; chunk edges must not change a single frame
    fe = Frontend(scale="log").eval()
    fast = FastFrontend(fe)
    x = _audio(2, 0.6, seed=6)  # 19 frames
    with torch.no_grad():
        whole = fast(x)
        fast.max_frames = max_frames
        assert whole.shape[-1] > max_frames  # the chunked path is taken
        chunked = fast(x)
        ref = fe(x)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(chunked.numpy(), ref.numpy(), rtol=0, atol=1e-4)


def test_predictor_paths_agree_and_threads_are_restored():
    model = load_model(list_models()[0])
    x = _audio(2, 1.5, seed=5)[:, None].numpy()
    before = torch.get_num_threads()
    eager = to_predictor(model, optimize=False)
    fast = to_predictor(model, threads=1)
    np.testing.assert_allclose(fast(x), eager(x), rtol=0, atol=1e-4)
    assert torch.get_num_threads() == before
    assert fast.output_names == eager.output_names and fast.card is model.card
    with pytest.raises(ParameterError, match="threads"):
        TorchPredictor(nn.Identity(), sample_rate=10, output_names=["a"], threads=0)


def test_device_option_moves_the_optimised_model():
    # no GPU on the CI machines: the same code path with "cpu", and with CUDA where one exists
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    model = _randomise_batch_norms(build_model(backbone_kwargs={"base_channels": 8}, seed=1))
    x = _audio(2, 1.0, seed=6)
    for device in devices:
        fast = optimize_for_inference(copy.deepcopy(model), device=device)
        assert all(p.device.type == device for p in fast.parameters())
        pred = to_predictor(model, device=device)
        with torch.inference_mode():
            ref = torch.cat([model(x)["midlevel"], model(x)["emotion"]], dim=1).numpy()
        np.testing.assert_allclose(pred(x[:, None].numpy()), ref, rtol=0, atol=1e-4)


def test_rejects_other_modules():
    with pytest.raises(ModelError, match="MERModel"):
        optimize_for_inference(nn.Linear(2, 2))
