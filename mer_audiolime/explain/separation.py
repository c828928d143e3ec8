"""Source separators: the protocol, oracle stems and :func:`get_separator`, which resolves and caches them.

A separator has a stable ``identity`` (name + weights hash + settings: the cache key), a ``sample_rate`` and
``separate(audio (C, L), sr=...) -> {stem: (C, L)}`` returning stems at the input's rate and shape.

The open-unmix separator lives in :mod:`mer_audiolime.explain.openunmix_separator`, the on-disk cache in
:mod:`mer_audiolime.explain.separation_cache`; both are importable from here too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping, Protocol, runtime_checkable

import numpy as np

from ..audio import as_channels_first, conform
from ..exceptions import ParameterError, SeparationError
from .openunmix_separator import OpenUnmixSeparator
from .separation_cache import CachedSeparator, default_cache_dir
from .separators import list_separators

__all__ = [
    "Separator",
    "OracleSeparator",
    "OpenUnmixSeparator",
    "CachedSeparator",
    "get_separator",
    "default_cache_dir",
]


@runtime_checkable
class Separator(Protocol):
    """What the explainer needs of a source separator."""

    identity: str
    sample_rate: int | None

    def separate(self, audio: np.ndarray, *, sr: int) -> dict:  # (C, L) -> {name: (C, L)}
        ...


class OracleSeparator:
    """Stems supplied by the caller (e.g. a multitrack dataset): "separation" returns them.

    Parameters
    ----------
    stems : mapping of str to np.ndarray, shape (C, L) or (L,)
        The true sources.
    sr : int
        Their sample rate.
    name : str
        Used in :attr:`identity`.

    Examples
    --------
    >>> sep = OracleSeparator({"a": np.ones(4), "b": np.zeros(4)}, sr=10)
    >>> sorted(sep.separate(np.ones((1, 4)), sr=10))
    ['a', 'b']
    """

    def __init__(self, stems: Mapping[str, np.ndarray], *, sr: int, name: str = "oracle"):
        if not stems:
            raise ParameterError("OracleSeparator needs at least one stem.")
        self.stems = {str(k): as_channels_first(v, name=f"stem {k!r}") for k, v in stems.items()}
        shapes = {v.shape[1] for v in self.stems.values()}
        if len(shapes) != 1:
            raise ParameterError(f"oracle stems must all have the same length, got lengths {sorted(shapes)}.")
        self.sample_rate = int(sr)
        h = hashlib.sha256()
        for k, v in self.stems.items():
            h.update(k.encode())
            h.update(memoryview(np.ascontiguousarray(v)).cast("B"))  # the bytes, without a copy
        self.identity = f"{name}:{h.hexdigest()[:16]}"

    def separate(self, audio: np.ndarray, *, sr: int) -> dict:
        """The stems at ``sr`` with ``audio``'s channels; refuses stems that do not belong to ``audio``.

        Raises
        ------
        SeparationError
            A stem has another length than the audio, or one of several stems *is* the audio (the mix was
            passed as a stem, e.g. a ``mix.wav`` lying among the stem files).
        """
        audio = as_channels_first(audio)
        out = {}
        for name, stem in self.stems.items():
            conv = conform(stem, sr=self.sample_rate, target_sr=sr, channels=audio.shape[0])
            if conv.shape[1] != audio.shape[1]:
                raise SeparationError(
                    f"oracle stem {name!r} has {conv.shape[1]} samples at {sr} Hz but the audio has "
                    f"{audio.shape[1]}; the stems must belong to this audio."
                )
            out[name] = conv
        if len(out) > 1:
            mix_energy = float(np.mean(np.square(audio, dtype=np.float64)))
            for name, stem in out.items():
                others = [s for n, s in out.items() if n != name]
                if not any(np.max(np.abs(s)) > 1e-7 for s in others):
                    continue  # the other stems are silent: this stem legitimately carries all of the mix
                diff = float(np.mean(np.square(stem - audio, dtype=np.float64)))
                if mix_energy > 0 and diff <= 1e-8 * mix_energy:
                    raise SeparationError(
                        f"stem {name!r} is the audio being explained (it equals the mix within -80 dB) while "
                        f"other stems are not silent: the mix was passed as a stem. Remove it from the stems "
                        f"(stems given: {list(out)})."
                    )
        return out



_MEMO: dict = {}


def get_separator(spec, *, cache_dir=None, use_cache: bool = True, **kwargs):
    """Resolve a separator from a name, a path or an object, wrapped in a :class:`CachedSeparator`.

    Parameters
    ----------
    spec : str, path or Separator
        ``"umxhq"``, ``"umxl"``, ``"umx"``, a shipped separator (``"umx-synth"``), a local open-unmix model
        directory, or a separator object (e.g. :class:`OracleSeparator`).
    cache_dir : path, optional
    use_cache : bool
        Oracle separators are never cached (their stems are already in memory).
    **kwargs
        Passed to :class:`OpenUnmixSeparator`.
    """
    if isinstance(spec, (str, os.PathLike)):
        # one instance per process and settings: a model is built (and its identity found) at most once
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "separation"
        memo_key = (str(spec), str(folder), use_cache, json.dumps(kwargs, sort_keys=True, default=str))
        if memo_key not in _MEMO:
            sep = OpenUnmixSeparator(str(spec), **kwargs)
            _MEMO[memo_key] = CachedSeparator(sep, cache_dir=folder) if use_cache else sep
        return _MEMO[memo_key]
    if callable(getattr(spec, "separate", None)) and "identity" in dir(spec):  # dir(): no property evaluated
        sep = spec
    else:
        raise ParameterError(
            f"separator must be 'umxhq', 'umxl', a shipped name {list_separators()}, a model directory or a "
            f"Separator object, got {spec!r}."
        )
    if use_cache and not isinstance(sep, (OracleSeparator, CachedSeparator)):
        sep = CachedSeparator(sep, cache_dir=cache_dir)
    return sep
