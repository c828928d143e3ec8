"""Interpretable components: stems x time segments, or a time x frequency grid, and their batched composition.

A component is a waveform ``c_k`` of the same shape as the mix; a binary mask ``z`` switches components on and
off and the model hears ``sum_k z_k c_k``. Segments cut every stem with the same temporal partition of unity, so
the components of a stem sum back to the stem exactly. A ``residual`` component (``mix - sum(stems)``) makes the
all-on mask reproduce the mix exactly when a separator's stems do not sum to the mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..audio import as_channels_first, validate_audio
from ..exceptions import AudioTooShortError, ParameterError

__all__ = ["Components", "segment_bounds", "build_components", "tf_grid_components", "RESIDUAL"]

#: Name of the residual stem (``mix - sum(stems)``).
RESIDUAL = "residual"


@dataclass
class Components:
    """K named waveforms of identical shape that sum to the mix when all are on.

    Attributes
    ----------
    names : list of str
        One per component, ``"<stem>@t<i>"`` for segmented stems, ``"<stem>"`` with one segment.
    waveforms : np.ndarray, shape (K, C, L), float32
    sample_rate : int
    stems : list of str
        Stem of each component (same order as ``names``).
    segments : list of int
        Segment index of each component.
    bounds : np.ndarray, shape (S, 2), int
        Sample bounds ``[start, stop)`` of each segment.
    residual : bool
        Whether a residual component is included.
    mix : np.ndarray, shape (C, L)
        The audio being explained.
    """

    names: list
    waveforms: np.ndarray
    sample_rate: int
    stems: list
    segments: list
    bounds: np.ndarray
    residual: bool
    mix: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.waveforms.ndim != 3:
            raise ParameterError(f"component waveforms must be (K, C, L), got shape {self.waveforms.shape}.")
        if len(self.names) != self.waveforms.shape[0]:
            raise ParameterError(f"{len(self.names)} names for {self.waveforms.shape[0]} components.")
        if len(set(self.names)) != len(self.names):
            raise ParameterError(f"component names must be unique, got {self.names}.")
        self.waveforms = np.ascontiguousarray(self.waveforms, dtype=np.float32)
        self._layout = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def shape(self) -> tuple:
        """Shape ``(C, L)`` of one composed signal."""
        return self.waveforms.shape[1:]

    def compose(self, masks: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Mix the components selected by each mask row: ``masks @ waveforms``.

        Parameters
        ----------
        masks : np.ndarray, shape (B, K) or (K,)
            0/1 (or real-valued) weights per component.
        out : np.ndarray, shape (B, C, L), optional
            Buffer to write into (float32), avoiding an allocation per batch.

        Returns
        -------
        np.ndarray, shape (B, C, L), float32
        """
        z = np.asarray(masks, dtype=np.float32)
        if z.ndim == 1:
            z = z[np.newaxis]
        if z.ndim != 2 or z.shape[1] != len(self):
            raise ParameterError(f"masks must have shape (B, {len(self)}), got {np.shape(masks)}.")
        b = z.shape[0]
        if out is None:
            out = np.empty((b,) + self.shape, dtype=np.float32)
        elif out.shape != (b,) + self.shape or out.dtype != np.float32:
            raise ParameterError(f"out must be a float32 array of shape {(b,) + self.shape}, got {out.shape}.")
        layout = self._stem_layout()
        if layout is None:  # generic: one (B, K) x (K, C*L) product
            np.matmul(z, self.waveforms.reshape(len(self), -1), out=out.reshape(b, -1))
            return out
        # stems x segments: within segment s only that segment's components are non-zero, so each segment is
        # a (B, n_stems) x (n_stems, C*len_s) product -- S times fewer operations than the generic product.
        stem_idx, sources = layout
        for s, (a, e) in enumerate(self.bounds):
            zs = np.ascontiguousarray(z[:, stem_idx[:, s]])
            out[:, :, a:e] = np.matmul(zs, sources[s]).reshape(b, self.shape[0], e - a)
        return out

    def _stem_layout(self):
        """For stems x segments components: (index[stem, segment] -> component, per-segment stem slices)."""
        if self.info.get("kind") != "stems":
            return None
        if self._layout is None:
            stems = self.stem_names()
            n_seg = len(self.bounds)
            idx = np.full((len(stems), n_seg), -1, dtype=np.int64)
            for k, (stem, seg) in enumerate(zip(self.stems, self.segments)):
                idx[stems.index(stem), seg] = k
            if (idx < 0).any():
                return None
            sources = []
            for s, (a, e) in enumerate(self.bounds):
                sources.append(np.ascontiguousarray(self.waveforms[idx[:, s], :, a:e].reshape(len(stems), -1)))
            self._layout = (idx, sources)
        return self._layout

    @property
    def bands(self) -> dict:
        """Frequency range of each band of a time x frequency grid: ``{"f0": (0.0, 324.0), ...}`` in Hz (the
        top band ends at the Nyquist frequency); empty for stems.

        Examples
        --------
        >>> grid = tf_grid_components(np.random.default_rng(0).standard_normal(22050) * 0.1, sr=22050,
        ...                           segments=1, n_bands=2)
        >>> {k: (round(a), round(b)) for k, (a, b) in grid.bands.items()}
        {'f0': (0, 1050), 'f1': (1050, 11025)}
        """
        edges = self.info.get("band_edges_hz")
        if edges is None:
            return {}
        top = self.sample_rate / 2.0
        return {f"f{i}": (float(lo), float(min(hi, top)))
                for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))}

    def stem_names(self) -> list:
        """Distinct stems in order of appearance."""
        return list(dict.fromkeys(self.stems))

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ParameterError(f"no component named {name!r}; components are {self.names}.") from None


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
        if not np.isfinite(segment_seconds) or segment_seconds <= 0:
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
    gap = mix - np.sum(list(stem_arrays.values()), axis=0, dtype=np.float32)
    rel_err = float(np.sqrt(np.mean(gap.astype(np.float64) ** 2) / np.mean(mix.astype(np.float64) ** 2)))
    use_residual = bool(residual and rel_err > residual_tolerance)
    if use_residual:
        stem_arrays[RESIDUAL] = gap.astype(np.float32)
    bounds = segment_bounds(mix.shape[1], sr=sr, segments=segments, segment_seconds=segment_seconds)
    n_seg = len(bounds)
    names, stems_of, segs_of, waves = [], [], [], []
    for stem, arr in stem_arrays.items():
        for s, (a, b) in enumerate(bounds):
            piece = np.zeros_like(arr)
            piece[:, a:b] = arr[:, a:b]
            names.append(stem if n_seg == 1 else f"{stem}@t{s}")
            stems_of.append(stem)
            segs_of.append(s)
            waves.append(piece)
    return Components(
        names=names,
        waveforms=np.stack(waves).astype(np.float32),
        sample_rate=int(sr),
        stems=stems_of,
        segments=segs_of,
        bounds=bounds,
        residual=use_residual,
        mix=mix,
        info={"reconstruction_error": rel_err, "kind": "stems"},
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
) -> Components:
    """SoundLIME-style time x frequency grid: each component is the mix filtered to one band in one segment.

    The STFT is split into ``n_bands`` frequency bands (equal widths on a log-frequency axis above 100 Hz)
    and the temporal segments; each cell is resynthesised by inverse STFT. Because the cell masks partition the
    spectrogram and the STFT is linear, the cells sum to the resynthesised mix; the remaining difference to the
    input (edge effects) is added as a ``residual`` so the all-on mask reproduces the mix exactly.

    Returns
    -------
    Components
        Names ``"f<band>@t<segment>"`` plus ``"residual"``.
    """
    import librosa

    mix = validate_audio(mix, sr=sr, name="mix")
    if not isinstance(n_bands, (int, np.integer)) or n_bands < 1:
        raise ParameterError(f"n_bands must be a positive integer, got {n_bands!r}.")
    length = mix.shape[1]
    if length < n_fft:
        raise AudioTooShortError(
            f"the audio has {length} samples, fewer than n_fft={n_fft}; pass a longer excerpt or a smaller n_fft."
        )
    bounds = segment_bounds(length, sr=sr, segments=segments, segment_seconds=segment_seconds)
    spec = librosa.stft(mix, n_fft=n_fft, hop_length=hop_length)  # (C, F, T)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    edges = np.geomspace(100.0, sr / 2.0, n_bands + 1) if n_bands > 1 else np.array([0.0, sr / 2.0])
    edges[0], edges[-1] = 0.0, np.inf
    band_of_bin = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_bands - 1)
    frame_times = librosa.frames_to_samples(np.arange(spec.shape[-1]), hop_length=hop_length)
    seg_of_frame = np.clip(np.searchsorted(bounds[:, 1], frame_times, side="right"), 0, len(bounds) - 1)
    names, stems_of, segs_of, waves = [], [], [], []
    for band in range(n_bands):
        for s in range(len(bounds)):
            mask = (band_of_bin[:, None] == band) & (seg_of_frame[None, :] == s)
            cell = librosa.istft(spec * mask[None], hop_length=hop_length, n_fft=n_fft, length=length)
            names.append(f"f{band}@t{s}")
            stems_of.append(f"f{band}")
            segs_of.append(s)
            waves.append(cell.astype(np.float32))
    waves = np.stack(waves)
    gap = mix - waves.sum(axis=0)
    names.append(RESIDUAL)
    stems_of.append(RESIDUAL)
    segs_of.append(-1)
    waves = np.concatenate([waves, gap[np.newaxis].astype(np.float32)], axis=0)
    return Components(
        names=names,
        waveforms=waves,
        sample_rate=int(sr),
        stems=stems_of,
        segments=segs_of,
        bounds=bounds,
        residual=True,
        mix=mix,
        info={"kind": "tf_grid", "band_edges_hz": edges.tolist(), "n_fft": n_fft, "hop_length": hop_length},
    )
