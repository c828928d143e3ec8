"""Interpretable components: stems x time segments, or a time x frequency grid, and their batched composition.

A component is a waveform ``c_k`` of the same shape as the mix; a binary mask ``z`` switches components on and
off and the model hears ``sum_k z_k c_k``. Segments cut every stem with the same temporal partition of unity, so
the components of a stem sum back to the stem exactly. A ``residual`` component (``mix - sum(stems)``) makes the
all-on mask reproduce the mix exactly when a separator's stems do not sum to the mix.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from ..audio import SILENCE_PEAK, as_channels_first, validate_audio
from ..exceptions import AudioTooShortError, ParameterError
from ..validation import check_int

__all__ = ["Components", "segment_bounds", "build_components", "tf_grid_components", "RESIDUAL",
           "memory_budget_bytes", "batch_limit", "MEMORY_BUDGET_MB", "WORKING_MEMORY_FACTOR"]

#: Name of the residual stem (``mix - sum(stems)``).
RESIDUAL = "residual"

#: Default memory budget (MiB) for one model call: the composed batch plus the model's working memory. Set
#: ``MER_AUDIOLIME_MEMORY_BUDGET_MB`` to change it. Clips of up to about 45 s at 22,050 Hz mono run at the
#: requested batch size (16), so their numbers are those of an unbounded run; longer audio is fed in smaller
#: batches (at least one input at a time).
MEMORY_BUDGET_MB = 768

#: Peak working memory of one forward pass, in multiples of the input's size in bytes, assumed for models that
#: do not declare ``working_memory_factor`` (measured 9.3-10.8 for the zoo's CNN on its optimised inference
#: path, 10 s x 16 to 10 min x 1).
WORKING_MEMORY_FACTOR = 11.0


def memory_budget_bytes() -> int:
    """The memory budget of one model call in bytes (``$MER_AUDIOLIME_MEMORY_BUDGET_MB`` or
    :data:`MEMORY_BUDGET_MB`)."""
    raw = os.environ.get("MER_AUDIOLIME_MEMORY_BUDGET_MB", "")
    try:
        mb = float(raw) if raw.strip() else float(MEMORY_BUDGET_MB)
    except ValueError:
        raise ParameterError(
            f"MER_AUDIOLIME_MEMORY_BUDGET_MB must be a number of MiB, got {raw!r}."
        ) from None
    if not np.isfinite(mb) or mb <= 0:
        raise ParameterError(f"MER_AUDIOLIME_MEMORY_BUDGET_MB must be > 0, got {raw!r}.")
    return int(mb * 2**20)


def batch_limit(shape, *, model=None, requested: int, budget_bytes: int | None = None) -> int:
    """Largest batch (<= ``requested``, >= 1) whose composed inputs and model working memory fit the budget.

    Parameters
    ----------
    shape : tuple
        ``(C, L)`` of one composed input.
    model : Predictor, optional
        Its optional ``working_memory_factor`` (peak working memory of a forward pass in multiples of the
        input bytes) refines the estimate; default :data:`WORKING_MEMORY_FACTOR`.
    requested : int
        The batch size asked for.
    budget_bytes : int, optional
        Default :func:`memory_budget_bytes`.

    Examples
    --------
    >>> batch_limit((1, 22050 * 10), requested=16, budget_bytes=768 * 2**20)
    16
    >>> batch_limit((1, 22050 * 600), requested=16, budget_bytes=768 * 2**20)
    1
    """
    budget = memory_budget_bytes() if budget_bytes is None else int(budget_bytes)
    factor = float(getattr(model, "working_memory_factor", None) or WORKING_MEMORY_FACTOR)
    per_item = 4.0 * float(np.prod(shape)) * (1.0 + factor)
    return int(max(1, min(int(requested), budget // max(per_item, 1.0))))


class Components:
    """K named waveforms of identical shape that sum to the mix when all are on.

    Components are stored compactly: stems x segments keep one copy of each stem cut into its segments (not K
    full-length, mostly zero waveforms), and a long time x frequency grid keeps each cell only over the
    samples where it is non-zero. :meth:`compose` works on that storage; :meth:`waveform` builds one
    full-length component and :attr:`waveforms` all of them (``K x C x L`` floats: avoid on long audio).

    Parameters
    ----------
    names : list of str
        One per component, ``"<stem>@t<i>"`` for segmented stems, ``"<stem>"`` with one segment.
    waveforms : np.ndarray, shape (K, C, L), optional
        Dense components (the generic form); or give ``pieces``.
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
    info : dict, optional
    pieces : list of (int, int, np.ndarray), optional
        Per component ``(start, stop, samples (C, stop - start))``; the component is zero elsewhere.

    Examples
    --------
    >>> c = Components(names=["a", "b"], waveforms=np.eye(2, dtype=np.float32)[:, None, :], sample_rate=2,
    ...                stems=["a", "b"], segments=[0, 0], bounds=np.array([[0, 2]]), residual=False,
    ...                mix=np.ones((1, 2), np.float32))
    >>> c.compose(np.array([[1, 0]])).tolist()
    [[[1.0, 0.0]]]
    """

    def __init__(self, names, waveforms=None, sample_rate=None, stems=None, segments=None, bounds=None,
                 residual=False, mix=None, info=None, *, pieces=None, layout=None):
        self.names = list(names)
        self.sample_rate = int(sample_rate)
        self.stems = list(stems)
        self.segments = list(segments)
        self.bounds = np.asarray(bounds)
        self.residual = bool(residual)
        self.mix = mix
        self.info = dict(info or {})
        self._dense = None
        self._pieces = None
        self._layout = layout
        if waveforms is not None:
            waveforms = np.asarray(waveforms)
            if waveforms.ndim != 3:
                raise ParameterError(f"component waveforms must be (K, C, L), got shape {waveforms.shape}.")
            self._dense = np.ascontiguousarray(waveforms, dtype=np.float32)
            k, self._shape = self._dense.shape[0], tuple(self._dense.shape[1:])
        elif pieces is not None:
            self._pieces = [(int(a), int(b), np.asarray(d, dtype=np.float32)) for a, b, d in pieces]
            k = len(self._pieces)
            self._shape = tuple(np.shape(mix))
        elif layout is not None:
            idx, _ = layout
            k = int((idx >= 0).sum())
            self._shape = tuple(np.shape(mix))
        else:
            raise ParameterError("Components need waveforms (K, C, L) or pieces.")
        if len(self.names) != k:
            raise ParameterError(f"{len(self.names)} names for {k} components.")
        if len(set(self.names)) != len(self.names):
            raise ParameterError(f"component names must be unique, got {self.names}.")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def shape(self) -> tuple:
        """Shape ``(C, L)`` of one composed signal."""
        return self._shape

    @property
    def nbytes(self) -> int:
        """Bytes held by the component storage."""
        if self._dense is not None:
            return int(self._dense.nbytes)
        if self._pieces is not None:
            return int(sum(d.nbytes for _, _, d in self._pieces))
        return int(sum(block.nbytes for block in self._layout[1]))

    def support(self, k: int) -> tuple[int, int]:
        """Sample range ``[start, stop)`` outside which component ``k`` is zero."""
        if self._pieces is not None:
            return self._pieces[k][:2]
        if self._layout is not None and self._dense is None:
            a, b = self.bounds[self.segments[k]]
            return int(a), int(b)
        return 0, int(self._shape[-1])

    def waveform(self, k: int) -> np.ndarray:
        """Component ``k`` as a full-length ``(C, L)`` float32 array (a view for dense components)."""
        if self._dense is not None:
            return self._dense[k]
        out = np.zeros(self._shape, dtype=np.float32)
        if self._pieces is not None:
            a, b, data = self._pieces[k]
            out[:, a:b] = data
            return out
        idx, sources = self._layout
        stem, seg = np.argwhere(idx == k)[0]
        a, b = self.bounds[seg]
        out[:, a:b] = sources[seg][stem].reshape(self._shape[0], b - a)
        return out

    @property
    def waveforms(self) -> np.ndarray:
        """All components, ``(K, C, L)`` float32 (built on each access unless stored densely)."""
        if self._dense is not None:
            return self._dense
        return np.stack([self.waveform(k) for k in range(len(self))])

    def stem_signal(self, stem: str) -> np.ndarray:
        """The sum of the components of ``stem`` (the stem itself for stems x segments), ``(C, L)``."""
        idx = [k for k, s in enumerate(self.stems) if s == stem]
        if not idx:
            raise ParameterError(f"no stem named {stem!r}; stems are {self.stem_names()}.")
        if self._dense is not None:
            return self._dense[idx].sum(axis=0)
        out = np.zeros(self._shape, dtype=np.float32)
        if self._pieces is not None:
            for k in idx:
                a, b, data = self._pieces[k]
                out[:, a:b] += data
            return out
        index, sources = self._layout
        row = self.stem_names().index(stem)
        for seg, (a, b) in enumerate(self.bounds):
            out[:, a:b] = sources[seg][row].reshape(self._shape[0], b - a)
        return out

    def peaks(self) -> np.ndarray:
        """Peak absolute amplitude of each component, shape ``(K,)`` (0 for an empty component)."""
        if self._dense is not None:
            return np.abs(self._dense).reshape(len(self), -1).max(axis=1, initial=0.0)
        if self._pieces is not None:
            return np.array([float(np.abs(d).max(initial=0.0)) for _, _, d in self._pieces])
        idx, sources = self._layout
        out = np.zeros(len(self))
        for (stem, seg), k in np.ndenumerate(idx):
            if k >= 0:
                out[k] = float(np.abs(sources[seg][stem]).max(initial=0.0))
        return out

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
        if layout is not None:
            # stems x segments: within segment s only that segment's components are non-zero, so each segment
            # is a (B, n_stems) x (n_stems, C*len_s) product -- S times fewer operations than the generic one.
            stem_idx, sources = layout
            for s, (a, e) in enumerate(self.bounds):
                zs = np.ascontiguousarray(z[:, stem_idx[:, s]])
                out[:, :, a:e] = np.matmul(zs, sources[s]).reshape(b, self.shape[0], e - a)
            return out
        if self._dense is not None:  # generic: one (B, K) x (K, C*L) product
            np.matmul(z, self._dense.reshape(len(self), -1), out=out.reshape(b, -1))
            return out
        out.fill(0.0)  # sparse pieces: add each switched-on component over its support only
        for k, (a, e, data) in enumerate(self._pieces):
            col = z[:, k]
            if e > a and col.any():
                out[:, :, a:e] += col[:, None, None] * data[None]
        return out

    def _stem_layout(self):
        """For stems x segments components: (index[stem, segment] -> component, per-segment stem slices)."""
        if self._layout is not None:
            return self._layout
        if self.info.get("kind") != "stems" or self._dense is None:
            return None
        stems = self.stem_names()
        n_seg = len(self.bounds)
        idx = np.full((len(stems), n_seg), -1, dtype=np.int64)
        for k, (stem, seg) in enumerate(zip(self.stems, self.segments)):
            idx[stems.index(stem), seg] = k
        if (idx < 0).any():
            return None
        sources = []
        for s, (a, e) in enumerate(self.bounds):
            sources.append(np.ascontiguousarray(self._dense[idx[:, s], :, a:e].reshape(len(stems), -1)))
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
        """Position of the component called ``name``."""
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
