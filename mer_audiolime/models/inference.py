"""Faster inference for the zoo's models: the same function, computed with fewer passes over memory.

:func:`optimize_for_inference` turns a trained :class:`~mer_audiolime.models.heads.MERModel` into an
equivalent module for evaluation only (no gradients, no training). Where the time went, per batch of 16
ten-second clips on one CPU thread (``torch.profiler``): about half in the spectrogram frontend
(``torch.stft`` plus the complex ``abs`` and a dense 149 x 1025 filterbank product), the rest in the first
residual stage
(17-channel convolutions at full resolution, because the frequency-position channel is concatenated to every
convolution's input; batch norms; max pooling). The rewrite:

* **Frontend**: frames are cut with ``unfold`` (the same centring and zero padding as ``torch.stft``),
  windowed and transformed with ``torch.fft.rfft``; the magnitude is taken from the real/imaginary pairs;
  the filterbank, which is 98.8 % zeros (each triangle spans a few bins), is applied as a few dense blocks
  over the bin ranges its bands cover, in a (frames, bins) layout that needs no transposed copy.
* **Convolutions + batch norm** are folded into one convolution with a bias (eval-mode statistics).
* **Frequency position**: a convolution of ``cat([x, pos])`` is ``conv_x(x) + conv_pos(pos)``, and
  ``conv_pos(pos)`` depends only on the input's height and width: it is computed once per shape and added as
  a bias map, so the convolutions see 16 channels instead of 17 and the concatenation copy disappears.
* Dropout layers (identity in eval) are dropped, and the backbone runs in channels-last memory layout
  (oneDNN's fast path for convolutions with few channels).

The outputs agree with the original module in eval mode to float32 rounding (the tests and
``benchmarks/bench_floor.py`` check 1e-4). Thread settings matter as much on a shared machine: see
``TorchPredictor(threads=...)``.

On a GPU the balance changes: the convolutions and FFTs become cheap and the batch should grow until the
device is busy; the folding still saves work, the filterbank blocks matter less (a dense matmul is cheap on a
GPU). ``device=`` moves the optimised module and its cached maps to any torch device.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ModelError
from .architectures import RFResNet, VGGish, ResidualBlock, frequency_position
from .frontend import Frontend, as_mono

__all__ = ["optimize_for_inference", "fuse_conv_bn", "FastFrontend"]


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution equal to ``bn(conv(x))`` with ``bn`` in eval mode (running statistics).

    Examples
    --------
    >>> conv, bn = nn.Conv2d(2, 3, 3, bias=False), nn.BatchNorm2d(3).eval()
    >>> x = torch.randn(1, 2, 8, 8)
    >>> bool(torch.allclose(fuse_conv_bn(conv, bn)(x), bn(conv(x)), atol=1e-5))
    True
    """
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                      padding_mode=conv.padding_mode).to(conv.weight.device)
    with torch.no_grad():
        fused.weight.copy_(conv.weight.detach() * scale.reshape(-1, 1, 1, 1))
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias.detach())
    return fused.eval()


class FastFrontend(nn.Module):
    """The function of a :class:`~mer_audiolime.models.frontend.Frontend`, computed faster (inference only).

    Parameters
    ----------
    frontend : Frontend
        Its settings, filterbank, window and normalisation are copied.
    n_blocks : int
        Dense blocks the sparse filterbank is split into (groups of consecutive bands).
    """

    def __init__(self, frontend: Frontend, *, n_blocks: int = 8):
        super().__init__()
        self.sample_rate, self.n_fft = frontend.sample_rate, frontend.n_fft
        self.hop_length = frontend.hop_length
        self.log_offset, self.log_multiplier = frontend.log_offset, frontend.log_multiplier
        self.config = dict(frontend.config)
        self.register_buffer("window", frontend.window.detach().clone(), persistent=False)
        fb = frontend.filterbank.detach()
        self.register_buffer("mean", frontend.mean.detach().clone())
        self.register_buffer("std", frontend.std.detach().clone())
        nonzero = fb != 0
        n_bands = fb.shape[0]
        edges = torch.linspace(0, n_bands, min(n_blocks, n_bands) + 1).round().long().tolist()
        self.blocks = []
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            cols = torch.nonzero(nonzero[a:b].any(dim=0)).ravel()
            lo, hi = (int(cols.min()), int(cols.max()) + 1) if cols.numel() else (0, 1)
            self.register_buffer(f"fb{i}", fb[a:b, lo:hi].T.contiguous(), persistent=False)
            self.blocks.append((lo, hi))
        self.n_bands = n_bands

    #: Frames transformed at once: longer inputs (about 65 s at 22,050 Hz) are computed in chunks of frames,
    #: which bounds the frontend's memory on long audio; frames are independent, so shorter inputs are
    #: computed exactly as before.
    max_frames = 2048

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = as_mono(waveform).to(self.window.device)
        half = self.n_fft // 2
        x = F.pad(x, (half, half))  # torch.stft(center=True, pad_mode="constant")
        n_frames = 1 + (x.shape[-1] - self.n_fft) // self.hop_length
        if n_frames <= self.max_frames:
            return self._frames_to_spectrogram(x)
        hop, step = self.hop_length, self.max_frames
        parts = [self._frames_to_spectrogram(x[..., a * hop : (min(a + step, n_frames) - 1) * hop + self.n_fft])
                 for a in range(0, n_frames, step)]
        return torch.cat(parts, dim=-1)

    def _frames_to_spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, padded samples)`` -> ``(B, 1, n_bands, frames)``: every whole frame of ``x``."""
        frames = x.unfold(-1, self.n_fft, self.hop_length) * self.window  # (B, T, n_fft)
        spec = torch.view_as_real(torch.fft.rfft(frames, dim=-1))  # (B, T, bins, 2)
        re, im = spec[..., 0], spec[..., 1]
        mag = torch.addcmul(re * re, im, im).sqrt_()  # (B, T, bins); faster than complex abs here
        bands = torch.cat([torch.matmul(mag[..., lo:hi], getattr(self, f"fb{i}"))
                           for i, (lo, hi) in enumerate(self.blocks)], dim=-1)  # (B, T, n_bands)
        out = torch.log10(self.log_offset + self.log_multiplier * bands)
        out = (out - self.mean) / self.std
        return out.transpose(1, 2).unsqueeze(1)


class _PositionMapConv(nn.Module):
    """``conv(cat([x, pos]))`` as ``conv_x(x) + map``; ``map = conv_pos(pos)`` is cached per input shape."""

    def __init__(self, fused: nn.Conv2d):
        super().__init__()
        c = fused.in_channels - 1
        self.conv = nn.Conv2d(c, fused.out_channels, fused.kernel_size, stride=fused.stride,
                              padding=fused.padding, bias=True).to(fused.weight.device)
        self.pos = nn.Conv2d(1, fused.out_channels, fused.kernel_size, stride=fused.stride,
                             padding=fused.padding, bias=False).to(fused.weight.device)
        with torch.no_grad():
            self.conv.weight.copy_(fused.weight[:, :c])
            self.conv.bias.copy_(fused.bias)
            self.pos.weight.copy_(fused.weight[:, c:])
        self._maps: dict = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.shape[2], x.shape[3], x.dtype, x.device)
        pos_map = self._maps.get(key)
        if pos_map is None:
            pos = frequency_position(x[:1, :1])
            pos_map = self._maps[key] = self.pos(pos)
        return self.conv(x) + pos_map


class _FastResidualBlock(nn.Module):
    def __init__(self, block: ResidualBlock):
        super().__init__()
        conv1, conv2 = fuse_conv_bn(block.conv1, block.bn1), fuse_conv_bn(block.conv2, block.bn2)
        if block.freq_position:
            conv1, conv2 = _PositionMapConv(conv1), _PositionMapConv(conv2)
        self.conv1, self.conv2 = conv1, conv2
        if isinstance(block.shortcut, nn.Sequential):
            self.shortcut = fuse_conv_bn(block.shortcut[0], block.shortcut[1])
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        y = F.relu(self.conv1(x))
        return F.relu(self.conv2(y) + self.shortcut(x))


def _fuse_sequential(seq: nn.Sequential) -> nn.Sequential:
    """Fold each ``Conv2d`` followed by ``BatchNorm2d``; drop ``Dropout``; recurse into blocks."""
    layers, mods, i = [], list(seq), 0
    while i < len(mods):
        mod = mods[i]
        if isinstance(mod, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
            layers.append(fuse_conv_bn(mod, mods[i + 1]))
            i += 2
            continue
        if isinstance(mod, ResidualBlock):
            layers.append(_FastResidualBlock(mod))
        elif isinstance(mod, nn.Sequential):
            layers.append(_fuse_sequential(mod))
        elif not isinstance(mod, nn.Dropout):
            layers.append(mod)
        i += 1
    return nn.Sequential(*layers)


class _ChannelsLast(nn.Module):
    """Run a convolutional stack in channels-last layout (oneDNN's fast path for few-channel convolutions)."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body.to(memory_format=torch.channels_last)

    def forward(self, x):
        return self.body(x.contiguous(memory_format=torch.channels_last))


def _fast_backbone(backbone: nn.Module) -> nn.Module:
    if isinstance(backbone, RFResNet):
        body = nn.Sequential(_fuse_sequential(backbone.stem), _fuse_sequential(backbone.stages))
        return _ChannelsLast(body)
    if isinstance(backbone, VGGish):
        return _ChannelsLast(_fuse_sequential(backbone.layers))
    raise ModelError(
        f"optimize_for_inference knows the zoo's backbones (RFResNet, VGGish), not {type(backbone).__name__}."
    )


def optimize_for_inference(model, *, device: str | None = None):
    """An eval-only copy of a :class:`~mer_audiolime.models.heads.MERModel`: same outputs, computed faster.

    Parameters
    ----------
    model : MERModel
        Left untouched (a deep copy is rewritten).
    device : str, optional
        Torch device of the result (default: the model's).

    Returns
    -------
    MERModel
        Same ``forward`` contract, attributes and ``spec``; ``frontend`` is a :class:`FastFrontend` and the
        backbone has batch norms folded into its convolutions. For inference only: it cannot be trained.

    Examples
    --------
    >>> from mer_audiolime.models import build_model
    >>> m = build_model(backbone_kwargs={"base_channels": 8}).eval()
    >>> x = torch.randn(2, 22050)
    >>> fast = optimize_for_inference(m)
    >>> bool(torch.allclose(fast(x)["emotion"], m(x)["emotion"], atol=1e-4))
    True
    """
    # A MERModel is recognised by its parts (heads builds on this module, so it is not imported here).
    parts = isinstance(getattr(model, "frontend", None), Frontend) and isinstance(
        getattr(model, "backbone", None), nn.Module)
    if not (isinstance(model, nn.Module) and parts):
        raise ModelError(f"optimize_for_inference expects a MERModel, got {type(model).__name__}.")
    fast = copy.deepcopy(model).eval()
    with torch.no_grad():
        fast.frontend = FastFrontend(model.frontend)
        fast.backbone = _fast_backbone(model.backbone)
    fast.inference_optimized = True
    if device is not None:
        fast = fast.to(device)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast.eval()
