"""Frontend truths: the paper's 149-band log filterbank and the waveform -> spectrogram module, checked
against an independent numpy/librosa computation."""

import librosa
import numpy as np
import pytest
import torch

from mer_audiolime.exceptions import ParameterError
from mer_audiolime.models.frontend import Frontend, log_frequency_filterbank

SR, N_FFT, HOP = 22050, 2048, 704


def reference_filterbank(sr=SR, n_fft=N_FFT, bpo=24, fmin=20.0, fmax=16000.0):
    """Written from the description, independently of the package: semitone/24 centres around A4 inside
    [fmin, fmax], rounded to the nearest of the n_fft/2 bins below Nyquist (halves round up), unique bins,
    unit-area triangles over consecutive bin triplets (right edge excluded)."""
    centres = []
    k = -200
    while True:
        f = 440.0 * 2 ** (k / bpo)
        if f > fmax:
            break
        if f >= fmin:
            centres.append(f)
        k += 1
    top = n_fft // 2 - 1
    bins = sorted({min(int(np.floor(f * n_fft / sr + 0.5)), top) for f in centres})
    fb = np.zeros((len(bins) - 2, n_fft // 2 + 1))
    for b in range(len(bins) - 2):
        lo, mid, hi = bins[b], bins[b + 1], bins[b + 2]
        for j in range(lo, hi):
            fb[b, j] = (j - lo) / (mid - lo) if j < mid else (hi - j) / (hi - mid)
        fb[b] /= fb[b].sum()
    return fb


def test_paper_filterbank_has_149_bands_and_matches_reference():
    fb = log_frequency_filterbank()
    ref = reference_filterbank()
    assert fb.shape == (149, 1025)
    np.testing.assert_allclose(fb, ref, atol=1e-12)
    np.testing.assert_allclose(fb.sum(axis=1), 1.0)
    assert np.all(fb[:, -1] == 0)  # Nyquist bin unused


def test_frame_rate_is_31_3_per_second():
    fe = Frontend()
    assert fe.hop_length == 704
    assert fe.frames_per_second == pytest.approx(31.32, abs=0.01)
    assert fe.num_frames(SR * 10) == 1 + SR * 10 // HOP


def test_log_spectrogram_matches_librosa_reference():
    rng = np.random.default_rng(0)
    t = np.arange(SR * 2) / SR
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32)
    y2 = (0.5 * np.sin(2 * np.pi * 97 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32)
    mag = lambda x: np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, window="hann", center=True,
                                        pad_mode="constant"))
    fb = reference_filterbank()
    ref = np.stack([np.log10(1.0 + fb @ mag(x)) for x in (y, y2)])
    out = Frontend()(torch.from_numpy(np.stack([y, y2]))).numpy()
    assert out.shape == (2, 1, 149, 1 + y.size // HOP)
    np.testing.assert_allclose(out[:, 0], ref, atol=1e-4)


def test_mel_option_matches_librosa():
    y = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.2
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, power=1.0, n_mels=96,
                                         fmin=20.0, fmax=SR / 2, center=True, pad_mode="constant")
    out = Frontend(scale="mel", n_mels=96)(torch.from_numpy(y[None])).numpy()[0, 0]
    np.testing.assert_allclose(out, np.log10(1 + ref), atol=1e-4)


def test_stereo_is_averaged_and_normalisation_applies():
    y = np.random.default_rng(2).standard_normal((1, 2, SR)).astype(np.float32) * 0.1
    fe = Frontend()
    mono = fe(torch.from_numpy(y.mean(axis=1)))
    torch.testing.assert_close(fe(torch.from_numpy(y)), mono)
    fe.set_normalization(np.full(149, 0.5), np.full(149, 2.0))
    torch.testing.assert_close(fe(torch.from_numpy(y)), (mono - 0.5) / 2.0)
    state = fe.state_dict()
    assert set(state) == {"mean", "std"}  # the normalisation travels with checkpoints


def test_bad_arguments_raise_parameter_error():
    with pytest.raises(ParameterError):
        Frontend(scale="cqt")
    with pytest.raises(ParameterError):
        Frontend(hop_length=0)
    with pytest.raises(ParameterError):
        Frontend()(torch.zeros(1, 1, 1, 100))
