"""Dynamic (time-varying) arousal/valence ratings: wide per-song time series and their merged form.

:func:`dynamic_from_wide` parses a wide ``song_id, sample_15000ms, ...`` file (strictly, as targets);
:func:`merge_dynamic` combines the arousal and valence series of one track into a :class:`DynamicEmotion`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..exceptions import DatasetError
from ._targets import clean_id, read_table, to_float

__all__ = ["DynamicEmotion", "dynamic_from_wide", "merge_dynamic"]


@dataclass(frozen=True)
class DynamicEmotion:
    """Continuous (time-varying) arousal/valence ratings of one track.

    Attributes
    ----------
    times : np.ndarray, shape (T,)
        Frame times in seconds from the start of the audio file.
    arousal, valence : np.ndarray, shape (T,)
        Mean ratings at those times, on the dataset's own scale (see the dataset card).
    """

    times: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray

    def __len__(self) -> int:
        return int(self.times.shape[0])


def dynamic_from_wide(path, *, id_column: str = "song_id") -> dict:
    """Parse a wide per-song time series (``song_id, sample_15000ms, sample_15500ms, ...``).

    Returns ``{track_id: (times_seconds, values)}``. Empty cells (shorter songs end early; a trailing comma
    gives an empty, unnamed last column) are dropped; a non-numeric cell raises :class:`DatasetError` naming
    file, line and column.
    """
    header, rows = read_table(path, required=[id_column])
    time_cols = []
    for col in header:
        if col == id_column or col == "":
            continue
        match = re.fullmatch(r"sample_(\d+)ms", col)
        if match is None:
            raise DatasetError(f"{str(path)!r}: unexpected column {col!r}; expected 'sample_<ms>ms' columns.")
        time_cols.append((col, int(match.group(1)) / 1000.0))
    out = {}
    for line_no, row in rows:
        times, values = [], []
        for col, t in time_cols:
            v = to_float(row[col], where=f"{path} line {line_no}", column=col, allow_missing=True)
            if v is not None:
                times.append(t)
                values.append(v)
        out[clean_id(row[id_column])] = (np.asarray(times, dtype=np.float64), np.asarray(values, np.float64))
    return out


def merge_dynamic(arousal: dict, valence: dict, track_id: str):
    """Combine per-dimension series into a :class:`DynamicEmotion`, or None when a dimension is absent."""
    if track_id not in arousal or track_id not in valence:
        return None
    (ta, a), (tv, v) = arousal[track_id], valence[track_id]
    n = min(len(ta), len(tv))
    if n == 0:
        return None
    if not np.allclose(ta[:n], tv[:n]):
        raise DatasetError(f"track {track_id}: arousal and valence series have different time stamps.")
    return _dynamic(ta[:n], a[:n], v[:n])


def _dynamic(times, arousal, valence):
    return DynamicEmotion(times=times, arousal=arousal, valence=valence)
