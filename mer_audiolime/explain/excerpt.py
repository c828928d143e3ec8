"""Excerpts: explain ``duration`` seconds of a recording from ``offset`` on, checked against the recording's
length before any model is loaded or called, and decoding only that part of a file."""

from __future__ import annotations

import os

import numpy as np

from ..audio import as_channels_first, audio_duration, load_audio, read_audio
from ..exceptions import ParameterError
from ..validation import check_float

__all__ = ["check_excerpt", "load_excerpt", "cut"]


def _length(audio, sr) -> tuple[float, str]:
    if isinstance(audio, (str, os.PathLike)):
        return audio_duration(audio), os.fspath(audio)
    if sr is None:
        raise ParameterError("an audio array needs its sample rate: pass sr=<Hz>.")
    return as_channels_first(np.asarray(audio)).shape[-1] / float(sr), "the audio array"


def check_excerpt(audio, *, sr=None, offset=0.0, duration=None) -> tuple[float, float | None]:
    """Validate an excerpt of ``audio`` (a file or an array at ``sr``) against its length.

    Parameters
    ----------
    audio : path or np.ndarray
    sr : int, optional
        Sample rate of an array.
    offset : float
        Start of the excerpt in seconds (>= 0, before the end).
    duration : float, optional
        Length in seconds (> 0); None runs to the end. The excerpt must end within the recording.

    Returns
    -------
    offset, duration : float, float or None

    Raises
    ------
    ParameterError
        A negative offset, a non-positive duration, or an excerpt that does not lie within the recording
        (the message gives the recording's length and the largest values that fit).

    Examples
    --------
    >>> check_excerpt(np.zeros(22050 * 10), sr=22050, offset=2, duration=5)
    (2.0, 5.0)
    """
    offset = check_float(offset, "offset", minimum=0.0)
    if duration is not None:
        duration = check_float(duration, "duration", minimum=0.0, strict_minimum=True)
    if offset == 0 and duration is None:
        return offset, duration
    total, name = _length(audio, sr)
    if offset >= total:
        raise ParameterError(f"offset {offset:g} s is at or after the end of {name}, which lasts "
                             f"{total:.2f} s; use an offset below {total:.2f} s.")
    tolerance = 1e-3  # one millisecond: header lengths and rounding to whole samples
    if duration is not None and offset + duration > total + tolerance:
        raise ParameterError(
            f"the excerpt {offset:g}-{offset + duration:g} s ends after the end of {name}, which lasts "
            f"{total:.2f} s; use a duration of at most {total - offset:.2f} s, or leave it out to explain to "
            "the end.")
    return offset, duration


def cut(audio, *, sr: int, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """The samples of ``audio (C, L)`` or ``(L,)`` at ``sr`` from ``offset`` for ``duration`` seconds (all of
    it when ``offset == 0`` and ``duration is None``); the same rounding as :func:`load_excerpt`."""
    y = as_channels_first(np.asarray(audio))
    if offset == 0 and duration is None:
        return y
    start = int(round(offset * sr))
    stop = y.shape[-1] if duration is None else min(y.shape[-1], start + int(round(duration * sr)))
    return np.ascontiguousarray(y[:, start:stop])


def load_excerpt(audio, *, sr=None, offset=0.0, duration=None, report: bool = False) -> tuple:
    """Decode only the excerpt of a file (or slice an array); returns ``(audio (C, L), sr)``, and with
    ``report=True`` also the decode report of :func:`~mer_audiolime.audio.read_audio` (truncation) instead of
    a :class:`~mer_audiolime.exceptions.TruncatedAudioWarning`.

    Call :func:`check_excerpt` first; this function trusts its arguments.
    """
    if isinstance(audio, (str, os.PathLike)):
        if report:
            return read_audio(audio, offset=offset, duration=duration)
        return load_audio(audio, offset=offset, duration=duration)
    if sr is None:
        raise ParameterError("an audio array needs its sample rate: pass sr=<Hz>.")
    out = load_audio(cut(audio, sr=sr, offset=offset, duration=duration), sr=sr)  # validates the excerpt
    return (*out, {"truncated": False}) if report else out
