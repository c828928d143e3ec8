"""SoundFont rendering of the synthetic scores, one stem at a time, and exact 16-bit stems and mix.

Each stem is rendered alone, in mono, by TinySoundFont (``tinysoundfont``) from pretty_midi's bundled
General-MIDI SoundFont ``TimGM6mb.sf2``, with a fresh synthesizer per stem so a stem depends on its own notes
only (a reused TinySoundFont instance keeps voice state between renders and is not bit-reproducible).
Events are placed at exact sample positions, so rendering is deterministic.

The stems are scaled by fixed per-stem gains (:data:`GAINS`), quantised to 16-bit integers, and the mix is
the **integer sum** of the quantised stems. Read back as floats (``int / 32768``, exact in float32), the
stems therefore sum to the mix exactly. A clip whose mix would exceed full scale is scaled down as a whole
before quantisation (the factor is recorded as ``gain`` in the metadata; 1.0 for almost every clip).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ...exceptions import DatasetError
from ...validation import check_int
from .score import PROGRAMS, STEMS, Score

__all__ = ["GAINS", "HEADROOM", "soundfont_path", "render_part", "render_score", "quantise", "to_pcm16"]

#: Linear gain of each stem before mixing (balances the SoundFont's preset levels).
GAINS = {"vocals": 1.1, "piano": 0.85, "bass": 0.25, "drums": 0.4, "other": 0.35}
#: Peak the mix is limited to (full scale = 1).
HEADROOM = 0.95


def soundfont_path() -> str:
    """Path of pretty_midi's bundled General-MIDI SoundFont ``TimGM6mb.sf2``."""
    import pretty_midi

    path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    if not os.path.isfile(path):
        raise DatasetError(
            f"pretty_midi's SoundFont was not found at {path!r}; reinstall pretty_midi (pip install "
            "--force-reinstall pretty_midi)."
        )
    return path


@functools.lru_cache(maxsize=1)
def _soundfont_bytes() -> bytes:
    with open(soundfont_path(), "rb") as fh:
        return fh.read()


def _tsf():
    try:
        from tinysoundfont import _tinysoundfont
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise DatasetError(
            "the synthetic benchmark needs tinysoundfont; install it without its playback-only dependency: "
            "pip install --no-deps 'tinysoundfont>=0.3'."
        ) from err
    return _tinysoundfont


def render_part(instrument, *, sr: int, n_samples: int, program: int | None = None) -> np.ndarray:
    """Render one ``pretty_midi.Instrument`` to mono float32 samples.

    Parameters
    ----------
    instrument : pretty_midi.Instrument
        Its notes (``is_drum`` selects the General-MIDI drum kit).
    sr : int
        Sample rate in Hz.
    n_samples : int
        Output length; notes are cut at the end.
    program : int, optional
        General-MIDI program (0-based); default the instrument's own.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    check_int(sr, "sr", minimum=1)
    tsf = _tsf()
    out = np.zeros(int(n_samples), dtype=np.float32)
    if not instrument.notes:
        return out
    sf = tsf.SoundFont(_soundfont_bytes())
    sf.set_output(tsf.OutputMode.Mono, int(sr), 0.0)
    sf.set_max_voices(64)
    sf.channel_set_preset_number(0, int(instrument.program if program is None else program),
                                 bool(instrument.is_drum))
    events = []
    for note in instrument.notes:
        on = int(round(note.start * sr))
        if on >= n_samples:
            continue
        events.append((on, 1, note.pitch, note.velocity))
        events.append((int(round(note.end * sr)), 0, note.pitch, 0))
    events.sort()  # by sample, note-offs (0) before note-ons (1) at the same sample, then pitch
    view = memoryview(out).cast("B")
    pos = 0
    for at, kind, pitch, velocity in events:
        at = min(at, n_samples)
        if at > pos:
            sf.render(view[pos * 4: at * 4], False)
            pos = at
        if at >= n_samples:
            break
        if kind:
            sf.channel_note_on(0, int(pitch), velocity / 127.0)
        else:
            sf.channel_note_off(0, int(pitch))
    if pos < n_samples:
        sf.render(view[pos * 4:], False)
    return out


def render_score(score: Score, *, sr: int, stems=None) -> dict:
    """Render the stems of a score with :data:`GAINS` applied (float32, before quantisation).

    Parameters
    ----------
    score : Score
    sr : int
        Sample rate in Hz.
    stems : iterable of str, optional
        Which stems to render (default all); an absent part renders as zeros.

    Returns
    -------
    dict
        ``{stem: np.ndarray (n_samples,) float32}`` with ``n_samples = round(duration * sr)``.
    """
    n = int(round(score.context.duration * sr))
    names = STEMS if stems is None else tuple(stems)
    return {name: render_part(score.parts[name], sr=sr, n_samples=n, program=PROGRAMS[name]) * np.float32(
        GAINS[name]) for name in names}


def quantise(stem, gain: float) -> np.ndarray:
    """One float stem (full scale = 1) times ``gain``, rounded to int16 (the quantiser of :func:`to_pcm16`).

    Examples
    --------
    >>> quantise(np.array([0.5, -1.0, 2.0]), 1.0).tolist()
    [16384, -32767, 32767]
    """
    scaled = np.round(np.asarray(stem, dtype=np.float64) * gain * 32767.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def to_pcm16(stems: dict) -> tuple[dict, np.ndarray, float]:
    """Quantise stems to int16 and form the mix as their exact integer sum.

    Parameters
    ----------
    stems : dict
        ``{stem: float array}`` of equal length, full scale = 1.

    Returns
    -------
    pcm : dict
        ``{stem: np.ndarray int16}``.
    mix : np.ndarray, int16
        ``sum(pcm.values())`` (no overflow: the mix is limited to :data:`HEADROOM`).
    gain : float
        Factor applied to every stem of this clip (1.0 unless the mix would exceed the headroom).
    """
    names = list(stems)
    total = np.sum([np.asarray(stems[k], dtype=np.float64) for k in names], axis=0)
    peak = float(np.max(np.abs(total))) if total.size else 0.0
    gain = 1.0 if peak <= HEADROOM else float(np.floor(HEADROOM / peak * 1e6) / 1e6)
    pcm = {k: quantise(stems[k], gain) for k in names}
    mix32 = np.sum([pcm[k].astype(np.int32) for k in names], axis=0)
    if mix32.size and (mix32.max() > 32767 or mix32.min() < -32768):  # pragma: no cover - guarded by HEADROOM
        raise DatasetError("the 16-bit mix overflowed; lower HEADROOM.")
    return pcm, mix32.astype(np.int16), gain
