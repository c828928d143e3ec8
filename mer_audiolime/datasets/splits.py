"""Deterministic train/test splits over any loader.

* :func:`single_artist_split` — the paper's test split: the test set is drawn from songs whose artist has only
  one song in the dataset, so no artist is in both train and test (used for PMEmo in Chowdhury et al. 2021,
  and for the Mid-level dataset in Chowdhury et al. 2019).
* :func:`random_split` — seeded partition of track ids into named fractions.
* :func:`official_split` — the dataset's own split when it has one (emoMusic's MediaEval 2013 sets,
  MTG-Jamendo's five splits).

All functions sort ids before drawing, so a split depends only on the ids, the fractions and the seed — never
on dictionary order or on the global numpy RNG.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np

from ..exceptions import DatasetError, ParameterError

__all__ = ["single_artist_split", "random_split", "official_split"]


def _sorted_ids(ids) -> list:
    return sorted((str(i) for i in ids), key=lambda s: (0, int(s), "") if s.isdigit() else (1, 0, s))


def _count(size, n: int, *, name: str) -> int:
    if isinstance(size, bool):
        raise ParameterError(f"{name} must be a fraction in (0, 1) or a positive count, got {size!r}.")
    if isinstance(size, (int, np.integer)):
        k = int(size)
    elif isinstance(size, float) and 0.0 < size < 1.0:
        k = int(round(size * n))
    else:
        raise ParameterError(f"{name} must be a fraction in (0, 1) or a positive count, got {size!r}.")
    if k < 1:
        raise ParameterError(f"{name}={size!r} selects no track out of {n}; ask for more.")
    return k


def single_artist_split(
    dataset,
    *,
    test_size=0.1,
    seed: int = 0,
    track_ids: Sequence[str] | None = None,
    artist: Callable | str = "artist",
) -> dict:
    """Hold out songs by artists that have exactly one song in the dataset.

    Parameters
    ----------
    dataset : mirdata.core.Dataset
        Any loader whose tracks expose an artist (e.g. PMEmo, Mid-level, emoMusic, DEAM with metadata).
    test_size : float or int
        Fraction of all considered tracks, or a number of tracks, for the test set.
    seed : int
        Seed of the draw among single-song artists (``numpy.random.default_rng(seed)``).
    track_ids : sequence of str, optional
        Restrict to these tracks (default: all).
    artist : str or callable
        Track attribute holding the artist, or ``f(track) -> str``. Tracks without an artist are never put in
        the test set.

    Returns
    -------
    dict
        ``{"train": [...], "test": [...]}``, ids sorted.

    Raises
    ------
    ParameterError
        Fewer single-song artists than requested test tracks.

    Examples
    --------
    >>> split = single_artist_split(load("pmemo", data_home=...), test_size=0.1, seed=0)  # doctest: +SKIP
    """
    ids = _sorted_ids(dataset.track_ids if track_ids is None else track_ids)
    if not ids:
        raise DatasetError("no tracks to split.")
    get = artist if callable(artist) else (lambda t: getattr(t, artist))
    artist_of = {}
    for tid in ids:
        name = get(dataset.track(tid))
        artist_of[tid] = None if name is None else str(name).strip().lower() or None
    counts = Counter(a for a in artist_of.values() if a is not None)
    singles = [tid for tid in ids if artist_of[tid] is not None and counts[artist_of[tid]] == 1]
    k = _count(test_size, len(ids), name="test_size")
    if k > len(singles):
        raise ParameterError(
            f"test_size asks for {k} tracks but only {len(singles)} songs have an artist with a single song; "
            "lower test_size."
        )
    rng = np.random.default_rng(seed)
    test = set(np.asarray(singles, dtype=object)[rng.choice(len(singles), size=k, replace=False)].tolist())
    return {"train": [t for t in ids if t not in test], "test": [t for t in ids if t in test]}


def random_split(
    track_ids: Sequence[str],
    *,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    names: Sequence[str] = ("train", "validation", "test"),
    seed: int = 0,
) -> dict:
    """Seeded partition of ``track_ids`` into named parts.

    Parameters
    ----------
    track_ids : sequence of str
    fractions : sequence of float
        Positive, summing to 1.
    names : sequence of str
        One name per fraction.
    seed : int

    Returns
    -------
    dict
        ``{name: [ids...]}``; every id lands in exactly one part; ids within a part are sorted.
    """
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or len(fr) != len(names) or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise ParameterError(
            "fractions must be positive, one per name, and sum to 1; "
            f"got {list(fractions)} for {list(names)}."
        )
    ids = _sorted_ids(track_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    bounds = np.round(np.cumsum(fr) * len(ids)).astype(int)
    out, start = {}, 0
    for name, stop in zip(names, bounds):
        out[name] = _sorted_ids(ids[i] for i in order[start:stop])
        start = stop
    return out


def official_split(dataset, **kwargs) -> dict:
    """The dataset's own split (``dataset.get_track_splits(**kwargs)``); a clear error when it has none."""
    try:
        splits = dataset.get_track_splits(**kwargs)
    except NotImplementedError:
        raise DatasetError(
            f"{dataset.name} has no official split; use single_artist_split or random_split."
        ) from None
    return {str(k): _sorted_ids(v) for k, v in splits.items()}
