"""A user-written model for tutorial 2: a tiny spectrogram CNN with the paper's two-layer head.

The harness and the explainer accept any *Predictor*: an object with ``sample_rate``, ``output_names`` and
``__call__(batch)`` taking float32 audio ``(B, channels, samples)`` and returning ``(B, len(output_names))``.
This file shows the most common case — a ``torch.nn.Module`` wrapped with
:class:`mer_audiolime.models.TorchPredictor` — and exposes it as ``docs/tutorials/my_model.py:build``, the
``path/file.py:factory`` form that ``mer-audiolime evaluate --model`` and
``mer_audiolime.evaluation.evaluate(model=...)`` understand (``package.module:factory`` works the same way
for an installed package).

The network maps audio to the 7 mid-level features and those, through a bias-free linear layer, to valence
and arousal (the A2Mid2E structure of Chowdhury, Praher & Widmer 2021). Declaring ``midlevel_names``,
``emotion_names`` and ``emotion_weights`` tells the explainer that ``emotion = W @ midlevel``, which unlocks
the mid-level effects ``W[i, j] * m[j]`` and the emotion <- mid-level <- stems chain. A model without such a
head simply omits the three arguments and is explained output by output.

The weights here are random (seeded), so the predictions mean nothing; pass ``weights="my_weights.pt"``
(a saved ``state_dict``) to load your trained ones, e.g. ``--model my_model.py:build`` with the default
changed, or a second factory ``def build_trained(): return build(weights="...")``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mer_audiolime.models import TorchPredictor

SAMPLE_RATE = 22050
MIDLEVEL = ["melodiousness", "articulation", "rhythm_complexity", "rhythm_stability", "dissonance",
            "tonal_stability", "minorness"]
EMOTIONS = ["valence", "arousal"]


class TinyCNN(nn.Module):
    """Log-magnitude STFT -> two 3x3 conv layers -> global average -> 7 mid-level -> 2 emotions.

    Input ``(B, 1, L)`` waveforms at 22,050 Hz; output ``{"midlevel": (B, 7), "emotion": (B, 2)}``.
    """

    def __init__(self, channels: int = 8, n_fft: int = 1024, hop_length: int = 512):
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        )
        self.midlevel = nn.Linear(channels, len(MIDLEVEL), bias=False)
        # bias-free: emotion = W @ midlevel
        self.emotion = nn.Linear(len(MIDLEVEL), len(EMOTIONS), bias=False)

    def forward(self, audio: torch.Tensor) -> dict:
        x = audio.mean(dim=1)                                           # (B, L) mono
        spec = torch.stft(x, self.n_fft, self.hop_length, window=self.window, return_complex=True).abs()
        h = self.features(torch.log1p(spec).unsqueeze(1))              # (B, C, F', T')
        m = self.midlevel(h.mean(dim=(2, 3)))                          # (B, 7)
        return {"midlevel": m, "emotion": self.emotion(m)}


def build(weights: str | None = None, seed: int = 0) -> TorchPredictor:
    """The factory the harness calls (``docs/tutorials/my_model.py:build``).

    Parameters
    ----------
    weights : str, optional
        Path of a saved ``state_dict`` of :class:`TinyCNN`; default: seeded random weights.
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    TorchPredictor
        Outputs the 7 mid-level features, then valence and arousal.
    """
    torch.manual_seed(seed)
    module = TinyCNN()
    if weights is not None:
        module.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    head = module.emotion.weight.detach().numpy().astype(np.float64)   # (2, 7)
    return TorchPredictor(module, sample_rate=SAMPLE_RATE, output_names=MIDLEVEL + EMOTIONS,
                          midlevel_names=MIDLEVEL, emotion_names=EMOTIONS, emotion_weights=head,
                          name="tiny_cnn")
