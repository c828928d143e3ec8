"""In-memory audio signals: layout, validation, resampling, channel count and a content fingerprint.

Every signal inside the package is a ``float32`` array shaped ``(channels, samples)``
(:func:`as_channels_first`); a 1-D input is taken to be mono and becomes ``(1, samples)``. Decoding files is
:mod:`mer_audiolime.audio_decode`; both are re-exported by :mod:`mer_audiolime.audio`.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .exceptions import (
    AudioTooShortError,
    EmptyAudioError,
    NonFiniteAudioError,
    ParameterError,
    SilentAudioError,
)
from .validation import check_int

__all__ = [
    "SILENCE_PEAK",
    "PCM_FULL_SCALE",
    "as_channels_first",
    "validate_audio",
    "check_sr",
    "resample",
    "to_channels",
    "conform",
    "audio_fingerprint",
]

#: Full scale of integer PCM sample types: an integer array is divided by it (uint8 is offset by 128 first),
#: as soundfile does when it reads such a file as float.
PCM_FULL_SCALE = {np.dtype(np.int8): 2.0**7, np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31,
                  np.dtype(np.uint8): 2.0**7}

#: Peak amplitude (linear, full scale = 1) at or below which a signal counts as digitally silent (-140 dBFS).
SILENCE_PEAK = 1e-7


def as_channels_first(audio: np.ndarray, *, name: str = "audio") -> np.ndarray:
    """Return ``audio`` as a float32 ``(channels, samples)`` array.

    Parameters
    ----------
    audio : np.ndarray, shape (samples,) or (channels, samples)
        A 1-D array is taken as mono.
    name : str
        Name used in error messages.

    Returns
    -------
    np.ndarray, shape (channels, samples), float32

    Notes
    -----
    Integer PCM arrays are scaled to [-1, 1) by their full scale (int8/int16/int32 divided by 2**7/2**15/
    2**31; uint8, the 8-bit WAV convention, offset by 128 and divided by 2**7), exactly as soundfile does
    when it decodes such a file as float. Other integer types (int64, uint16/32/64) have no PCM convention
    and are refused.
    """
    arr = np.asarray(audio)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ParameterError(
            f"{name} must be a real-valued numeric array, got dtype {arr.dtype}; pass samples as floats in [-1, 1]."
        )
    if np.issubdtype(arr.dtype, np.integer):
        scale = PCM_FULL_SCALE.get(arr.dtype)
        if scale is None:
            raise ParameterError(
                f"{name} has integer dtype {arr.dtype}, which has no PCM full scale; convert it to floats in "
                "[-1, 1] (e.g. x / 2**15 for 16-bit samples) or pass int16/int32 PCM."
            )
        offset = 128.0 if arr.dtype == np.uint8 else 0.0
        arr = (arr.astype(np.float64) - offset) / scale
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        raise ParameterError(
            f"{name} must have shape (samples,) or (channels, samples), got shape {arr.shape}; "
            "for a batch, explain one clip at a time."
        )
    if arr.shape[0] > 16 and arr.shape[1] <= 16:
        raise ParameterError(
            f"{name} has shape {arr.shape}, which looks like (samples, channels); transpose it to "
            "(channels, samples)."
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def validate_audio(
    audio: np.ndarray,
    *,
    sr: int | None = None,
    min_duration: float | None = None,
    name: str = "audio",
) -> np.ndarray:
    """Check that a signal can be explained and return it as float32 ``(channels, samples)``.

    Parameters
    ----------
    audio : np.ndarray, shape (samples,) or (channels, samples)
    sr : int, optional
        Sample rate in Hz, needed to check ``min_duration``.
    min_duration : float, optional
        Minimum length in seconds (e.g. what a segmentation needs).
    name : str
        Name used in error messages (a file path, for instance).

    Returns
    -------
    np.ndarray, shape (channels, samples), float32

    Raises
    ------
    EmptyAudioError, NonFiniteAudioError, SilentAudioError, AudioTooShortError, ParameterError

    Examples
    --------
    >>> validate_audio(np.zeros(10), sr=22050)
    Traceback (most recent call last):
    ...
    mer_audiolime.exceptions.SilentAudioError: audio is digitally silent ...
    """
    arr = as_channels_first(audio, name=name)
    if arr.size == 0:
        raise EmptyAudioError(
            f"{name} has no samples (shape {arr.shape}); check the file or the offset/duration you asked for."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - finite.sum())
        raise NonFiniteAudioError(
            f"{name} contains {bad} NaN or infinite samples; clean the signal (e.g. np.nan_to_num) or re-decode "
            "the file."
        )
    peak = float(np.max(np.abs(arr)))
    if peak <= SILENCE_PEAK:
        raise SilentAudioError(
            f"{name} is digitally silent (peak {peak:.1e} <= {SILENCE_PEAK:.0e}); there is nothing to explain — "
            "check that the right file or excerpt was loaded."
        )
    if min_duration is not None:
        if sr is None:
            raise ParameterError("validate_audio needs sr to check min_duration; pass sr=<sample rate in Hz>.")
        duration = arr.shape[1] / float(sr)
        if duration + 1e-9 < min_duration:
            raise AudioTooShortError(
                f"{name} is {duration:.3f} s long but at least {min_duration:.3f} s are needed; use fewer or "
                "shorter segments, or a longer excerpt."
            )
    return arr


def check_sr(sr, *, name: str = "sr") -> int:
    """A sample rate as a positive int (:func:`~mer_audiolime.validation.check_int` with ``minimum=1``).

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    name : str
        Argument name used in the error message.

    Returns
    -------
    int

    Raises
    ------
    ParameterError
        ``sr`` is not an integer >= 1.

    Examples
    --------
    >>> check_sr(22050)
    22050
    """
    return check_int(sr, name, minimum=1)


def resample(audio: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio with librosa's high-quality (soxr) resampler.

    Resampling is linear, so stems resampled separately still sum to the resampled mix.
    """
    orig_sr = check_sr(orig_sr, name="orig_sr")
    target_sr = check_sr(target_sr, name="target_sr")
    arr = as_channels_first(audio)
    if orig_sr == target_sr:
        return arr
    import librosa

    out = librosa.resample(arr, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq", axis=-1)
    return np.ascontiguousarray(out, dtype=np.float32)


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Convert ``(C, L)`` audio to ``channels`` channels: average down to mono, duplicate mono up.

    Both operations are linear, so the stem-sum identity survives them.
    """
    check_int(channels, "channels", minimum=1)
    arr = as_channels_first(audio)
    c = arr.shape[0]
    if c == channels:
        return arr
    if channels == 1:
        return arr.mean(axis=0, keepdims=True, dtype=np.float32)
    if c == 1:
        return np.repeat(arr, channels, axis=0)
    raise ParameterError(
        f"cannot convert {c}-channel audio to {channels} channels; downmix to mono or pass matching audio."
    )


def conform(audio: np.ndarray, *, sr: int, target_sr: int, channels: int) -> np.ndarray:
    """Resample and set the channel count in one call (both linear operations)."""
    return to_channels(resample(audio, orig_sr=sr, target_sr=target_sr), channels)



def audio_fingerprint(audio: np.ndarray, sr: int) -> str:
    """sha256 of the samples, shape and rate: a content key for caches."""
    arr = as_channels_first(audio)
    h = hashlib.sha256()
    h.update(f"{arr.shape}|{int(sr)}|float32".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()

