"""The installed environment itself: the torch/torchaudio pair must load and run open-unmix.

These tests never skip. A torchaudio build that does not match the installed torch fails to load its compiled
extension (``undefined symbol ...``), which breaks open-unmix -- the paper's stem separation -- on every fresh
machine that resolves a different pair. The lock (requirements/lock.txt) pins a pair that loads; these tests
catch a lock, or a user environment, that drifted.
"""

import re

import numpy as np


def _release(version: str) -> tuple:
    """``"2.11.0+cu130"`` -> ``(2, 11, 0)``: the release, without a local build tag."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    assert match, f"unparsable version {version!r}"
    return tuple(int(g) for g in match.groups())


def test_torch_and_torchaudio_are_the_same_release():
    import torch
    import torchaudio

    assert _release(torch.__version__) == _release(torchaudio.__version__), (
        f"torchaudio {torchaudio.__version__} beside torch {torch.__version__}: torchaudio must be the same "
        "major.minor.patch release as torch (install from requirements/lock.txt)."
    )


def test_torchaudio_extension_loads_and_runs():
    import torch
    import torchaudio

    # a compiled op: fails with "undefined symbol" when the pair does not match
    x = torch.linspace(-1.0, 1.0, 64)
    encoded = torchaudio.functional.mu_law_encoding(x, 256)
    decoded = torchaudio.functional.mu_law_decoding(encoded, 256)
    assert float((decoded - x).abs().max()) < 0.05


def test_open_unmix_builds_and_separates_offline():
    """umxhq's architecture with random weights (pretrained=False: nothing downloads), a real forward pass."""
    from mer_audiolime.explain import OpenUnmixSeparator

    sep = OpenUnmixSeparator("umxhq", pretrained=False, show_progress=False, targets=["vocals", "bass"])
    sr = 44100
    t = np.arange(sr // 2) / sr
    mix = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)]).astype(np.float32) * 0.3
    stems = sep.separate(mix, sr=sr)
    assert sorted(stems) == ["bass", "vocals"]
    for stem in stems.values():
        assert stem.shape == mix.shape and np.isfinite(stem).all()
    assert sep.identity.startswith("openunmix:umxhq:")
