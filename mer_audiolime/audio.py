"""Loading, validation, resampling and channel handling: the only module that decodes audio files.

All signals inside the package are ``float32`` arrays shaped ``(channels, samples)``; a 1-D input is taken
to be mono and becomes ``(1, samples)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from .exceptions import (
    AudioDecodeError,
    AudioTooShortError,
    EmptyAudioError,
    NonFiniteAudioError,
    ParameterError,
    SilentAudioError,
)

__all__ = [
    "AudioSource",
    "SILENCE_PEAK",
    "load_audio",
    "validate_audio",
    "as_channels_first",
    "to_channels",
    "resample",
    "conform",
    "audio_fingerprint",
    "audio_duration",
]

AudioSource = Union[str, os.PathLike, np.ndarray]

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
    """
    arr = np.asarray(audio)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ParameterError(
            f"{name} must be a real-valued numeric array, got dtype {arr.dtype}; pass samples as floats in [-1, 1]."
        )
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


def _check_sr(sr, *, name: str = "sr") -> int:
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or int(sr) <= 0:
        raise ParameterError(f"{name} must be a positive integer sample rate in Hz, got {sr!r}.")
    return int(sr)


def _decode(path: Path, *, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
        start = int(round(offset * info.samplerate))
        frames = -1 if duration is None else int(round(duration * info.samplerate))
        data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
        return data.T, int(sr)
    except Exception as sf_error:  # libsndfile cannot read it: try librosa's audioread fallback
        import warnings

        import librosa

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data, sr = librosa.load(str(path), sr=None, mono=False, offset=offset, duration=duration)
        except Exception as lr_error:
            raise AudioDecodeError(
                f"could not decode {str(path)!r} as audio ({type(sf_error).__name__}: {sf_error}; "
                f"{type(lr_error).__name__}: {lr_error}); convert it to WAV, FLAC or OGG, or check that the file "
                "is not truncated."
            ) from lr_error
        return np.atleast_2d(data), int(sr)


def resample(audio: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio with librosa's high-quality (soxr) resampler.

    Resampling is linear, so stems resampled separately still sum to the resampled mix.
    """
    orig_sr = _check_sr(orig_sr, name="orig_sr")
    target_sr = _check_sr(target_sr, name="target_sr")
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
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ParameterError(f"channels must be a positive integer, got {channels!r}.")
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


def load_audio(
    source: AudioSource,
    *,
    sr: int | None = None,
    target_sr: int | None = None,
    channels: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    min_duration: float | None = None,
) -> tuple[np.ndarray, int]:
    """Load a file or take an array, validate it, and optionally resample and set channels.

    Parameters
    ----------
    source : str, path-like or np.ndarray
        Any file soundfile or librosa can read, or an array shaped ``(samples,)`` or ``(channels, samples)``.
    sr : int, optional
        Sample rate of ``source`` when it is an array (required then; ignored for files).
    target_sr : int, optional
        Resample to this rate (Hz). Default: keep the native rate.
    channels : int, optional
        1 averages to mono; 2 duplicates mono. Default: keep.
    offset, duration : float
        Excerpt to read from a file, in seconds.
    min_duration : float, optional
        Raise :class:`AudioTooShortError` if the result is shorter (seconds).

    Returns
    -------
    audio : np.ndarray, shape (channels, samples), float32
    sr : int
        The sample rate of the returned audio.

    Examples
    --------
    >>> y, sr = load_audio(np.random.default_rng(0).standard_normal(22050) * 0.1, sr=22050, channels=2)
    >>> y.shape, sr
    ((2, 22050), 22050)
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise AudioDecodeError(f"no such audio file: {name!r}; check the path.")
        if path.is_dir():
            raise AudioDecodeError(f"{name!r} is a directory, not an audio file; pass the path of one file.")
        if offset < 0 or (duration is not None and duration <= 0):
            raise ParameterError(f"offset must be >= 0 and duration > 0, got offset={offset}, duration={duration}.")
        audio, native_sr = _decode(path, offset=offset, duration=duration)
    elif isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        if sr is None:
            raise ParameterError("an audio array needs its sample rate: pass sr=<Hz>.")
        native_sr = _check_sr(sr)
        name = "audio array"
        audio = as_channels_first(np.asarray(source), name=name)
    else:
        raise ParameterError(
            f"audio source must be a file path or a numpy array, got {type(source).__name__}."
        )
    audio = validate_audio(audio, name=name)
    out_sr = native_sr
    if target_sr is not None:
        audio = resample(audio, orig_sr=native_sr, target_sr=target_sr)
        out_sr = int(target_sr)
    if channels is not None:
        audio = to_channels(audio, channels)
    if min_duration is not None:
        validate_audio(audio, sr=out_sr, min_duration=min_duration, name=name)
    return audio, out_sr


def audio_fingerprint(audio: np.ndarray, sr: int) -> str:
    """sha256 of the samples, shape and rate: a content key for caches."""
    import hashlib

    arr = as_channels_first(audio)
    h = hashlib.sha256()
    h.update(f"{arr.shape}|{int(sr)}|float32".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def audio_duration(path) -> float:
    """Length of an audio file in seconds, read from its header (nothing is decoded when soundfile knows the
    format; librosa's decoder measures the others).

    Examples
    --------
    >>> audio_duration("song.wav")                                  # doctest: +SKIP
    61.3
    """
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"no such audio file: {str(path)!r}; check the path.")
    try:
        import soundfile as sf

        info = sf.info(str(path))
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate
    except Exception:  # not a format libsndfile reads: let librosa measure it
        pass
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(librosa.get_duration(path=str(path)))
    except Exception as err:
        raise AudioDecodeError(f"could not read the length of {str(path)!r} ({type(err).__name__}: {err}); "
                               "convert it to WAV, FLAC or OGG.") from err
