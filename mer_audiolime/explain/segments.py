"""Temporal segmentation: the sample bounds of the time segments every stem (or grid band) is cut into."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..exceptions import AudioTooShortError, ParameterError

__all__ = ["segment_bounds"]


def segment_bounds(
    n_samples: int,
    *,
    sr: int,
    segments: int | float | Sequence | None = 1,
    segment_seconds: float | None = None,
) -> np.ndarray:
    """Temporal segmentation as sample bounds.

    Parameters
    ----------
    n_samples : int
        Length of the signal.
    sr : int
        Sample rate (Hz).
    segments : int or sequence of float, optional
        An int cuts the signal into that many equal segments (the last absorbs the remainder); a sequence of
        boundary times in seconds (e.g. ``[0, 2.5, 7, 10]``, or inner boundaries only) gives manual bounds.
    segment_seconds : float, optional
        Fixed segment length in seconds instead of a count (the last segment may be shorter).

    Returns
    -------
    np.ndarray, shape (S, 2), int64 — ``[start, stop)`` per segment, covering ``[0, n_samples)`` exactly.

    Examples
    --------
    >>> segment_bounds(10, sr=1, segments=3).tolist()
    [[0, 3], [3, 6], [6, 10]]
    """
    if segment_seconds is not None:
        number = isinstance(segment_seconds, (int, float, np.number)) and not isinstance(
            segment_seconds, (bool, np.bool_))
        if not number or not np.isfinite(segment_seconds) or segment_seconds <= 0:
            raise ParameterError(f"segment_seconds must be a positive number, got {segment_seconds!r}.")
        step = int(round(segment_seconds * sr))
        if step < 1:
            raise ParameterError(f"segment_seconds={segment_seconds} is shorter than one sample at {sr} Hz.")
        if step > n_samples:
            raise AudioTooShortError(
                f"the audio is {n_samples / sr:.3f} s long, shorter than one {segment_seconds} s segment; use a "
                "shorter segment_seconds or a longer excerpt."
            )
        starts = np.arange(0, n_samples, step)
        stops = np.append(starts[1:], n_samples)
        return np.stack([starts, stops], axis=1).astype(np.int64)
    if segments is None:
        segments = 1
    if isinstance(segments, (bool, np.bool_)):
        raise ParameterError(f"segments must be an int or a list of times, got {segments!r}.")
    if isinstance(segments, (int, np.integer)):
        count = int(segments)
        if count < 1:
            raise ParameterError(f"segments must be >= 1, got {count}.")
        if count > n_samples:
            raise AudioTooShortError(
                f"cannot cut {n_samples} samples into {count} segments; use fewer segments or a longer excerpt."
            )
        min_len = n_samples // count
        if min_len < max(1, sr // 100):  # segments under 10 ms carry no listenable content
            raise AudioTooShortError(
                f"the audio is {n_samples / sr:.3f} s long: {count} segments would be "
                f"{1000 * min_len / sr:.1f} ms each (< 10 ms); use fewer segments or a longer excerpt."
            )
        starts = (np.arange(count) * min_len).astype(np.int64)
        stops = np.append(starts[1:], n_samples)
        return np.stack([starts, stops], axis=1)
    try:
        times = np.asarray(list(segments), dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"segments must be an int or a sequence of boundary times (s), got {segments!r}.")
    if times.size == 0:
        raise ParameterError("segments is an empty list of boundary times; pass an int (e.g. 1 for whole "
                             "stems) or at least one boundary in seconds.")
    if times.ndim == 1 and np.any(times < 0):
        raise ParameterError(f"segment boundaries must be >= 0 s, got {segments!r}.")
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise ParameterError(f"segment boundaries must be finite times in seconds, got {segments!r}.")
    edges = np.round(times * sr).astype(np.int64)
    if edges.size == 0 or edges[0] != 0:
        edges = np.insert(edges, 0, 0)
    if edges[-1] != n_samples:
        if edges[-1] > n_samples:
            raise AudioTooShortError(
                f"segment boundary {times.max():.3f} s lies beyond the end of the audio ({n_samples / sr:.3f} s); "
                "drop it or pass a longer excerpt."
            )
        edges = np.append(edges, n_samples)
    if np.any(np.diff(edges) <= 0):
        raise ParameterError(f"segment boundaries must be strictly increasing, got {segments!r}.")
    return np.stack([edges[:-1], edges[1:]], axis=1)
