"""Building interpretable components: stems x time segments, or a time x frequency grid.

A component is a waveform ``c_k`` of the same shape as the mix; a binary mask ``z`` switches components on and
off and the model hears ``sum_k z_k c_k``. Segments cut every stem with the same temporal partition of unity, so
the components of a stem sum back to the stem exactly. A ``residual`` component (``mix - sum(stems)``) makes the
all-on mask reproduce the mix exactly when a separator's stems do not sum to the mix.

This module builds components (:func:`build_components`, :func:`tf_grid_components`) and names the residual
(:data:`RESIDUAL`). The container and its composition are
:class:`~mer_audiolime.explain.composition.Components`, the time segments
:func:`~mer_audiolime.explain.segments.segment_bounds`, the memory budget of a model call
:mod:`mer_audiolime.explain.batching`; all of them are importable from here too.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..audio import SILENCE_PEAK, as_channels_first, validate_audio
from ..exceptions import AudioTooShortError, ParameterError
from ..validation import check_int
from .batching import MEMORY_BUDGET_MB, WORKING_MEMORY_FACTOR, batch_limit, memory_budget_bytes
from .composition import Components
from .segments import segment_bounds

__all__ = ["Components", "segment_bounds", "build_components", "tf_grid_components", "RESIDUAL",
           "memory_budget_bytes", "batch_limit", "MEMORY_BUDGET_MB", "WORKING_MEMORY_FACTOR"]

#: Name of the residual stem (``mix - sum(stems)``).
RESIDUAL = "residual"


def build_components(
    mix: np.ndarray,
    stems: Mapping[str, np.ndarray],
    *,
    sr: int,
    segments: int | Sequence | None = 1,
    segment_seconds: float | None = None,
    residual: bool = True,
    residual_tolerance: float = 1e-4,
) -> Components:
    """Cut stems into temporal segments and name the pieces.

    Parameters
    ----------
    mix : np.ndarray, shape (C, L)
        The audio being explained.
    stems : mapping of str to np.ndarray, shape (C, L)
        Sources (from a separator or supplied). Order is kept.
    sr : int
    segments, segment_seconds
        See :func:`segment_bounds`.
    residual : bool
        Add ``residual = mix - sum(stems)`` as its own stem when the stems do not reconstruct the mix
        (relative gap above ``residual_tolerance``), so the all-on mask reproduces the mix.
    residual_tolerance : float
        Relative energy of the gap under which no residual is added.

    Returns
    -------
    Components
        With ``info["reconstruction_error"]`` = relative RMS of ``mix - sum(stems)``.
    """
    mix = validate_audio(mix, sr=sr, name="mix")
    if not stems:
        raise ParameterError("no stems given; pass a separator or at least one stem.")
    stem_arrays = {}
    for name, wav in stems.items():
        if RESIDUAL == name and residual:
            raise ParameterError(f"stem name {name!r} is reserved for the residual component; rename it.")
        arr = as_channels_first(wav, name=f"stem {name!r}")
        if arr.shape != mix.shape:
            raise ParameterError(
                f"stem {name!r} has shape {arr.shape} but the mix has {mix.shape}; stems must match the mix."
            )
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"stem {name!r} contains NaN or infinite samples.")
        stem_arrays[str(name)] = arr
    if not stem_arrays:
        raise ParameterError("no stems given; pass a separator or at least one stem.")
    total = np.zeros_like(mix)
    for arr in stem_arrays.values():  # in order, as np.sum(..., axis=0) adds them, without stacking copies
        total += arr
    gap = mix - total
    del total
    rel_err = float(np.sqrt(np.mean(gap.astype(np.float64) ** 2) / np.mean(mix.astype(np.float64) ** 2)))
    use_residual = bool(residual and rel_err > residual_tolerance)
    if use_residual:
        stem_arrays[RESIDUAL] = gap.astype(np.float32)
    del gap
    bounds = segment_bounds(mix.shape[1], sr=sr, segments=segments, segment_seconds=segment_seconds)
    n_seg = len(bounds)
    names, stems_of, segs_of = [], [], []
    for stem in stem_arrays:
        for s in range(n_seg):
            names.append(stem if n_seg == 1 else f"{stem}@t{s}")
            stems_of.append(stem)
            segs_of.append(s)
    # one contiguous (n_stems, C * len_s) block per segment: what compose multiplies, and the only copy kept
    arrays = list(stem_arrays.values())
    sources = [np.ascontiguousarray(np.stack([arr[:, a:b] for arr in arrays]).reshape(len(arrays), -1))
               for a, b in bounds]
    index = np.arange(len(arrays) * n_seg, dtype=np.int64).reshape(len(arrays), n_seg)
    return Components(
        names=names,
        sample_rate=int(sr),
        stems=stems_of,
        segments=segs_of,
        bounds=bounds,
        residual=use_residual,
        mix=mix,
        info={"reconstruction_error": rel_err, "kind": "stems"},
        layout=(index, sources),
    )


def tf_grid_components(
    mix: np.ndarray,
    *,
    sr: int,
    segments: int | Sequence | None = 10,
    segment_seconds: float | None = None,
    n_bands: int = 4,
    n_fft: int = 2048,
    hop_length: int = 512,
    show_progress: bool = False,
) -> Components:
    """SoundLIME-style time x frequency grid: each component is the mix filtered to one band in one segment.

    The STFT is split into ``n_bands`` frequency bands (equal widths on a log-frequency axis above 100 Hz)
    and the temporal segments; each cell is resynthesised by inverse STFT. Because the cell masks partition the
    spectrogram and the STFT is linear, the cells sum to the resynthesised mix; the remaining difference to the
    input (edge effects) is added as a ``residual`` so the all-on mask reproduces the mix exactly.

    When all cells at full length would exceed the memory budget (:func:`memory_budget_bytes`, e.g. long
    audio), each cell is kept only over the samples where it is non-zero.

    Parameters
    ----------
    mix : np.ndarray, shape (C, L)
    sr : int
    segments, segment_seconds
        See :func:`segment_bounds`.
    n_bands : int
        Frequency bands, at most ``n_fft // 2 + 1`` (the FFT bins); bands that hold no bin are empty
        components (``Explanation.warnings`` says so).
    n_fft, hop_length : int
        STFT settings.
    show_progress : bool
        tqdm bar over the cells (slow on long audio: one inverse STFT per cell).

    Returns
    -------
    Components
        Names ``"f<band>@t<segment>"`` plus ``"residual"``.
    """
    import librosa
    from tqdm.auto import tqdm

    mix = validate_audio(mix, sr=sr, name="mix")
    check_int(n_bands, "n_bands", minimum=1)
    if n_bands > n_fft // 2 + 1:
        raise ParameterError(
            f"n_bands={n_bands} exceeds the {n_fft // 2 + 1} frequency bins of an n_fft={n_fft} STFT, so "
            "most bands would be empty components; use fewer bands."
        )
    length = mix.shape[1]
    if length < n_fft:
        raise AudioTooShortError(
            f"the audio has {length} samples, fewer than n_fft={n_fft}; pass a longer excerpt or a smaller n_fft."
        )
    bounds = segment_bounds(length, sr=sr, segments=segments, segment_seconds=segment_seconds)
    n_cells = n_bands * len(bounds)
    dense = 4 * (n_cells + 1) * mix.size <= memory_budget_bytes()
    spec = librosa.stft(mix, n_fft=n_fft, hop_length=hop_length)  # (C, F, T)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    edges = np.geomspace(100.0, sr / 2.0, n_bands + 1) if n_bands > 1 else np.array([0.0, sr / 2.0])
    edges[0], edges[-1] = 0.0, np.inf
    band_of_bin = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_bands - 1)
    frame_times = librosa.frames_to_samples(np.arange(spec.shape[-1]), hop_length=hop_length)
    seg_of_frame = np.clip(np.searchsorted(bounds[:, 1], frame_times, side="right"), 0, len(bounds) - 1)
    names, stems_of, segs_of, pieces = [], [], [], []
    # dense: cells are written straight into their final array (no list + stack + concatenate copies)
    waves = np.empty((n_cells + 1,) + mix.shape, dtype=np.float32) if dense else None
    total = None if dense else np.zeros_like(mix)
    cells = [(band, s) for band in range(n_bands) for s in range(len(bounds))]
    for i, (band, s) in enumerate(tqdm(cells, desc="tf-grid cells", unit="cell", disable=not show_progress,
                                       leave=False)):
        mask = (band_of_bin[:, None] == band) & (seg_of_frame[None, :] == s)
        cell = librosa.istft(spec * mask[None], hop_length=hop_length, n_fft=n_fft, length=length)
        names.append(f"f{band}@t{s}")
        stems_of.append(f"f{band}")
        segs_of.append(s)
        if dense:
            waves[i] = cell
        else:
            cell = cell.astype(np.float32)
            total += cell
            nz = np.flatnonzero(np.any(cell != 0, axis=0))
            a, b = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
            pieces.append((a, b, np.array(cell[:, a:b])))
        del cell
    del spec
    names.append(RESIDUAL)
    stems_of.append(RESIDUAL)
    segs_of.append(-1)
    info = {"kind": "tf_grid", "band_edges_hz": edges.tolist(), "n_fft": n_fft, "hop_length": hop_length}
    common = dict(names=names, sample_rate=int(sr), stems=stems_of, segments=segs_of, bounds=bounds,
                  residual=True, mix=mix, info=info)
    if dense:
        np.subtract(mix, waves[:-1].sum(axis=0), out=waves[-1])
        return Components(waveforms=waves, **common)
    pieces.append((0, length, (mix - total).astype(np.float32)))
    return Components(pieces=pieces, **common)
