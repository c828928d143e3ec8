"""Reading training items: ``(waveform, targets)`` pairs or dicts -> fixed-length mono arrays and target
vectors."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ..exceptions import ParameterError

__all__ = ["load_items", "parse_item"]


def load_items(dataset, *, n_mid: int, n_emo: int, clip_samples: int | None, midlevel_names, emotion_names):
    """Read every item of ``dataset``.

    Returns
    -------
    waves : np.ndarray, shape (N, clip_samples), float32
        Mono, cropped or zero padded (``clip_samples`` None: the first item's length).
    mids : np.ndarray, shape (N, n_mid)
    emos : np.ndarray, shape (N, n_emo)
        Targets, NaN where missing.
    clip_samples : int
    """
    waves, mids, emos = [], [], []
    for i in range(len(dataset)):
        wave, mid, emo = parse_item(dataset[i], n_mid, n_emo, midlevel_names, emotion_names, i)
        if clip_samples is None:
            clip_samples = wave.shape[-1]
        if wave.shape[-1] >= clip_samples:
            wave = wave[:clip_samples]
        else:
            wave = np.pad(wave, (0, clip_samples - wave.shape[-1]))
        waves.append(wave)
        mids.append(mid)
        emos.append(emo)
    if not waves:
        raise ParameterError("the dataset is empty.")
    return np.stack(waves), np.stack(mids), np.stack(emos), clip_samples


def parse_item(item, n_mid, n_emo, midlevel_names, emotion_names, index):
    """One item -> ``(wave (L,), mid (n_mid,), emo (n_emo,))``; see :mod:`mer_audiolime.models.training`."""
    if isinstance(item, Mapping):
        wave = item.get("audio", item.get("waveform"))
        targets = {k: item[k] for k in ("midlevel", "emotion") if k in item}
    elif isinstance(item, (tuple, list)) and len(item) >= 2:
        wave, targets = item[0], item[1]
    else:
        raise ParameterError(f"dataset item {index} must be (waveform, targets) or a dict, got {type(item)}.")
    if wave is None:
        raise ParameterError(f"dataset item {index} has no waveform ('audio' / 'waveform').")
    wave = np.asarray(wave.detach().cpu() if torch.is_tensor(wave) else wave, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=0)
    elif wave.ndim != 1:
        raise ParameterError(f"waveform of item {index} must be (L,) or (C, L), got shape {wave.shape}.")
    mid = np.full(n_mid, np.nan, np.float32)
    emo = np.full(n_emo, np.nan, np.float32)
    if isinstance(targets, Mapping):
        if "midlevel" in targets and n_mid:
            mid = _vector(targets["midlevel"], midlevel_names, "midlevel", index)
        if "emotion" in targets:
            emo = _vector(targets["emotion"], emotion_names, "emotion", index)
    else:
        flat = _vector(targets, None, "targets", index)
        if flat.size == n_mid + n_emo:
            mid, emo = flat[:n_mid], flat[n_mid:]
        elif flat.size == n_emo and n_mid == 0:
            emo = flat
        else:
            raise ParameterError(
                f"item {index}: flat targets of length {flat.size}; expected {n_mid} mid-level + {n_emo} "
                "emotion values, or pass a dict {'midlevel': ..., 'emotion': ...}."
            )
    return wave, mid, emo


def _vector(values, names, what, index):
    if isinstance(values, Mapping):
        missing = [n for n in names if n not in values]
        if missing:
            raise ParameterError(f"item {index}: {what} targets lack {missing}.")
        values = [values[n] for n in names]
    arr = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values, dtype=np.float32).ravel()
    if names is not None and arr.size != len(names):
        raise ParameterError(
            f"item {index}: {arr.size} {what} targets, expected {len(names)} ({list(names)})."
        )
    return arr
