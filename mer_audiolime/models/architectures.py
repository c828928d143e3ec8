"""Convolutional backbones for mid-level / emotion regression on spectrograms ``(B, 1, F, T)``.

Two families, both fully convolutional (any input length; global average pooling happens in the model):

* :class:`RFResNet` — the receptive-field regularised ResNet of Koutini et al. ("Receptive-field-regularized
  CNN variants for acoustic scene classification", DCASE 2019; "Receptive-field regularized CNNs for music
  classification and tagging", arXiv:2007.13503), in the shallow configuration ``config_cp_field_shallow_m2``
  that Chowdhury, Praher & Widmer (SMC 2021) used for their mid-level model. The receptive field is kept small
  by using 1x1 kernels late in the network; a *frequency-position channel* (a constant map that rises
  linearly from -1 at the lowest band to +1 at the highest) is appended to the input of every convolution
  inside the residual blocks, so that the small-receptive-field network still knows *where* in frequency it
  looks (the "frequency-aware" CNN of the DCASE 2019 paper).
* :class:`VGGish` — the VGG-style network of Chowdhury, Vall, Haunschmid & Widmer, "Towards explainable
  music emotion recognition: the route via mid-level features" (ISMIR 2019): a strided 5x5 stem, 3x3
  conv-BN-ReLU layers with two 2x2 max-pooling + dropout(0.3) steps, widening to 384 and 512 channels and
  narrowing to a 256-channel output.

The layer lists below were written from the papers' descriptions; widths scale with ``base_channels``
(``width``) so that small variants can be trained on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from ..exceptions import ParameterError
from ..validation import check_int

__all__ = ["RFResNet", "VGGish", "ResidualBlock", "ARCHITECTURES", "CP_FIELD_SHALLOW_M2", "VGGISH_LAYERS",
           "build_backbone", "count_parameters", "frequency_position", "min_input_frames"]

#: ``config_cp_field_shallow_m2`` as data. Each stage: channel multiplier of ``base_channels``, a list of
#: blocks given as (kernel of conv 1, kernel of conv 2), and the 1-based indices of the blocks followed by
#: 2x2 max-pooling.
CP_FIELD_SHALLOW_M2 = {
    "stem": {"kernel": 5, "stride": 2, "padding": 1},
    "stages": [
        {"multiplier": 1, "blocks": [(3, 1), (3, 3), (3, 3)], "pool_after": (1, 2)},
        {"multiplier": 2, "blocks": [(3, 3)], "pool_after": ()},
        {"multiplier": 4, "blocks": [(1, 1)], "pool_after": ()},
    ],
}


def frequency_position(x: torch.Tensor) -> torch.Tensor:
    """A ``(B, 1, F, T)`` map whose value rises linearly from -1 (first band) to +1 (last band)."""
    b, _, f, t = x.shape
    ramp = torch.linspace(-1.0, 1.0, f, device=x.device, dtype=x.dtype) if f > 1 else x.new_zeros(1)
    return ramp.view(1, 1, f, 1).expand(b, 1, f, t)


class ResidualBlock(nn.Module):
    """Basic residual block: [pos] conv(k1)-BN-ReLU, [pos] conv(k2)-BN, + shortcut, ReLU.

    ``[pos]`` is the appended frequency-position channel (one extra input channel per convolution). The
    shortcut is the identity, or a 1x1 conv + BN when the width changes.
    """

    def __init__(self, in_channels: int, out_channels: int, k1: int, k2: int, *, freq_position: bool = True):
        super().__init__()
        extra = 1 if freq_position else 0
        self.freq_position = freq_position
        self.conv1 = nn.Conv2d(in_channels + extra, out_channels, k1, padding=k1 // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels + extra, out_channels, k2, padding=k2 // 2, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def _with_pos(self, x):
        return torch.cat([x, frequency_position(x)], dim=1) if self.freq_position else x

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(self._with_pos(x))))
        y = self.bn2(self.conv2(self._with_pos(y)))
        return F.relu(y + self.shortcut(x))


class RFResNet(nn.Module):
    """Receptive-field regularised ResNet (``config_cp_field_shallow_m2`` by default).

    Layout at ``base_channels = c`` (the paper uses c = 128): 5x5 stride-2 stem conv (c channels, padding 1)
    + BN + ReLU; stage 1: three blocks of c channels with kernels (3,1), (3,3), (3,3) and 2x2 max-pooling
    after blocks 1 and 2; stage 2: one (3,3) block of 2c; stage 3: one (1,1) block of 4c.

    Parameters
    ----------
    base_channels : int
        Width of stage 1 (default 128; output width is ``4 * base_channels``).
    in_channels : int
        Input channels (1 for a spectrogram).
    freq_position : bool
        Append the frequency-position channel in every block (default True, as in the paper).
    config : dict, optional
        Layout as in :data:`CP_FIELD_SHALLOW_M2`.

    Shapes
    ------
    ``(B, in_channels, F, T) -> (B, 4 * base_channels, F', T')``; with F = 149: F' = 18.

    Examples
    --------
    >>> net = RFResNet(base_channels=8)
    >>> net(torch.zeros(2, 1, 149, 40)).shape
    torch.Size([2, 32, 18, 4])
    """

    def __init__(self, *, base_channels: int = 128, in_channels: int = 1, freq_position: bool = True,
                 config: dict | None = None):
        super().__init__()
        base_channels = check_int(base_channels, "base_channels", minimum=1)
        cfg = CP_FIELD_SHALLOW_M2 if config is None else config
        stem = cfg["stem"]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, base_channels, stem["kernel"], stride=stem["stride"],
                      padding=stem["padding"], bias=False),
            nn.BatchNorm2d(base_channels),
            nn.ReLU(),
        )
        width = base_channels
        stages = []
        for stage_cfg in cfg["stages"]:
            out_width = base_channels * stage_cfg["multiplier"]
            layers = []
            for index, (k1, k2) in enumerate(stage_cfg["blocks"], start=1):
                layers.append(ResidualBlock(width, out_width, k1, k2, freq_position=freq_position))
                width = out_width
                if index in stage_cfg["pool_after"]:
                    layers.append(nn.MaxPool2d(2, 2))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.out_channels = width
        self.config = {"base_channels": base_channels, "in_channels": in_channels,
                       "freq_position": freq_position}
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


#: ISMIR 2019 VGG-style layer list: ("conv", kernel, stride, width multiplier of ``width``) or ("pool",).
VGGISH_LAYERS = (
    ("conv", 5, 2, 1), ("conv", 3, 1, 1), ("pool",),
    ("conv", 3, 1, 2), ("conv", 3, 1, 2), ("pool",),
    ("conv", 3, 1, 4), ("conv", 3, 1, 4), ("conv", 3, 1, 6), ("conv", 3, 1, 8), ("conv", 3, 1, 4),
)


class VGGish(nn.Module):
    """VGG-style backbone of Chowdhury et al. (ISMIR 2019).

    At ``width = w`` (the paper: w = 64): conv5x5/2 (w) - conv3x3 (w) - maxpool2 + dropout - conv3x3 (2w) x 2
    - maxpool2 + dropout - conv3x3 (4w, 4w, 6w, 8w, 4w); every conv is followed by BN + ReLU and has no bias;
    "same" padding.

    Parameters
    ----------
    width : int
        Base width (default 64; output width ``4 * width``).
    in_channels : int
    dropout : float
        Dropout after each max-pool (default 0.3).

    Shapes
    ------
    ``(B, in_channels, F, T) -> (B, 4 * width, F', T')`` with ``F' = F_stem // 4``.

    Examples
    --------
    >>> VGGish(width=4)(torch.zeros(1, 1, 149, 64)).shape
    torch.Size([1, 16, 18, 8])
    """

    def __init__(self, *, width: int = 64, in_channels: int = 1, dropout: float = 0.3):
        super().__init__()
        width = check_int(width, "width", minimum=1)
        if not 0.0 <= dropout < 1.0:
            raise ParameterError(f"dropout must be in [0, 1), got {dropout!r}.")
        layers, channels = [], in_channels
        for spec in VGGISH_LAYERS:
            if spec[0] == "pool":
                layers += [nn.MaxPool2d(2, 2), nn.Dropout(dropout)]
                continue
            _, kernel, stride, mult = spec
            out = width * mult
            layers += [nn.Conv2d(channels, out, kernel, stride=stride, padding=kernel // 2, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels
        self.config = {"width": width, "in_channels": in_channels, "dropout": dropout}
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


#: Architecture registry: name -> backbone class (keyword arguments go to the constructor).
ARCHITECTURES = {"cp_resnet": RFResNet, "vggish": VGGish}


def build_backbone(name: str, **kwargs) -> nn.Module:
    """Build a registered backbone by name (``"cp_resnet"`` or ``"vggish"``)."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise ParameterError(
            f"unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}."
        ) from None
    return cls(**kwargs)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def count_parameters(module: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _out_size(n: int, layer, axis: int) -> int:
    """Output length along ``axis`` (0 = height, 1 = width) of a conv / pooling layer for input length n."""
    def pick(v):
        return v[axis] if isinstance(v, (tuple, list)) else v

    k, stride, pad = pick(layer.kernel_size), pick(layer.stride), pick(layer.padding)
    dilation = pick(getattr(layer, "dilation", 1))
    if isinstance(pad, str):  # "same" keeps the length, "valid" pads nothing
        return n if pad == "same" else (n - dilation * (k - 1) - 1) // stride + 1
    return (n + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def min_input_frames(backbone: nn.Module, *, axis: int = 1, limit: int = 100000) -> int:
    """Fewest spectrogram frames (``axis=1``: time) the backbone accepts: below it a convolution or pooling
    window is larger than its (padded) input and torch raises.

    Walks the convolution and pooling layers in definition order (the forward order of these backbones;
    size-preserving residual branches do not change the answer).

    Examples
    --------
    >>> min_input_frames(RFResNet(base_channels=8))
    9
    """
    layers = [m for m in backbone.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]
    for n in range(1, limit):
        size = n
        for layer in layers:
            size = _out_size(size, layer, axis)
            if size < 1:
                break
        if size >= 1:
            return n
    raise ParameterError(f"no input length up to {limit} frames fits this backbone.")
