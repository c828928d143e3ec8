"""A torch ``Dataset`` over any loader: track -> (fixed-length audio at the model's rate, scaled targets).

Clips are brought to one length the way the paper's training code does it: a clip longer than the window is
cropped (a seeded random window for training, or the start/centre for evaluation) and a shorter one is
*loop-padded* — repeated end to end — so the model never sees digital silence it would have to explain
(``pad="zero"`` appends zeros instead; ``clip_seconds="full"`` serves whole clips and leaves the length to
the training code). Targets come as one flat vector, or grouped (``target_groups``) as the training code
of :mod:`mer_audiolime.models.training` reads them: ``{"midlevel": (7,), "emotion": (E,)}`` with NaN where
a rating is missing. :func:`split_dataset` builds the training sets of a registered loader's splits.
Decoded, resampled audio is cached in memory and, optionally, on disk (``.npy`` keyed by the file's path,
size, modification time, rate and channel count), so each file is decoded once.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset as _TorchDataset

from . import load as load_dataset
from ..audio_signal import conform
from ..exceptions import DatasetError, ParameterError
from ..names import EMOTION_NAMES, MIDLEVEL_NAMES

__all__ = ["TrackDataset", "fit_length", "split_dataset"]

_CROPS = ("random", "start", "center")
_PADS = ("loop", "zero")
_SCALES = (None, "range", "standardize")
_MISSING = ("raise", "skip", "nan")


def fit_length(
    audio: np.ndarray, length: int, *, crop: str = "start", pad: str = "loop", rng=None
) -> np.ndarray:
    """Crop or pad ``(channels, samples)`` audio to exactly ``length`` samples.

    Parameters
    ----------
    audio : np.ndarray, shape (channels, samples)
    length : int
        Target number of samples.
    crop : {"random", "start", "center"}
        Which window of a longer clip to keep; ``"random"`` needs ``rng``.
    pad : {"loop", "zero"}
        How to lengthen a shorter clip: repeat it end to end, or append zeros.
    rng : numpy.random.Generator, optional

    Returns
    -------
    np.ndarray, shape (channels, length), float32

    Examples
    --------
    >>> fit_length(np.arange(3.0)[None], 7)[0].tolist()
    [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0]
    """
    if crop not in _CROPS:
        raise ParameterError(f"crop must be one of {_CROPS}, got {crop!r}.")
    if pad not in _PADS:
        raise ParameterError(f"pad must be one of {_PADS}, got {pad!r}.")
    n = audio.shape[-1]
    if n == 0:
        raise DatasetError("cannot fit an empty clip to a length; the audio file decoded to no samples.")
    if n >= length:
        if crop == "start":
            start = 0
        elif crop == "center":
            start = (n - length) // 2
        else:
            if rng is None:
                raise ParameterError("crop='random' needs rng=np.random.default_rng(seed).")
            start = int(rng.integers(0, n - length + 1))
        return np.ascontiguousarray(audio[:, start : start + length], dtype=np.float32)
    if pad == "loop":
        reps = -(-length // n)
        return np.ascontiguousarray(np.tile(audio, (1, reps))[:, :length], dtype=np.float32)
    out = np.zeros((audio.shape[0], length), dtype=np.float32)
    out[:, :n] = audio
    return out


class TrackDataset(_TorchDataset):
    """Torch dataset of ``(audio, targets)`` pairs from any mirdata-style loader of this package.

    Parameters
    ----------
    dataset : mirdata.core.Dataset
        E.g. ``mer_audiolime.datasets.load("pmemo", data_home=...)``.
    track_ids : sequence of str, optional
        The tracks to serve, in order (e.g. one part of
        :func:`~mer_audiolime.datasets.splits.single_artist_split`).
        Default: all.
    targets : sequence of str, optional
        Target names (track attributes such as ``"arousal"`` or ``"rhythm_stability"``). Default: the
        track class's ``TARGET_NAMES``.
    target_groups : dict, optional
        ``{group: [names]}``, e.g. ``{"midlevel": MIDLEVEL_NAMES, "emotion": EMOTION_NAMES}``
        (instead of ``targets``): items carry ``{group: tensor (len(names),)}``, the form
        :func:`mer_audiolime.models.training.train` reads. A value is looked up in the track's ``<group>``
        dict when it has one, else in its ``static_targets`` dict, else as an attribute.
    model : object, optional
        A Predictor: its ``sample_rate``, ``channels`` and (if present) ``clip_seconds`` are used as defaults.
    sample_rate : int, optional
        Output rate in Hz (required unless ``model`` has one).
    clip_seconds : float or "full", optional
        Window length in seconds (required unless ``model`` has ``clip_seconds``); ``"full"`` serves each
        whole clip (lengths differ; ``crop`` and ``pad`` are unused).
    channels : int
        Output channels (1 = mono average).
    crop : {"random", "start", "center"}
        Window of a longer clip; ``"random"`` is reproducible from ``seed`` and :meth:`set_epoch`.
    pad : {"loop", "zero"}
        Lengthening of a shorter clip (the paper loop-pads).
    scale : {None, "range", "standardize"}
        ``"range"`` maps each target from the dataset's rating scale (``TARGET_RANGES``, or ``ranges``) to
        ``target_range``; ``"standardize"`` subtracts the mean and divides by the std of ``stats`` (default:
        computed on these tracks — pass the training set's :attr:`target_stats` to a test set).
    target_range : (float, float)
    ranges : dict, optional
        ``{name: (low, high)}`` overriding the dataset's rating scales.
    stats : dict, optional
        ``{name: (mean, std)}`` for ``scale="standardize"``.
    missing : {"raise", "skip", "nan"}
        A track lacking a target value (None or NaN) raises, is dropped (listed in :attr:`skipped`), or is
        served with NaN in its place (the training code leaves NaN out of the loss).
    skip_missing : bool
        Shorthand for ``missing="skip"``.
    cache_dir : str or path-like, optional
        Folder for decoded ``.npy`` audio.
    memory_cache : bool
        Keep decoded audio in memory (per worker process).
    seed : int
    return_track_id : bool
        Return ``(audio, targets, track_id)``.

    Examples
    --------
    >>> ds = TrackDataset(load("pmemo", data_home=...), sample_rate=22050, clip_seconds=15,
    ...                   scale="range", target_range=(-1, 1))                        # doctest: +SKIP
    >>> audio, y = ds[0]; audio.shape, y.shape                                        # doctest: +SKIP
    (torch.Size([1, 330750]), torch.Size([2]))
    """

    def __init__(
        self,
        dataset,
        *,
        track_ids: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
        target_groups: dict | None = None,
        model=None,
        sample_rate: int | None = None,
        clip_seconds: float | str | None = None,
        channels: int | None = None,
        crop: str = "random",
        pad: str = "loop",
        scale: str | None = None,
        target_range=(0.0, 1.0),
        ranges: dict | None = None,
        stats: dict | None = None,
        missing: str = "raise",
        skip_missing: bool = False,
        cache_dir=None,
        memory_cache: bool = True,
        seed: int = 0,
        return_track_id: bool = False,
    ):
        sample_rate = sample_rate if sample_rate is not None else getattr(model, "sample_rate", None)
        clip_seconds = clip_seconds if clip_seconds is not None else getattr(model, "clip_seconds", None)
        channels = channels if channels is not None else int(getattr(model, "channels", 1) or 1)
        if sample_rate is None or isinstance(sample_rate, bool) or int(sample_rate) <= 0:
            raise ParameterError(f"sample_rate must be a positive int (or pass model=), got {sample_rate!r}.")
        full = isinstance(clip_seconds, str) and clip_seconds == "full"
        bad_clip = clip_seconds is None or isinstance(clip_seconds, str) or not float(clip_seconds) > 0
        if not full and bad_clip:
            raise ParameterError(
                f"clip_seconds must be > 0 or 'full' (or a model with clip_seconds), got {clip_seconds!r}."
            )
        if crop not in _CROPS or pad not in _PADS or scale not in _SCALES or missing not in _MISSING:
            raise ParameterError(
                f"crop must be in {_CROPS}, pad in {_PADS}, scale in {_SCALES}, missing in {_MISSING}; "
                f"got {crop!r}, {pad!r}, {scale!r}, {missing!r}."
            )
        if skip_missing:
            missing = "skip"
        self.dataset = dataset
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.clip_seconds = None if full else float(clip_seconds)
        self.length = None if full else int(round(self.clip_seconds * self.sample_rate))
        self.crop, self.pad, self.scale, self.seed = crop, pad, scale, int(seed)
        self.return_track_id = bool(return_track_id)
        self.epoch = 0
        ids = list(dataset.track_ids if track_ids is None else (str(t) for t in track_ids))
        known = set(dataset.track_ids)
        unknown = [t for t in ids if t not in known]
        if unknown:
            more = " ..." if len(unknown) > 5 else ""
            raise DatasetError(f"track ids not in {dataset.name}: {unknown[:5]}{more}.")
        if not ids:
            raise DatasetError("TrackDataset needs at least one track.")
        if target_groups is not None:
            if targets is not None:
                raise ParameterError("pass targets= or target_groups=, not both.")
            self.target_groups = {str(g): list(n) for g, n in dict(target_groups).items()}
            names = [n for group in self.target_groups.values() for n in group]
        elif targets is not None:
            self.target_groups = None
            names = list(targets)
        else:
            self.target_groups = None
            names = list(getattr(dataset.track(ids[0]), "TARGET_NAMES", ()))
        if not names:
            raise ParameterError(
                f"{dataset.name} tracks declare no numeric targets; pass targets=[...] names."
            )
        self.target_names = names
        raw, kept, self.skipped = [], [], []
        for tid in ids:
            track = dataset.track(tid)
            values = self._read_targets(track, names)
            if missing == "nan":
                values = [np.nan if _is_missing(v) else v for v in values]
            elif any(v is None for v in values):
                if missing == "skip":
                    self.skipped.append(tid)
                    continue
                lacking = [n for n, v in zip(names, values) if v is None]
                raise DatasetError(
                    f"{dataset.name} track {tid} has no value for {lacking}; "
                    "pass missing='skip' to drop such tracks or missing='nan' to serve NaN."
                )
            for n, v in zip(names, values):
                if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                    raise ParameterError(
                        f"target {n!r} of {dataset.name} is {type(v).__name__}, not a number."
                    )
                if not np.isfinite(v) and not (missing == "nan" and np.isnan(v)):
                    raise DatasetError(
                        f"{dataset.name} track {tid}: target {n!r} is {v}, not a finite number."
                    )
            raw.append([float(v) for v in values])
            kept.append(tid)
        if not kept:
            raise DatasetError("every requested track lacks a target value; nothing to serve.")
        self.track_ids = kept
        self.raw_targets = np.asarray(raw, dtype=np.float64)
        self.target_range = (float(target_range[0]), float(target_range[1]))
        self._ranges = self._resolve_ranges(ranges)
        # NaN (missing="nan") is left out of the statistics (a target never rated gets NaN ones); plain
        # mean/std otherwise.
        mean, std = (np.nanmean, np.nanstd) if np.isnan(self.raw_targets).any() else (np.mean, np.std)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.target_stats = stats if stats is not None else {
                n: (float(mean(self.raw_targets[:, j])), float(std(self.raw_targets[:, j])))
                for j, n in enumerate(names)
            }
        self.targets = self.scale_targets(self.raw_targets).astype(np.float32)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._memory = {} if memory_cache else None

    # ------------------------------------------------------------------ targets
    def _read_targets(self, track, names) -> list:
        if self.target_groups is None:
            return [getattr(track, n, None) for n in names]
        values = []
        for group, group_names in self.target_groups.items():
            table = getattr(track, group, None)
            if not isinstance(table, dict):
                table = getattr(track, "static_targets", None)
            if not isinstance(table, dict):
                table = {n: getattr(track, n, None) for n in group_names}
            values.extend(table.get(n) for n in group_names)
        return values

    def _resolve_ranges(self, ranges):
        if self.scale != "range":
            return {}
        table = dict(getattr(self.dataset, "TARGET_RANGES", {}) or {})
        table.update(ranges or {})
        missing = [n for n in self.target_names if n not in table]
        if missing:
            raise ParameterError(
                f"scale='range' needs a rating range for {missing}; pass ranges={{name: (lo, hi)}}."
            )
        return {n: (float(table[n][0]), float(table[n][1])) for n in self.target_names}

    def scale_targets(self, values: np.ndarray) -> np.ndarray:
        """Apply the configured scaling to raw target values, shape ``(..., T)``."""
        values = np.asarray(values, dtype=np.float64)
        if self.scale is None:
            return values
        out = np.empty_like(values)
        a, b = self.target_range
        for j, n in enumerate(self.target_names):
            if self.scale == "range":
                lo, hi = self._ranges[n]
                out[..., j] = (values[..., j] - lo) / (hi - lo) * (b - a) + a
            else:
                mean, std = self.target_stats[n]
                if not std > 0:
                    raise DatasetError(f"target {n!r} has zero spread on these tracks; cannot standardize.")
                out[..., j] = (values[..., j] - mean) / std
        return out

    def unscale_targets(self, values: np.ndarray) -> np.ndarray:
        """Invert :meth:`scale_targets` (e.g. to report predictions on the dataset's own scale)."""
        values = np.asarray(values, dtype=np.float64)
        if self.scale is None:
            return values
        out = np.empty_like(values)
        a, b = self.target_range
        for j, n in enumerate(self.target_names):
            if self.scale == "range":
                lo, hi = self._ranges[n]
                out[..., j] = (values[..., j] - a) / (b - a) * (hi - lo) + lo
            else:
                mean, std = self.target_stats[n]
                out[..., j] = values[..., j] * std + mean
        return out

    # -------------------------------------------------------------------- audio
    def set_epoch(self, epoch: int) -> None:
        """Choose the random crops of epoch ``epoch`` (same epoch + seed -> same crops)."""
        self.epoch = int(epoch)

    def _cache_key(self, track, path) -> str:
        stat = os.stat(path)
        parts = (self.dataset.name, track.track_id, os.path.abspath(path), stat.st_size, stat.st_mtime_ns,
                 self.sample_rate, self.channels)
        raw = "|".join(str(p) for p in parts)
        return hashlib.sha1(raw.encode()).hexdigest()

    def decoded(self, track_id: str) -> np.ndarray:
        """Full decoded clip of ``track_id`` at ``sample_rate`` with ``channels`` channels (cached)."""
        if self._memory is not None and track_id in self._memory:
            return self._memory[track_id]
        track = self.dataset.track(track_id)
        path = getattr(track, "audio_path", None)
        cache_file = None
        if path is not None and self.cache_dir is not None and os.path.exists(path):
            cache_file = self.cache_dir / f"{self._cache_key(track, path)}.npy"
            if cache_file.is_file():
                audio = np.load(cache_file)
                if self._memory is not None:
                    self._memory[track_id] = audio
                return audio
        native, sr = track.audio  # the loader's decoder: typed errors, truncation check
        audio = conform(native, sr=int(sr), target_sr=self.sample_rate, channels=self.channels)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, audio)
            os.replace(tmp, cache_file)
        if self._memory is not None:
            self._memory[track_id] = audio
        return audio

    def __len__(self) -> int:
        return len(self.track_ids)

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} tracks")
        index = index % len(self)
        tid = self.track_ids[index]
        if self.length is None:
            audio = np.array(self.decoded(tid), dtype=np.float32)  # a copy: the cache stays untouched
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index]) if self.crop == "random" else None
            audio = fit_length(self.decoded(tid), self.length, crop=self.crop, pad=self.pad, rng=rng)
        x = torch.from_numpy(audio)
        y = torch.from_numpy(self.targets[index].copy())
        if self.target_groups is not None:
            bounds = np.cumsum([0] + [len(n) for n in self.target_groups.values()])
            y = {g: y[a:b] for g, a, b in zip(self.target_groups, bounds[:-1], bounds[1:])}
        return (x, y, tid) if self.return_track_id else (x, y)


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def split_dataset(name: str, *, split: str | None = None, data_home=None, variant: str | None = None,
                  sample_rate: int = 22050, emotion_names=None, midlevel_names=None) -> TrackDataset | None:
    """Training set of one ``split`` of a registered loader: whole mono clips with grouped targets.

    The tracks are served in the loader's order as ``(audio (1, L), {"midlevel": (7,), "emotion": (E,)})``
    with NaN for a missing rating and no scaling (``clip_seconds="full"``, ``missing="nan"``): the training
    code crops or zero-pads them and standardises the targets itself (``mer-audiolime train`` and the model
    zoo's shipping script read their data through this function).

    Parameters
    ----------
    name : str
        A registered loader (``mer_audiolime.datasets.list_datasets()``).
    split : str, optional
        Keep the tracks whose ``split`` is this; a loader whose tracks have no split serves every track for
        ``"train"`` and None otherwise. Default: every track.
    data_home : str or path-like, optional
    variant : str, optional
        The loader's index version (e.g. ``clean`` / ``biased`` for the synthetic benchmark).
    sample_rate : int
        Output rate in Hz.
    emotion_names, midlevel_names : sequence of str, optional
        Target names of the two groups. Default: the track class's ``TARGET_NAMES`` that are not mid-level
        features (else valence and arousal), and :data:`~mer_audiolime.names.MIDLEVEL_NAMES`.

    Returns
    -------
    TrackDataset or None
        With ``emotion_names``, ``midlevel_names`` and ``index_version`` attributes; None for a split the
        loader does not have (the caller then holds out part of the training set).

    Examples
    --------
    >>> train = split_dataset("synthetic", split="train", data_home=..., variant="biased")  # doctest: +SKIP
    >>> audio, targets = train[0]; audio.shape, targets["emotion"].shape  # doctest: +SKIP
    (torch.Size([1, 220500]), torch.Size([2]))
    """
    loader = load_dataset(name, data_home=data_home, version=variant or "default")
    ids = list(loader.track_ids)
    if not ids:
        raise DatasetError(f"dataset {name!r} has no tracks (data_home={data_home!r}).")
    if split is not None:
        if hasattr(loader.track(ids[0]), "split"):
            ids = [t for t in ids if loader.track(t).split == split]
        elif split != "train":
            return None
    if not ids:
        splits = sorted({loader.track(t).split for t in loader.track_ids})
        raise DatasetError(f"dataset {name!r} has no tracks in split {split!r}; its splits are {splits}.")
    first_targets = getattr(loader.track(ids[0]), "TARGET_NAMES", ()) or ()
    emotions = list(emotion_names or [n for n in first_targets if n not in MIDLEVEL_NAMES] or EMOTION_NAMES)
    midlevel = list(midlevel_names or MIDLEVEL_NAMES)
    out = TrackDataset(loader, track_ids=ids, target_groups={"midlevel": midlevel, "emotion": emotions},
                       sample_rate=sample_rate, clip_seconds="full", channels=1, missing="nan",
                       memory_cache=False)
    out.emotion_names, out.midlevel_names = emotions, midlevel
    out.index_version = getattr(loader, "version", None)
    return out

