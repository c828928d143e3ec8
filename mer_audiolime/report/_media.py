"""Embedding media in a page: 16-bit PCM audio (FLAC, lossless, or WAV) and PNG as base64 ``data:`` URIs
(nothing is fetched)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from ..exceptions import ParameterError
from ..validation import check_int

__all__ = ["wav_bytes", "wav_data_uri", "audio_bytes", "audio_data_uri", "AUDIO_FORMATS", "png_data_uri",
           "file_data_uri"]

#: Embeddable audio containers -> (soundfile format, MIME type). Both hold the same 16-bit PCM samples; FLAC
#: compresses them losslessly (every browser plays it in <audio>).
AUDIO_FORMATS = {"flac": ("FLAC", "audio/flac"), "wav": ("WAV", "audio/wav")}


def wav_bytes(audio: np.ndarray, sr: int) -> tuple[bytes, float]:
    """:func:`audio_bytes` as a WAV file."""
    return audio_bytes(audio, sr, fmt="wav")


def audio_bytes(audio: np.ndarray, sr: int, *, fmt: str = "flac") -> tuple[bytes, float]:
    """Encode ``(C, L)`` or ``(L,)`` float audio as a 16-bit PCM file (FLAC or WAV).

    Audio whose peak exceeds full scale is attenuated (the whole clip by one factor) instead of clipped.

    Parameters
    ----------
    audio : np.ndarray, shape (C, L) or (L,)
        Float samples, nominally in [-1, 1].
    sr : int
        Sample rate in Hz.
    fmt : {"flac", "wav"}
        Container; both hold the same 16-bit samples (FLAC compresses them losslessly).

    Returns
    -------
    data : bytes
        The file.
    gain_db : float
        Gain applied (0.0, or negative when the clip was attenuated to avoid clipping).

    Examples
    --------
    >>> data, gain = audio_bytes(np.zeros((1, 800)), 8000, fmt="wav")
    >>> data[:4], gain
    (b'RIFF', 0.0)
    >>> audio_bytes(np.zeros((1, 800)), 8000)[0][:4]
    b'fLaC'
    """
    import soundfile as sf

    if fmt not in AUDIO_FORMATS:
        raise ParameterError(f"audio format must be one of {sorted(AUDIO_FORMATS)}, got {fmt!r}.")
    y = np.asarray(audio, dtype=np.float64)
    if y.ndim == 1:
        y = y[np.newaxis]
    if y.ndim != 2 or y.shape[1] == 0:
        raise ParameterError(f"audio to embed must be (channels, samples) with samples > 0, got {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("audio to embed contains NaN or infinite samples.")
    check_int(sr, "sample rate", minimum=1)
    peak = float(np.max(np.abs(y)))
    gain_db = 0.0
    if peak > 1.0:
        y = y * (0.999 / peak)
        gain_db = float(20 * np.log10(0.999 / peak))
    buf = io.BytesIO()
    sf.write(buf, y.T, int(sr), format=AUDIO_FORMATS[fmt][0], subtype="PCM_16")
    return buf.getvalue(), gain_db


def wav_data_uri(audio: np.ndarray, sr: int) -> tuple[str, float]:
    """``data:audio/wav;base64,...`` of :func:`wav_bytes`; returns ``(uri, gain_db)``."""
    return audio_data_uri(audio, sr, fmt="wav")


def audio_data_uri(audio: np.ndarray, sr: int, *, fmt: str = "flac") -> tuple[str, float]:
    """``data:audio/flac;base64,...`` (or WAV) of :func:`audio_bytes`; returns ``(uri, gain_db)``."""
    data, gain = audio_bytes(audio, sr, fmt=fmt)
    return f"data:{AUDIO_FORMATS[fmt][1]};base64," + base64.b64encode(data).decode("ascii"), gain


def png_data_uri(fig, *, dpi: int = 110) -> str:
    """Render a matplotlib figure as a ``data:image/png;base64,...`` URI and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_data_uri(path, mime: str) -> str:
    """A file's bytes as a ``data:`` URI (summary figures already written as PNG)."""
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")

