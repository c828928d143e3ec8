"""The :class:`Components` container: K named waveforms, their compact storage and their batched composition.

A component is a waveform ``c_k`` of the same shape as the mix; a binary mask ``z`` switches components on and
off and the model hears ``sum_k z_k c_k`` (:meth:`Components.compose`). The builders that cut stems or a
time x frequency grid into components live in :mod:`mer_audiolime.explain.components`.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError

__all__ = ["Components"]


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
        >>> from mer_audiolime.explain.components import tf_grid_components
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
