"""A training set for an A2Mid2E model whose mid-level layer is anchored: Mid-level Features + DEAM items.

DEAM has valence/arousal ratings but no mid-level annotations; the Mid-level Features dataset (Aljanaki &
Soleymani 2018) has the seven mid-level ratings but no emotions. This factory serves both as one torch
dataset: a Mid-level item carries only ``{"midlevel": (7,)}`` targets and a DEAM item only
``{"emotion": (2,)}`` (``TrackDataset(target_groups=...)``).
The training function (:func:`mer_audiolime.models.training.train`) z-scores each
target on the items that have it and leaves missing targets out of the loss, so the mid-level layer learns the
annotated qualities while the bias-free emotion layer learns valence and arousal on top of them.

Use it from the command line (``--option`` values reach the factory as keyword arguments)::

    mer-audiolime train --dataset docs/tutorials/midlevel_deam.py:make \\
        --option midlevel_home=/data/midlevel --option deam_home=/data/DEAM --option clip_seconds=10 \\
        --model cp_resnet --head a2mid2e --width 128 --emotions valence,arousal --out runs/midlevel_deam

Both datasets need their index first (``mer-audiolime datasets index midlevel|deam --data-home ...``). Each is
split at random (seeded) into train / validation / test = 80 / 10 / 10 %; DEAM and Mid-level have no official
split for this purpose. The training function holds every clip in memory at ``clip_seconds``: about
``n_clips x clip_seconds x 88 kB``, e.g. 6.8k clips x 10 s = 6 GB.
"""

from __future__ import annotations

from torch.utils.data import ConcatDataset

from mer_audiolime import datasets
from mer_audiolime.datasets import TrackDataset, random_split
from mer_audiolime.datasets.midlevel import FEATURES

EMOTIONS = ("valence", "arousal")
SPLITS = ("train", "validation", "test")


def make(split: str = "train", data_home=None, *, midlevel_home=None, deam_home=None,
         clip_seconds: float = 10.0, sample_rate: int = 22050, seed: int = 0, **_ignored):
    """The ``split`` part of Mid-level + DEAM as one dataset of ``(audio, {"midlevel" or "emotion": ...})``.

    Parameters
    ----------
    split : {"train", "validation", "test"}
    data_home : path, optional
        Unused (the CLI passes ``--data-home``); give ``midlevel_home`` and ``deam_home`` instead.
    midlevel_home, deam_home : path
        Local copies of the two datasets, each with its index built.
    clip_seconds : float
        Every clip is cropped (start) or loop-padded to this length.
    sample_rate : int
        Output rate in Hz (the zoo architectures expect 22,050).
    seed : int
        Seed of the random splits.

    Returns
    -------
    torch.utils.data.ConcatDataset or None
        None for an empty part; ``.midlevel_names`` and ``.emotion_names`` tell the training CLI the targets.
    """
    if midlevel_home is None or deam_home is None:
        raise ValueError("pass midlevel_home=... and deam_home=... (--option midlevel_home=DIR on the CLI).")
    parts = []
    for name, home, key, names in (("midlevel", midlevel_home, "midlevel", FEATURES),
                                   ("deam", deam_home, "emotion", EMOTIONS)):
        ds = datasets.load(name, data_home=home)
        ids = random_split(sorted(ds.track_ids), fractions=(0.8, 0.1, 0.1), names=SPLITS, seed=seed)[split]
        if ids:
            parts.append(TrackDataset(ds, track_ids=ids, target_groups={key: list(names)},
                                      sample_rate=sample_rate, clip_seconds=clip_seconds, crop="start"))
    if not parts:
        return None
    combined = ConcatDataset(parts)
    combined.midlevel_names, combined.emotion_names = list(FEATURES), list(EMOTIONS)
    return combined
