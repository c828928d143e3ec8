"""Separation quality: SDR and SI-SDR of separated stems against the true stems (torchmetrics).

Definitions (both computed by ``torchmetrics.functional.audio``, in float64, on the whole signal):

- **SDR** (BSS-eval-style, as in ``bss_eval_sources`` and fast_bss_eval): the estimate is projected onto the
  span of ``filter_length`` (default 512) delayed copies of the reference; ``SDR = 10 log10(|proj|^2 /
  |estimate - proj|^2)``. A time-invariant filter of the reference (gain, short delay, EQ) is not an error.
- **SI-SDR** (Le Roux et al. 2019): the same with a single gain instead of a filter.

Multichannel signals are scored per channel and the dB values averaged over channels. A *silent* reference
(peak at or below :data:`~mer_audiolime.audio.SILENCE_PEAK`, e.g. the vocals of a clip without vocals) has no
SDR: :func:`signal_sdr` refuses it and :func:`separation_sdr` records the estimate's leakage instead.

Examples
--------
>>> ref = np.array([1.0, 0.0, -1.0, 0.0] * 500)
>>> noise = np.array([0.0, 0.5, 0.0, -0.5] * 500)          # orthogonal to ref
>>> round(signal_si_sdr(ref + noise, ref), 3)              # 10 log10(|ref|^2 / |noise|^2) = 10 log10(4)
6.021
"""

from __future__ import annotations

import numpy as np

from ...audio import SILENCE_PEAK, as_channels_first
from ...exceptions import ParameterError
from ...validation import check_int
from ..separation import get_separator

__all__ = ["SDR_DEFINITION", "signal_sdr", "signal_si_sdr", "separation_sdr", "summarize_sdr"]

#: Text stored with published numbers (separator cards) so readers know which SDR they are reading.
SDR_DEFINITION = (
    "sdr: BSS-eval-style SDR (torchmetrics.functional.audio.signal_distortion_ratio, filter_length=512, "
    "zero_mean=False, float64), whole clip, channels averaged; si_sdr: scale-invariant SDR "
    "(torchmetrics.functional.audio.scale_invariant_signal_distortion_ratio); sdr_mix / si_sdr_mix: the same "
    "with the unprocessed mix as the estimate (the no-separation baseline); summary: per-stem median over the "
    "clips whose reference stem is not silent. leakage_db: 10 log10(|estimate|^2 / |mix|^2) on clips whose "
    "reference stem is silent."
)


def _pair(estimate, reference):
    est = as_channels_first(estimate, name="estimate").astype(np.float64)
    ref = as_channels_first(reference, name="reference").astype(np.float64)
    if est.shape != ref.shape:
        raise ParameterError(
            f"estimate and reference must have the same shape (channels, samples), got {est.shape} and "
            f"{ref.shape}; trim or pad the estimate to the reference."
        )
    if not (np.isfinite(est).all() and np.isfinite(ref).all()):
        raise ParameterError("estimate and reference must be finite (no NaN or inf samples).")
    silent = [c for c in range(ref.shape[0]) if np.max(np.abs(ref[c]), initial=0.0) <= SILENCE_PEAK]
    if silent:
        raise ParameterError(
            f"the reference is silent in channel(s) {silent}: SDR is undefined for a silent source. Score "
            "such stems by the estimate's energy instead (separation_sdr records it as leakage_db)."
        )
    return est, ref


def _per_channel(fn, est: np.ndarray, ref: np.ndarray) -> float:
    import torch

    values = []
    for c in range(ref.shape[0]):
        if np.max(np.abs(est[c]), initial=0.0) <= SILENCE_PEAK:
            values.append(-np.inf)  # a silent estimate holds none of the source
            continue
        v = float(fn(torch.from_numpy(est[c]), torch.from_numpy(ref[c])))
        # the coherence of the projection is <= 1 in exact arithmetic; NaN means it rounded to >= 1, i.e. the
        # estimate is the (filtered) reference to machine precision
        values.append(np.inf if np.isnan(v) else v)
    return float(np.mean(values))


def signal_sdr(estimate, reference, *, filter_length: int = 512) -> float:
    """BSS-eval-style SDR in dB of ``estimate`` against ``reference`` (torchmetrics).

    Parameters
    ----------
    estimate, reference : np.ndarray, shape (channels, samples) or (samples,)
        Same shape; the reference must not be silent in any channel.
    filter_length : int
        Taps of the distortion filter the reference may undergo without penalty (512 as in BSS eval).

    Returns
    -------
    float
        Mean over channels; ``inf`` when the estimate equals a filtered reference to machine precision,
        ``-inf`` when the estimate is silent.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> signal_sdr(0.5 * x, x) > 100
    True
    """
    from torchmetrics.functional.audio import signal_distortion_ratio

    filter_length = check_int(filter_length, "filter_length", minimum=1)
    est, ref = _pair(estimate, reference)
    if filter_length > ref.shape[1]:
        raise ParameterError(f"filter_length {filter_length} exceeds the signal length {ref.shape[1]}.")
    return _per_channel(lambda e, r: signal_distortion_ratio(e, r, filter_length=filter_length), est, ref)


def signal_si_sdr(estimate, reference) -> float:
    """Scale-invariant SDR in dB of ``estimate`` against ``reference`` (torchmetrics).

    ``SI-SDR = 10 log10(|a r|^2 / |a r - e|^2)`` with ``a = <e, r> / |r|^2``.

    Parameters
    ----------
    estimate, reference : np.ndarray, shape (channels, samples) or (samples,)

    Returns
    -------
    float
        Mean over channels (``-inf`` for a silent estimate).

    Examples
    --------
    >>> r = np.array([1.0, 0.0, -1.0, 0.0]); n = np.array([0.0, 0.1, 0.0, -0.1])   # n is orthogonal to r
    >>> round(signal_si_sdr(r + n, r), 6)   # 10 log10(2 / 0.02)
    20.0
    """
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

    est, ref = _pair(estimate, reference)
    return _per_channel(scale_invariant_signal_distortion_ratio, est, ref)


def _energy_ratio_db(x: np.ndarray, mix: np.ndarray) -> float:
    num, den = float(np.sum(np.square(x, dtype=np.float64))), float(np.sum(np.square(mix, dtype=np.float64)))
    if num == 0.0:
        return -np.inf
    return float(10.0 * np.log10(num / den))


def _tracks(dataset, split):
    ids = sorted(dataset.track_ids)
    tracks = [dataset.track(t) for t in ids]
    if split is not None:
        tracks = [t for t in tracks if t.split == split]
        if not tracks:
            raise ParameterError(f"the dataset has no tracks in split {split!r}.")
    return tracks


def separation_sdr(separator, dataset, *, split: str | None = "test", stems=None, filter_length: int = 512,
                   use_cache: bool = False, cache_dir=None, show_progress: bool = True):
    """Per-clip, per-stem SDR / SI-SDR of a separator on a multitrack dataset split, with the mix baseline.

    Each clip's mix (``track.audio``) is separated; every requested stem's estimate is scored against the
    true stem (``track.stems``) with :func:`signal_sdr` and :func:`signal_si_sdr`, and so is the mix itself
    (``sdr_mix``, ``si_sdr_mix``: the score with no separation at all, the baseline to beat). A stem that is
    silent in a clip (e.g. vocals of a clip without vocals) has no SDR; its estimate's energy relative to the
    mix is recorded as ``leakage_db`` (lower is better; ``-inf`` for a silent estimate).

    Parameters
    ----------
    separator : str, path or Separator
        A shipped name (``"umx-synth"``), an open-unmix name or directory, or a separator object
        (resolved by :func:`~mer_audiolime.explain.separation.get_separator`).
    dataset : mirdata-style Dataset
        Tracks with ``audio`` (mix, sr), ``stems`` (``{name: (C, L)}``) and ``split``
        (e.g. :class:`mer_audiolime.datasets.synthetic.Dataset`).
    split : str or None
        Only tracks of this split (``None``: all).
    stems : sequence of str, optional
        Stems to score (default: every stem of the dataset that the separator estimates).
    filter_length : int
        SDR distortion-filter taps.
    use_cache, cache_dir
        Cache separations on disk (:class:`~mer_audiolime.explain.separation_cache.CachedSeparator`).
    show_progress : bool
        tqdm bar over clips.

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``track_id, stem, metric, value`` with metric in ``sdr``, ``si_sdr``, ``sdr_mix``,
        ``si_sdr_mix`` (non-silent references) or ``leakage_db`` (silent references). Summarise with
        :func:`summarize_sdr`.

    Raises
    ------
    ParameterError
        Empty split, or a requested stem the separator or the dataset does not have.

    Examples
    --------
    >>> from mer_audiolime.datasets.synthetic import Dataset                                # doctest: +SKIP
    >>> rows = separation_sdr("umx-synth", Dataset(data_home="synth"), split="test")       # doctest: +SKIP
    >>> summarize_sdr(rows)                                                                 # doctest: +SKIP
    """
    import pandas as pd
    from tqdm.auto import tqdm

    filter_length = check_int(filter_length, "filter_length", minimum=1)
    sep_kwargs = {"show_progress": False} if isinstance(separator, str) else {}
    sep = get_separator(separator, use_cache=use_cache, cache_dir=cache_dir, **sep_kwargs)
    rows = []
    for track in tqdm(_tracks(dataset, split), desc="scoring separation", unit="clip", disable=not show_progress):
        mix, sr = track.audio
        mix = as_channels_first(mix)
        truth = track.stems
        est = sep.separate(mix, sr=int(sr))
        wanted = list(stems) if stems is not None else [s for s in truth if s in est]
        bad = [s for s in wanted if s not in est or s not in truth]
        if bad or not wanted:
            raise ParameterError(
                f"cannot score stem(s) {bad or wanted}: the separator estimates {sorted(est)} and the dataset "
                f"has {sorted(truth)}; pass stems= from both."
            )
        for stem in wanted:
            ref = as_channels_first(truth[stem])
            e = as_channels_first(est[stem])
            if np.max(np.abs(ref), initial=0.0) <= SILENCE_PEAK:
                rows.append((track.track_id, stem, "leakage_db", _energy_ratio_db(e, mix)))
                continue
            rows += [
                (track.track_id, stem, "sdr", signal_sdr(e, ref, filter_length=filter_length)),
                (track.track_id, stem, "si_sdr", signal_si_sdr(e, ref)),
                (track.track_id, stem, "sdr_mix", signal_sdr(mix, ref, filter_length=filter_length)),
                (track.track_id, stem, "si_sdr_mix", signal_si_sdr(mix, ref)),
            ]
    return pd.DataFrame(rows, columns=["track_id", "stem", "metric", "value"])


def _quantile(v: np.ndarray, q: float) -> float:
    """numpy's default (linear) quantile of sorted ``v``, also right when the neighbours are infinite
    (``-inf`` leakage of a silent estimate): numpy would return NaN from ``-inf + 0 * inf``."""
    pos = q * (v.size - 1)
    lo, hi = v[int(np.floor(pos))], v[int(np.ceil(pos))]
    frac = pos - np.floor(pos)
    if lo == hi or frac == 0.0:
        return float(lo)
    if np.isinf(lo) or np.isinf(hi):
        return float(lo if np.isinf(lo) else hi)
    return float(lo + frac * (hi - lo))


def summarize_sdr(rows):
    """Per stem and metric: median, quartiles (linear interpolation, as numpy's default) and the number of
    clips, from :func:`separation_sdr` rows.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``track_id, stem, metric, value``.

    Returns
    -------
    pandas.DataFrame
        Tidy ``stem, metric, median, q25, q75, n`` (stems in order of appearance).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"track_id": ["a", "b", "c"], "stem": "bass", "metric": "sdr",
    ...                      "value": [1.0, 2.0, 9.0]})
    >>> summarize_sdr(rows)[["stem", "metric", "median", "n"]].to_dict("records")
    [{'stem': 'bass', 'metric': 'sdr', 'median': 2.0, 'n': 3}]
    """
    import pandas as pd

    need = {"stem", "metric", "value"}
    if not need <= set(rows.columns):
        raise ParameterError(f"rows need columns {sorted(need)}, got {list(rows.columns)}.")
    out = []
    for (stem, metric), group in rows.groupby(["stem", "metric"], sort=False):
        v = np.sort(group["value"].to_numpy(dtype=float))
        if np.isnan(v).any():
            raise ParameterError(f"NaN {metric} values for stem {stem!r}; the rows are corrupt.")
        out.append({"stem": stem, "metric": metric, "median": _quantile(v, 0.5), "q25": _quantile(v, 0.25),
                    "q75": _quantile(v, 0.75), "n": int(v.size)})
    return pd.DataFrame(out, columns=["stem", "metric", "median", "q25", "q75", "n"])
