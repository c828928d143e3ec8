"""Predictor adapters: torch modules (tensor or dict outputs), callables, module:factory strings."""

import textwrap

import numpy as np
import pytest
import torch

from mer_audiolime.exceptions import ModelError, ParameterError
from mer_audiolime.models import CallablePredictor, TorchPredictor, as_predictor, load_predictor


class TwoHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mid = torch.nn.Linear(1, 2, bias=False)
        self.emo = torch.nn.Linear(2, 1, bias=False)

    def forward(self, x):
        feat = x.pow(2).mean(dim=(1, 2)).unsqueeze(1)
        m = self.mid(feat)
        return {"midlevel": m, "emotion": self.emo(m), "embedding": feat}


def test_torch_predictor_dict_outputs():
    torch.manual_seed(0)
    mod = TwoHead()
    p = TorchPredictor(mod, sample_rate=100, output_names=["m0", "m1", "v"], midlevel_names=["m0", "m1"],
                       emotion_names=["v"], emotion_weights=mod.emo.weight.detach().numpy())
    x = np.random.default_rng(0).standard_normal((3, 1, 50)).astype(np.float32)
    out = p(x)
    assert out.shape == (3, 3) and out.dtype == np.float64
    # the module computes in float32: the head's output equals W m up to float32 rounding of the two products
    # and their sum, bounded by a few float32 eps times sum(|w_j m_j|)
    w = p.emotion_weights[0]
    bound = 4 * np.finfo(np.float32).eps * (np.abs(out[:, :2]) @ np.abs(w))
    assert np.all(np.abs(out[:, 2] - out[:, :2] @ w) <= bound)


def test_head_declaration_checked():
    with pytest.raises(ParameterError, match="shape"):
        CallablePredictor(lambda x: x, sample_rate=10, output_names=["a", "b"], midlevel_names=["a"],
                          emotion_names=["b"], emotion_weights=np.ones((2, 2)))
    with pytest.raises(ParameterError, match="not in output_names"):
        CallablePredictor(lambda x: x, sample_rate=10, output_names=["a"], midlevel_names=["z"],
                          emotion_names=["a"], emotion_weights=np.ones((1, 1)))


def test_load_predictor_from_file_and_module(tmp_path, monkeypatch):
    src = textwrap.dedent(
        """
        import numpy as np
        from mer_audiolime.models import CallablePredictor

        def build(scale=1.0):
            return CallablePredictor(lambda x: scale * x.std(axis=(1, 2)), sample_rate=8000, output_names=["loud"])
        """
    )
    (tmp_path / "user_model.py").write_text(src)
    p = load_predictor(f"{tmp_path / 'user_model.py'}:build")
    assert p.output_names == ["loud"] and p(np.ones((2, 1, 4), np.float32)).shape == (2, 1)
    monkeypatch.syspath_prepend(str(tmp_path))
    q = load_predictor("user_model:build", scale=2.0)
    x = np.random.default_rng(0).standard_normal((2, 1, 8)).astype(np.float32)
    np.testing.assert_allclose(q(x), 2 * p(x))


@pytest.mark.parametrize(
    "spec,error,message",
    [
        ("nocolon", ParameterError, "must look like"),
        ("missing_mod_xyz:f", ModelError, "cannot import"),
        ("mer_audiolime.audio:nothing_here", ModelError, "has no attribute"),
        ("/no/such/file.py:f", ModelError, "does not exist"),
    ],
)
def test_load_predictor_errors(spec, error, message):
    with pytest.raises(error, match=message):
        load_predictor(spec)


def test_as_predictor_wraps_module_with_declared_io():
    mod = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(2))
    p = as_predictor(mod, sample_rate=1000, output_names=["a", "b"])
    assert isinstance(p, TorchPredictor)
    assert p(np.ones((4, 1, 10), np.float32)).shape == (4, 2)
