"""Training items over a registered loader's tracks (used by ``mer-audiolime train`` and the zoo's
shipping script; no torch import at module level, so the CLI's ``--help`` stays fast)."""

from __future__ import annotations

import numpy as np

from .. import datasets
from ..audio import conform
from ..exceptions import DatasetError

__all__ = ["TrackItems", "track_targets", "tracks_dataset"]


class TrackItems:
    """A torch-style dataset over mirdata-style tracks exposing ``audio`` and ``midlevel`` / ``emotion``.

    Items are ``(waveform (L,) float32 mono at sample_rate, {"midlevel": (7,), "emotion": (E,)})``; missing
    targets are NaN.

    Examples
    --------
    >>> items = TrackItems(tracks, sample_rate=22050, emotion_names=["valence"],  # doctest: +SKIP
    ...                    midlevel_names=MIDLEVEL_NAMES)
    """

    def __init__(self, tracks, *, sample_rate: int, emotion_names, midlevel_names):
        self.tracks = list(tracks)
        self.sample_rate = sample_rate
        self.emotion_names = list(emotion_names)
        self.midlevel_names = list(midlevel_names)

    def __len__(self):
        return len(self.tracks)

    def __getitem__(self, i):
        track = self.tracks[i]
        audio, sr = track.audio
        wave = conform(audio, sr=int(sr), target_sr=self.sample_rate, channels=1)[0]
        return wave, {"midlevel": track_targets(track, "midlevel", self.midlevel_names),
                      "emotion": track_targets(track, "emotion", self.emotion_names)}


def track_targets(track, group, names):
    """Target vector of ``track`` for ``names`` from its ``group`` dict (or ``static_targets`` / attributes);
    NaN where a target is missing."""
    values = getattr(track, group, None)
    if not isinstance(values, dict):
        values = getattr(track, "static_targets", None)
    if not isinstance(values, dict):
        values = {n: getattr(track, n, None) for n in names}
    return np.array([np.nan if values.get(n) is None else float(values[n]) for n in names])


def tracks_dataset(name: str, *, data_home=None, split=None, variant=None, sample_rate: int = 22050,
                   emotion_names=None, midlevel_names=None):
    """A training dataset over a registered loader's tracks (optionally those of one ``split``).

    Tracks need ``audio`` and targets as ``midlevel`` / ``emotion`` dicts, a ``static_targets`` dict, or one
    attribute per target name; missing targets become NaN (left out of the loss). ``variant`` is the
    loader's index version (e.g. ``clean`` / ``biased`` for the synthetic benchmark).

    Returns
    -------
    dataset or None
        None when the loader's tracks have no ``split`` and ``split`` is not ``"train"`` (the caller then
        holds out part of the training set).
    """
    from .heads import MIDLEVEL_NAMES  # heads imports torch; the models command line imports this module

    loader = datasets.load(name, data_home=data_home, version=variant or "default")
    tracks = [loader.track(t) for t in loader.track_ids]
    if not tracks:
        raise DatasetError(f"dataset {name!r} has no tracks (data_home={data_home!r}).")
    if split is not None:
        if hasattr(tracks[0], "split"):
            tracks = [t for t in tracks if t.split == split]
        elif split != "train":
            return None
    if not tracks:
        splits = sorted({t.split for t in (loader.track(i) for i in loader.track_ids)})
        raise DatasetError(f"dataset {name!r} has no tracks in split {split!r}; its splits are {splits}.")
    first_targets = getattr(tracks[0], "TARGET_NAMES", ()) or ()
    emotions = (emotion_names or [n for n in first_targets if n not in MIDLEVEL_NAMES]
                or ["valence", "arousal"])
    out = TrackItems(tracks, sample_rate=sample_rate, emotion_names=emotions,
                        midlevel_names=midlevel_names or MIDLEVEL_NAMES)
    out.index_version = getattr(loader, "version", None)
    return out
