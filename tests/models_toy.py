"""A learnable toy dataset for the model tests: mid-level target j is the amplitude of a tone in octave j,
emotions are a fixed bias-free linear map of the mid-level targets (as in the A2Mid2E model)."""

import numpy as np

SR = 22050
FREQS = (110.0, 220.0, 440.0, 880.0, 1760.0, 3520.0, 7040.0)
W = np.array([[1.0, -1.0, 0.5, 0.0, 0.0, 1.0, -1.0], [0.0, 1.0, 1.0, 1.0, -0.5, 0.0, 0.0]])
EMOTIONS = ("valence", "arousal")


class ToyDataset:
    """``n`` items ``(waveform (L,), {"midlevel": (7,), "emotion": (2,)})``, fully determined by ``seed``."""

    emotion_names = EMOTIONS

    def __init__(self, n=32, *, seed=0, seconds=1.0):
        rng = np.random.default_rng(seed)
        t = np.arange(int(seconds * SR)) / SR
        self.items = []
        for _ in range(n):
            m = rng.uniform(0.0, 1.0, len(FREQS))
            phases = rng.uniform(0, 2 * np.pi, len(FREQS))
            x = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(m, FREQS, phases)) * 0.1
            x = x + 0.005 * rng.standard_normal(t.size)
            self.items.append((x.astype(np.float32), {"midlevel": m, "emotion": W @ m}))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def toy(split="train", data_home=None, n=None, **_):
    """``module:factory``-style entry point for ``mer-audiolime train --dataset tests/models_toy.py:toy``."""
    seeds = {"train": 0, "valid": 1, "test": 2}
    sizes = {"train": 24, "valid": 8, "test": 8}
    return ToyDataset(int(n or sizes[split]), seed=seeds[split])
