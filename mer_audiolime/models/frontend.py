"""Spectrogram frontends: batched waveform -> (log-)magnitude filterbank spectrogram, as a torch module.

The default reproduces the input representation described for the mid-level / emotion models of Chowdhury
et al. (ISMIR 2019; SMC 2021): 22,050 Hz mono, frames of 2048 samples, 31.3 frames per second, a logarithmic
filterbank with 24 triangular bands per octave between 20 Hz and 16 kHz (built the way madmom builds it), and
the compressed magnitude ``log10(1 + x)``. Here the frame rate is realised with an integer hop of 704 samples
(22050 / 704 = 31.32 frames/s), frames are centred with zero padding, and a periodic Hann window is used.

Filterbank construction (madmom's ``LogarithmicFilterbank`` convention, re-implemented here):

1. centre frequencies ``440 * 2 ** (k / 24)`` for every integer ``k`` that lies within [fmin, fmax];
2. each frequency is mapped to the nearest FFT bin of the ``n_fft // 2`` bins below Nyquist, and duplicate
   bins are dropped (frequencies above Nyquist all land on the top bin);
3. every three consecutive bins ``(start, centre, stop)`` give one triangle rising from 0 at ``start`` to 1
   at ``centre`` and falling to 0 at ``stop`` (exclusive), normalised to unit area.

At 22,050 Hz with 2048-sample frames this yields 151 distinct bins and so **149 bands** — the paper's input
height. A mel filterbank (librosa's Slaney mel) is available with ``scale="mel"``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..exceptions import ParameterError
from ..validation import check_int

__all__ = ["Frontend", "log_frequency_filterbank", "mel_filterbank", "log_center_frequencies", "as_mono",
           "spectral_profile_distance", "profile_distances", "input_check", "domain_threshold",
           "CHECK_SECONDS"]

_A4 = 440.0


def log_center_frequencies(*, bands_per_octave: int = 24, fmin: float = 20.0, fmax: float = 16000.0,
                           fref: float = _A4) -> np.ndarray:
    """Frequencies ``fref * 2 ** (k / bands_per_octave)`` (integer k) within ``[fmin, fmax]``, in Hz.

    Returns
    -------
    np.ndarray, shape (n,), float64, ascending
    """
    if not 0 < fmin < fmax:
        raise ParameterError(f"need 0 < fmin < fmax, got fmin={fmin!r}, fmax={fmax!r}.")
    k_lo = int(np.ceil(np.log2(fmin / fref) * bands_per_octave))
    k_hi = int(np.floor(np.log2(fmax / fref) * bands_per_octave))
    return fref * 2.0 ** (np.arange(k_lo, k_hi + 1) / bands_per_octave)


def log_frequency_filterbank(*, sample_rate: int = 22050, n_fft: int = 2048, bands_per_octave: int = 24,
                             fmin: float = 20.0, fmax: float = 16000.0, fref: float = _A4) -> np.ndarray:
    """Triangular log-frequency filterbank (see the module docstring for the construction).

    Parameters
    ----------
    sample_rate : int
        Hz.
    n_fft : int
        Frame length in samples.
    bands_per_octave, fmin, fmax, fref
        Band spacing, frequency range in Hz and reference tuning (A4).

    Returns
    -------
    np.ndarray, shape (n_bands, n_fft // 2 + 1), float64
        Rows are unit-area triangles over the STFT bins; the Nyquist column is always zero.

    Examples
    --------
    >>> log_frequency_filterbank().shape
    (149, 1025)
    """
    n_bins = n_fft // 2  # madmom convention: the Nyquist bin is not used
    bin_freqs = np.arange(n_bins) * sample_rate / n_fft
    centres = log_center_frequencies(bands_per_octave=bands_per_octave, fmin=fmin, fmax=fmax, fref=fref)
    # nearest bin (ties go to the upper bin), clipped to the available range
    nearest = np.abs(bin_freqs[None, :] - centres[:, None])
    idx = np.array([n_bins - 1 - np.argmin(row[::-1]) for row in nearest])
    bins = np.unique(idx)
    if bins.size < 3:
        raise ParameterError(
            f"only {bins.size} distinct FFT bins between fmin={fmin} and fmax={fmax} Hz at n_fft={n_fft}; "
            "widen the range or use a longer frame."
        )
    fb = np.zeros((bins.size - 2, n_fft // 2 + 1))
    for band, (start, centre, stop) in enumerate(zip(bins[:-2], bins[1:-1], bins[2:])):
        rise = np.arange(centre - start) / (centre - start)
        fall = 1.0 - np.arange(stop - centre) / (stop - centre)
        tri = np.concatenate([rise, fall])
        fb[band, start:stop] = tri / tri.sum()
    return fb


def mel_filterbank(*, sample_rate: int = 22050, n_fft: int = 2048, n_mels: int = 128, fmin: float = 20.0,
                   fmax: float = 11025.0) -> np.ndarray:
    """Slaney-style mel filterbank from librosa, shape ``(n_mels, n_fft // 2 + 1)``."""
    import librosa

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                               fmax=min(fmax, sample_rate / 2)).astype(np.float64)


class Frontend(nn.Module):
    """Waveforms ``(B, L)`` or ``(B, C, L)`` -> spectrograms ``(B, 1, n_bands, n_frames)``.

    Multichannel input is averaged to mono. ``n_frames = 1 + L // hop_length`` (centred frames).
    The output is ``log10(log_offset + log_multiplier * (filterbank @ |STFT|))``, then standardised per band
    with the ``mean``/``std`` buffers (identity until :meth:`set_normalization` is called; training fits
    them).

    Parameters
    ----------
    sample_rate : int
        Expected input rate in Hz (the module does not resample).
    n_fft : int
        Frame length (default 2048).
    hop_length : int
        Hop in samples (default 704, i.e. 31.3 frames/s at 22,050 Hz).
    scale : {"log", "mel"}
        Log-frequency filterbank (paper) or mel.
    bands_per_octave, fmin, fmax : optional
        Log filterbank settings (default 24, 20 Hz, 16 kHz -> 149 bands at 22,050 Hz).
    n_mels : int
        Mel bands for ``scale="mel"``.
    log_offset, log_multiplier : float
        Magnitude compression ``log10(offset + multiplier * x)``.

    Examples
    --------
    >>> fe = Frontend()
    >>> fe(torch.zeros(2, 22050)).shape
    torch.Size([2, 1, 149, 32])
    """

    def __init__(self, *, sample_rate: int = 22050, n_fft: int = 2048, hop_length: int = 704,
                 scale: str = "log", bands_per_octave: int = 24, fmin: float = 20.0,
                 fmax: float = 16000.0, n_mels: int = 128, log_offset: float = 1.0,
                 log_multiplier: float = 1.0):
        super().__init__()
        for what, value in (("sample_rate", sample_rate), ("n_fft", n_fft), ("hop_length", hop_length)):
            check_int(value, what, minimum=1)
        if log_offset <= 0 or log_multiplier <= 0:
            raise ParameterError(
                f"log_offset and log_multiplier must be > 0, got {log_offset!r}, {log_multiplier!r}."
            )
        if scale == "log":
            fb = log_frequency_filterbank(sample_rate=sample_rate, n_fft=n_fft,
                                          bands_per_octave=bands_per_octave, fmin=fmin, fmax=fmax)
        elif scale == "mel":
            fb = mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
                                fmax=min(fmax, sample_rate / 2))
        else:
            raise ParameterError(f"scale must be 'log' or 'mel', got {scale!r}.")
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.scale = scale
        self.log_offset = float(log_offset)
        self.log_multiplier = float(log_multiplier)
        self.config = dict(sample_rate=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                           scale=scale, bands_per_octave=bands_per_octave, fmin=fmin, fmax=fmax,
                           n_mels=n_mels, log_offset=self.log_offset, log_multiplier=self.log_multiplier)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("filterbank", torch.from_numpy(fb.astype(np.float32)), persistent=False)
        n_bands = fb.shape[0]
        self.register_buffer("mean", torch.zeros(n_bands))
        self.register_buffer("std", torch.ones(n_bands))

    @property
    def n_bands(self) -> int:
        """Number of frequency bands (output height)."""
        return int(self.filterbank.shape[0])

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    def num_frames(self, n_samples: int) -> int:
        """Frames produced for an input of ``n_samples`` samples."""
        return 1 + int(n_samples) // self.hop_length

    def set_normalization(self, mean, std, *, eps: float = 1e-5) -> None:
        """Set per-band standardisation ``(x - mean) / max(std, eps)``; shapes ``(n_bands,)``."""
        mean = torch.as_tensor(np.asarray(mean, dtype=np.float32)).reshape(-1)
        std = torch.as_tensor(np.asarray(std, dtype=np.float32)).reshape(-1)
        if mean.numel() != self.n_bands or std.numel() != self.n_bands:
            raise ParameterError(
                f"mean and std need {self.n_bands} values (one per band), got {mean.numel()} and "
                f"{std.numel()}."
            )
        self.mean.copy_(mean)
        self.std.copy_(torch.clamp(std, min=eps))

    def magnitude(self, waveform: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitude ``(B, n_fft // 2 + 1, n_frames)`` of mono-mixed input."""
        x = as_mono(waveform)
        spec = torch.stft(x, n_fft=self.n_fft, hop_length=self.hop_length, window=self.window,
                          center=True, pad_mode="constant", return_complex=True)
        return spec.abs()

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        mag = self.magnitude(waveform)
        bands = torch.matmul(self.filterbank, mag)  # (B, n_bands, n_frames)
        out = torch.log10(self.log_offset + self.log_multiplier * bands)
        out = (out - self.mean[:, None]) / self.std[:, None]
        return out.unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"scale={self.scale!r}, sample_rate={self.sample_rate}, n_fft={self.n_fft}, "
                f"hop_length={self.hop_length}, n_bands={self.n_bands}")


def as_mono(waveform: torch.Tensor) -> torch.Tensor:
    """``(B, L)``, ``(B, C, L)`` (channels averaged) or ``(L,)`` input as a float32 ``(B, L)`` tensor."""
    if not torch.is_tensor(waveform):
        waveform = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    if waveform.ndim == 3:
        waveform = waveform.mean(dim=1)
    elif waveform.ndim == 1:
        waveform = waveform[None]
    elif waveform.ndim != 2:
        raise ParameterError(
            f"waveform must be (B, L) or (B, C, L), got shape {tuple(waveform.shape)}."
        )
    return waveform.to(torch.float32)


def spectral_profile_distance(frontend: Frontend, audio, *, chunk_samples: int = 1 << 22) -> float:
    """How far a clip's average spectrum lies from a trained model's training data, in training sd units.

    The frontend standardises each band with the training set's mean and standard deviation; the clip's
    time-averaged standardised spectrogram is its profile, and the distance is the root mean square of that
    profile over bands. Clips like the training data score well below 1 (every band near its training mean);
    a different kind of audio (e.g. real recordings for a model trained on synthetic audio) scores higher.
    Model cards store the threshold measured on the training clips (``domain["input_check"]``).

    Parameters
    ----------
    frontend : Frontend
        A trained model's frontend (its ``mean``/``std`` buffers fitted on the training set).
    audio : np.ndarray, shape (C, L) or (L,)
        At ``frontend.sample_rate``.
    chunk_samples : int
        Long audio is processed in frame-aligned chunks of about this many samples (bounded memory).

    Returns
    -------
    float

    Examples
    --------
    >>> fe = Frontend()
    >>> round(spectral_profile_distance(fe, np.zeros(22050, np.float32)), 3)  # untrained: mean 0, sd 1
    0.0
    """
    x = np.asarray(audio, dtype=np.float32)
    x = x.reshape(-1, x.shape[-1]).mean(axis=0)
    hop = frontend.hop_length
    step = max(hop, (int(chunk_samples) // hop) * hop)
    total, frames = None, 0
    with torch.inference_mode():
        for start in range(0, x.shape[-1], step):
            piece = torch.from_numpy(np.ascontiguousarray(x[start : start + step]))[None]
            spec = frontend(piece)[0, 0]  # (bands, frames)
            part = spec.sum(dim=1).double()
            total = part if total is None else total + part
            frames += spec.shape[1]
    profile = (total / max(frames, 1)).numpy()
    return float(np.sqrt(np.mean(profile**2)))


def profile_distances(specs, *, frames: int | None = None) -> np.ndarray:
    """:func:`spectral_profile_distance` of each clip of a batch of *standardised* spectrograms.

    Parameters
    ----------
    specs : torch.Tensor or np.ndarray, shape (B, 1, bands, frames)
        Frontend outputs (already standardised with the training statistics).
    frames : int, optional
        Use excerpts of this many frames: the first and the last of each clip (2B distances).

    Returns
    -------
    np.ndarray, shape (B,) or (2B,)
    """
    x = torch.as_tensor(specs).double()
    if frames is not None:
        x = torch.cat([x[..., :frames], x[..., -frames:]])
    profile = x.mean(dim=(1, 3))  # (B, bands)
    return torch.sqrt((profile**2).mean(dim=1)).numpy()


#: Excerpt lengths (s) at which the out-of-domain threshold is measured: the distance of a shorter excerpt
#: is noisier (fewer frames in its average), so its threshold is higher.
CHECK_SECONDS = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)


def input_check(distances_by_seconds: dict, *, n_sd: float = 4.0, margin: float = 1.2) -> dict:
    """The out-of-domain rule stored in a model card: an input whose :func:`spectral_profile_distance`
    exceeds, for training excerpts of its length, the larger of their mean + ``n_sd`` standard deviations and
    ``margin`` times their largest distance, is out of domain (no training excerpt is ever flagged).

    Parameters
    ----------
    distances_by_seconds : dict of float to array
        Excerpt length (s) -> distances of training excerpts of that length.
    n_sd, margin : float

    Examples
    --------
    >>> input_check({10.0: [0.2, 0.3, 0.25]})["threshold"]
    0.45
    """
    rows = []
    for seconds in sorted(distances_by_seconds):
        d = np.asarray(distances_by_seconds[seconds], dtype=np.float64)
        sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
        threshold = max(float(d.mean()) + n_sd * sd, margin * float(d.max()))
        rows.append({"seconds": float(seconds), "n": int(d.size), "mean": round(float(d.mean()), 4),
                     "sd": round(sd, 4), "max": round(float(d.max()), 4), "threshold": round(threshold, 4)})
    return {"statistic": "spectral_profile_distance",
            "rule": f"max(training excerpts' mean + {n_sd:g} sd, {margin:g} x their largest)",
            "threshold": rows[-1]["threshold"], "train_max": rows[-1]["max"], "by_seconds": rows}


def domain_threshold(check: dict, seconds: float) -> float | None:
    """The out-of-domain threshold of a card's ``input_check`` for an input of ``seconds``.

    Interpolated on log-duration between the measured excerpt lengths and held at the longest one beyond
    it; None for inputs shorter than the shortest measured excerpt (too short to judge).

    Examples
    --------
    >>> check = input_check({1.0: [0.5, 0.6, 0.55], 10.0: [0.2, 0.3, 0.25]})
    >>> domain_threshold(check, 0.5) is None, domain_threshold(check, 30.0)
    (True, 0.45)
    """
    rows = check.get("by_seconds") or []
    if not rows:
        return float(check["threshold"]) if check.get("threshold") else None
    secs = np.array([r["seconds"] for r in rows])
    thr = np.array([r["threshold"] for r in rows])
    if seconds < secs[0]:
        return None
    return float(np.interp(np.log(seconds), np.log(secs), thr))
