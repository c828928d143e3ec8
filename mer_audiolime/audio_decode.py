"""Decoding audio files: the only module that reads them, with truncation detection and a decode report.

:func:`load_audio` and :func:`read_audio` take a file (anything soundfile or librosa decodes) or an array,
and return a validated float32 ``(channels, samples)`` signal, optionally resampled and with a set channel
count (:mod:`mer_audiolime.audio_signal`). A file that decodes to fewer samples than its header declares is
reported (``read_audio``) or warned about (``load_audio``). Both modules are re-exported by
:mod:`mer_audiolime.audio`.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Union

import numpy as np

from .audio_signal import as_channels_first, check_sr, resample, to_channels, validate_audio
from .exceptions import AudioDecodeError, ParameterError, TruncatedAudioWarning

__all__ = ["AudioSource", "load_audio", "read_audio", "audio_duration", "truncation_message"]

AudioSource = Union[str, os.PathLike, np.ndarray]


def _wav_declared_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE header declares (``data`` chunk size / block align), or None when unknown.

    libsndfile reports the frames actually present, so a WAV cut short decodes without complaint; the header
    still holds the size that was written (RIFF layout: Microsoft's "Multimedia Programming Interface and
    Data Specifications 1.0", 1991: ``fmt `` chunk with nBlockAlign at byte 12, ``data`` chunk size).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            block_align = None
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(min(size, 16))
                    if len(fmt) < 14:
                        return None
                    block_align = struct.unpack(endian + "H", fmt[12:14])[0]
                    fh.seek(size - len(fmt) + (size & 1), os.SEEK_CUR)
                elif cid == b"data":
                    if not block_align or size in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                        return None
                    return size // block_align
                else:
                    fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None


def _ogg_complete(path: Path) -> bool | None:
    """Whether an Ogg file ends with a complete end-of-stream page (RFC 3533: capture pattern ``OggS``,
    header-type flag 0x04 on the last page), or None when the file is not Ogg."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"OggS":
                return None
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 65536 - 282))
            tail = fh.read()
    except OSError:
        return None
    pos = tail.rfind(b"OggS")
    if pos < 0 or len(tail) - pos < 27:
        return False
    page = tail[pos:]
    n_segments = page[26]
    if len(page) < 27 + n_segments:
        return False
    body = sum(page[27 : 27 + n_segments])
    return bool(page[5] & 0x04) and len(page) >= 27 + n_segments + body


def _read_salvaging(path: Path, *, start: int, frames: int):
    """Decode block by block and keep what decodes before a decoder error (a damaged tail)."""
    import soundfile as sf

    blocks, error = [], None
    with sf.SoundFile(str(path)) as fh:
        if start:
            fh.seek(start)
        got = 0
        while frames < 0 or got < frames:
            n = 4096 if frames < 0 else min(4096, frames - got)  # small blocks: salvage up to the damage
            try:
                block = fh.read(n, dtype="float32", always_2d=True)
            except (RuntimeError, sf.LibsndfileError) as err:
                error = err
                break
            if not len(block):
                break
            blocks.append(block)
            got += len(block)
        channels = fh.channels
    data = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    return data, error


def _decode(path: Path, *, offset: float, duration: float | None) -> tuple[np.ndarray, int, dict]:
    import soundfile as sf

    report = {"path": str(path), "decoder": "soundfile", "declared_frames": None, "truncated": False}
    try:
        info = sf.info(str(path))
        start = int(round(offset * info.samplerate))
        frames = -1 if duration is None else int(round(duration * info.samplerate))
        try:
            data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
            error = None
        except (RuntimeError, sf.LibsndfileError) as err:  # e.g. "flac decoder lost sync": keep what decodes
            data, error = _read_salvaging(path, start=start, frames=frames)
            sr = info.samplerate
            if not len(data):
                raise err
        declared = _wav_declared_frames(path) if info.format in ("WAV", "WAVEX") else None
        declared = declared if declared is not None else (int(info.frames) if info.frames > 0 else None)
        report.update(declared_frames=declared, sample_rate=int(sr), decoded_frames=int(start + len(data)))
        wanted_end = None if frames < 0 else start + frames
        if declared is not None and (wanted_end is None or wanted_end > start + len(data)):
            exact = info.format in ("WAV", "WAVEX", "FLAC", "AIFF")
            slack = max(1, declared // 1000) if exact else max(2 * 1152, declared // 100)
            if start + len(data) < min(declared, wanted_end or declared) - slack + 1:
                report.update(truncated=True, reason="the file holds fewer samples than its header declares")
        if info.format == "OGG" and _ogg_complete(path) is False:
            report.update(truncated=True, reason="the stream ends without a complete end-of-stream page")
        if error is not None and not report["truncated"]:
            report.update(truncated=True, reason=f"decoding stopped early ({error})")
    except Exception as sf_error:  # libsndfile cannot read it: try librosa's audioread fallback
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
        report.update(decoder="librosa", sample_rate=int(sr), decoded_frames=int(np.shape(data)[-1]))
        return np.atleast_2d(data), int(sr), report
    if report["truncated"] and not len(data):
        raise AudioDecodeError(f"no samples could be decoded: {truncation_message(report)}")
    return data.T, int(sr), report


def truncation_message(report: dict) -> str:
    """A one-line description of a truncated decode (``report`` from :func:`read_audio`)."""
    sr = report.get("sample_rate") or 1
    got = report.get("decoded_frames") or 0
    declared = report.get("declared_frames")
    size = f"its header declares {declared / sr:.2f} s, " if declared else ""
    return (f"{report.get('path')} is truncated ({report.get('reason')}): {size}only {got / sr:.2f} s "
            "decoded, and only that part is used; re-export or re-download the file.")



def read_audio(
    source: AudioSource,
    *,
    sr: int | None = None,
    target_sr: int | None = None,
    channels: int | None = None,
    offset: float = 0.0,
    duration: float | None = None,
    min_duration: float | None = None,
) -> tuple[np.ndarray, int, dict]:
    """:func:`load_audio` that also returns a decode report instead of warning about truncation.

    Parameters
    ----------
    source : str, path-like or np.ndarray
        Any file soundfile or librosa can read, or an array shaped ``(samples,)`` or ``(channels, samples)``
        (integer PCM arrays are scaled to [-1, 1], see :func:`as_channels_first`).
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
    report : dict
        ``{"path", "decoder", "declared_frames", "decoded_frames", "sample_rate", "truncated", "reason"}`` for
        files (``truncated`` is True when the file decoded to fewer samples than its header declares or its
        stream ends early); ``{"truncated": False}`` for arrays.

    Examples
    --------
    >>> y, sr, report = read_audio(np.ones(22050, np.float32) * 0.1, sr=22050)
    >>> report["truncated"]
    False
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
        audio, native_sr, report = _decode(path, offset=offset, duration=duration)
    elif isinstance(source, np.ndarray) or hasattr(source, "__array__"):
        if sr is None:
            raise ParameterError("an audio array needs its sample rate: pass sr=<Hz>.")
        native_sr = check_sr(sr)
        name = "audio array"
        audio = as_channels_first(np.asarray(source), name=name)
        report = {"truncated": False}
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
    return audio, out_sr, report


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
        Any file soundfile or librosa can read, or an array shaped ``(samples,)`` or ``(channels, samples)``
        (integer PCM arrays are scaled to [-1, 1], see :func:`as_channels_first`).
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

    Warns
    -----
    TruncatedAudioWarning
        The file decoded to fewer samples than its header declares (or its stream ends early); the decodable
        part is returned.

    Examples
    --------
    >>> y, sr = load_audio(np.random.default_rng(0).standard_normal(22050) * 0.1, sr=22050, channels=2)
    >>> y.shape, sr
    ((2, 22050), 22050)
    """
    audio, out_sr, report = read_audio(source, sr=sr, target_sr=target_sr, channels=channels, offset=offset,
                                       duration=duration, min_duration=min_duration)
    if report.get("truncated"):
        warnings.warn(truncation_message(report), TruncatedAudioWarning, stacklevel=2)
    return audio, out_sr



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

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(librosa.get_duration(path=str(path)))
    except Exception as err:
        raise AudioDecodeError(f"could not read the length of {str(path)!r} ({type(err).__name__}: {err}); "
                               "convert it to WAV, FLAC or OGG.") from err
