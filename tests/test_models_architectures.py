"""Architectures and heads: shapes and parameter counts derived by hand from the published layouts."""

import pytest
import torch

from mer_audiolime.exceptions import ParameterError
from mer_audiolime.models.architectures import RFResNet, VGGish, build_backbone, frequency_position
from mer_audiolime.models.heads import DirectEmotionHead, MidLevelEmotionHead, build_model


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def conv(cin, cout, k):
    return cin * cout * k * k  # no bias: every conv is followed by BatchNorm


def bn(c):
    return 2 * c


def rf_block(cin, cout, k1, k2):
    """Residual block of the spec: one frequency-position channel appended before each conv."""
    total = conv(cin + 1, cout, k1) + bn(cout) + conv(cout + 1, cout, k2) + bn(cout)
    if cin != cout:
        total += conv(cin, cout, 1) + bn(cout)
    return total


def expected_rf_resnet(c):
    stem = conv(1, c, 5) + bn(c)
    stage1 = rf_block(c, c, 3, 1) + rf_block(c, c, 3, 3) + rf_block(c, c, 3, 3)
    stage2 = rf_block(c, 2 * c, 3, 3)
    stage3 = rf_block(2 * c, 4 * c, 1, 1)
    return stem + stage1 + stage2 + stage3


def expected_vggish(w):
    widths = [(1, w, 5), (w, w, 3), (w, 2 * w, 3), (2 * w, 2 * w, 3), (2 * w, 4 * w, 3), (4 * w, 4 * w, 3),
              (4 * w, 6 * w, 3), (6 * w, 8 * w, 3), (8 * w, 4 * w, 3)]
    return sum(conv(i, o, k) + bn(o) for i, o, k in widths)


def test_rf_resnet_paper_size_parameter_count():
    # by hand for c = 128: stem 3,456; stage 1: 165,632 + 2 * 297,728; stage 2: 923,648; stage 3: 528,384
    assert expected_rf_resnet(128) == 3_456 + 165_632 + 2 * 297_728 + 923_648 + 528_384 == 2_216_576
    assert n_params(RFResNet()) == 2_216_576


@pytest.mark.parametrize("c", [4, 16, 32])
def test_rf_resnet_reduced_widths(c):
    assert n_params(RFResNet(base_channels=c)) == expected_rf_resnet(c)


def test_rf_resnet_shapes_on_paper_input():
    net = RFResNet(base_channels=8).eval()
    x = torch.zeros(2, 1, 149, 313)  # 10 s at 31.3 frames/s
    # stem: floor((149 + 2 - 5) / 2) + 1 = 74, (313 + 2 - 5) // 2 + 1 = 156; two 2x2 pools: 74 -> 37 -> 18
    assert net.stem(x).shape == (2, 8, 74, 156)
    assert net(x).shape == (2, 32, 18, 39)
    assert net.out_channels == 32


def test_rf_resnet_kernels_follow_config():
    net = RFResNet(base_channels=4)
    blocks = [m for m in net.modules() if hasattr(m, "conv1")]
    kernels = [(b.conv1.kernel_size[0], b.conv2.kernel_size[0]) for b in blocks]
    assert kernels == [(3, 1), (3, 3), (3, 3), (3, 3), (1, 1)]
    pools = [m for m in net.stages[0] if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 2 and isinstance(net.stages[0][1], torch.nn.MaxPool2d)


def test_frequency_position_channel():
    pos = frequency_position(torch.zeros(2, 3, 5, 4))
    assert pos.shape == (2, 1, 5, 4)
    torch.testing.assert_close(pos[0, 0, :, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    torch.testing.assert_close(pos[1, 0, :, 3], pos[0, 0, :, 0])


def test_vggish_paper_size_and_shapes():
    # convs 1,600 + 36,864 + 73,728 + 147,456 + 294,912 + 589,824 + 884,736 + 1,769,472 + 1,179,648; BN 4,096
    assert expected_vggish(64) == 4_978_240 + 4_096
    assert n_params(VGGish()) == expected_vggish(64)
    net = VGGish(width=4).eval()
    assert net(torch.zeros(1, 1, 149, 313)).shape == (1, 16, 18, 39)
    assert n_params(net) == expected_vggish(4)


def test_heads_counts_and_outputs():
    head = MidLevelEmotionHead(512, n_midlevel=7, n_emotions=8)
    assert n_params(head) == 512 * 7 + 7 * 8
    assert head.midlevel.bias is None and head.emotion.bias is None
    out = head(torch.randn(3, 512))
    torch.testing.assert_close(out["emotion"], out["midlevel"] @ head.emotion.weight.T)
    direct = DirectEmotionHead(512, n_emotions=2)
    assert n_params(direct) == 512 * 2 and set(direct(torch.randn(1, 512))) == {"emotion"}


def test_full_model_outputs_dict():
    model = build_model("cp_resnet", backbone_kwargs={"base_channels": 8}, emotion_names=["v", "a", "t"])
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 22050))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"midlevel": (2, 7), "emotion": (2, 3),
                                                          "embedding": (2, 32)}
    a2e = build_model("vggish", head="a2e", backbone_kwargs={"width": 4}).eval()
    with torch.no_grad():
        out = a2e(torch.zeros(1, 2, 22050))
    assert set(out) == {"emotion", "embedding"} and out["embedding"].shape == (1, 16)


def test_same_seed_same_weights():
    a = build_model(backbone_kwargs={"base_channels": 4}, seed=3).state_dict()
    b = build_model(backbone_kwargs={"base_channels": 4}, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_unknown_names_raise():
    with pytest.raises(ParameterError):
        build_backbone("resnet50")
    with pytest.raises(ParameterError):
        build_model(head="a2x")
    with pytest.raises(ParameterError):
        RFResNet(base_channels=0)


def test_hidden_head_keeps_the_chain_and_can_represent_or_and_and():
    """The linear heads are affine in the pooled features, so no weights make them an OR or an AND of two
    features (least squares leaves the interaction, residual 1/4 of the range on each of the 4 points); one
    hidden ReLU layer represents both exactly (hand-set weights), and the emotion layer stays linear."""
    head = MidLevelEmotionHead(2, n_midlevel=7, n_emotions=2, hidden=2)
    assert n_params(head) == 2 * 2 + 2 + 2 * 7 + 7 * 2
    out = head(torch.randn(5, 2))
    torch.testing.assert_close(out["emotion"], out["midlevel"] @ head.emotion.weight.T)
    e = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # two cue detectors, off/on
    truth = {"or": torch.tensor([0.0, 1.0, 1.0, 1.0]), "and": torch.tensor([0.0, 0.0, 0.0, 1.0])}
    design = torch.cat([e, torch.ones(4, 1)], dim=1)  # the best affine (linear head + a constant) fit
    for rule, y in truth.items():
        coef = torch.linalg.lstsq(design, y[:, None]).solution
        assert torch.allclose((design @ coef).squeeze() - y, torch.tensor([-1.0, 1.0, 1.0, -1.0]) / 4
                              * (1 if rule == "and" else -1), atol=1e-6), rule
    with torch.no_grad():
        head.hidden[0].weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        head.hidden[0].bias.copy_(torch.tensor([0.0, -1.0]))  # h = (a + b, relu(a + b - 1) = a AND b)
        head.midlevel.weight.zero_()
        head.midlevel.weight[0] = torch.tensor([1.0, -1.0])  # OR = a + b - AND
        head.midlevel.weight[1] = torch.tensor([0.0, 1.0])   # AND
        got = head(e)["midlevel"]
    torch.testing.assert_close(got[:, 0], truth["or"])
    torch.testing.assert_close(got[:, 1], truth["and"])


def test_head_options_are_recorded_and_checked():
    model = build_model(backbone_kwargs={"base_channels": 4}, head_kwargs={"hidden": 6})
    assert model.spec["head_kwargs"] == {"hidden": 6} and model.head.midlevel.in_features == 6
    plain = build_model(backbone_kwargs={"base_channels": 4})
    assert plain.spec["head_kwargs"] == {} and isinstance(plain.head.hidden, torch.nn.Identity)
    assert not any(k.startswith("head.hidden") for k in plain.state_dict())  # old checkpoints still load
    a2e = build_model(head="a2e", backbone_kwargs={"base_channels": 4}, head_kwargs={"hidden": 3})
    assert a2e.head.emotion.in_features == 3
    for bad in ({"hidden": -1}, {"hidden": 2.5}, {"hidden": True}):
        with pytest.raises(ParameterError, match="hidden must be an integer"):
            build_model(backbone_kwargs={"base_channels": 4}, head_kwargs=bad)
    with pytest.raises(ParameterError, match="unknown head option"):
        build_model(backbone_kwargs={"base_channels": 4}, head_kwargs={"width": 3})
