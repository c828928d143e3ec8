"""Cue ornaments of the synthetic-v2 audio: a piano motif, a late vocal phrase and a string distractor.

The task variants of synthetic-v2 plant shortcuts that read *cues* in the audio (see :mod:`.tasks`). Besides
the presence of the vocal stem (the v1 cue), three ornaments are added on top of a clip's parts:

==============  ========  ===========================================  ===================================
cue             stem      what is played                               when
==============  ========  ===========================================  ===================================
``motif``       piano     a four-note figure (tonic, fifth, octave,    the first four sixteenths of every
                          fifth) two octaves above the comping         slot (two beats), the whole clip
``phrase``      vocals    a sixteenth-note stutter on two high notes   only in the last quarter of the
                          (a fifth and a sixth above the lead's top)   clip (from 0.75 x duration on)
``distractor``  other     a held high string line (tonic / fifth,      every slot, the whole clip
                          alternating by slot)
==============  ========  ===========================================  ===================================

Ornaments are **outside the quality descriptors**: the mid-level targets (and the clean emotions) of a clip
are computed from its parts without ornaments, so every variant of a clip shares them; an ornament only
changes what a shortcut can read. Ornament pitches use the home-key tonic and fifth only, so they add no
minor/major third and no dissonant interval class to the home-key harmony.

**Which clips get which cue** (:func:`assign_cues`, seeded and exact, from its own random stream). In the
training and validation splits the cues are balanced so a model can tell them apart: within each split and
vocal group, half of the clips get the motif; half of the clips with vocals (within each motif group) get the
phrase; the distractor goes to 80 % of the clips with vocals and 20 % of those without, so it is correlated
with the vocals (phi = 0.6) without being their copy. The **test split** is the evaluation design: every
clip with vocals carries the motif, the phrase and the distractor (so each task's decisive case is present
in all 15 vocal test clips of the default set, and the distractor is perfectly confounded with the vocals in
the evaluated data), and half of the clips without vocals carry the motif.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pretty_midi

from ...exceptions import ParameterError
from .score import PROGRAMS, Score

__all__ = ["CUES", "CUE_STEMS", "ORNAMENT_CUES", "PHRASE_START", "DEV_SHARES", "assign_cues", "cue_window",
           "ornament", "ornaments"]

#: Every cue a task rule can read, in column order: the vocal stem's presence and the three ornaments.
CUES = ("vocals", "motif", "phrase", "distractor")
#: The stem that carries each cue.
CUE_STEMS = {"vocals": "vocals", "motif": "piano", "phrase": "vocals", "distractor": "other"}
#: The cues that are ornaments (notes added to a stem) rather than a stem's presence.
ORNAMENT_CUES = ("motif", "phrase", "distractor")
#: The phrase starts at this fraction of the clip (the last quarter).
PHRASE_START = 0.75
#: Shares in the training and validation splits (see the module docstring).
DEV_SHARES = {"motif": 0.5, "phrase_given_vocals": 0.5, "distractor_given_vocals": 0.8,
              "distractor_given_no_vocals": 0.2}
_TEST_SPLIT = "test"


def _take(rng: np.random.Generator, members: np.ndarray, share: float) -> np.ndarray:
    """Exactly ``round(len(members) * share)`` of ``members``, chosen by a seeded permutation."""
    chosen = rng.permutation(members)[: int(round(len(members) * share))]
    return np.sort(chosen)


def assign_cues(vocals, split, *, seed: int) -> pd.DataFrame:
    """Deterministic cue flags of every clip (see the module docstring for the design).

    Parameters
    ----------
    vocals : array-like of bool, shape (n,)
        Vocal presence (from :func:`~mer_audiolime.datasets.synthetic.assign_splits`).
    split : sequence of str, length n
        ``train`` / ``validation`` / ``test`` per clip.
    seed : int
        Dataset seed (the flags come from their own stream of it).

    Returns
    -------
    pandas.DataFrame
        Bool columns ``vocals, motif, phrase, distractor``, one row per clip.

    Examples
    --------
    >>> from mer_audiolime.datasets.synthetic import assign_splits
    >>> v, s = assign_splits(200, seed=0)
    >>> flags = assign_cues(v, s, seed=0)
    >>> int(flags["motif"].sum()), bool((flags["phrase"] <= flags["vocals"]).all())
    (109, True)
    """
    vocals = np.asarray(vocals, dtype=bool)
    split = np.asarray(list(split), dtype=object)
    if vocals.ndim != 1 or len(split) != len(vocals):
        raise ParameterError(
            f"vocals and split must be 1-d of one length, got {vocals.shape} and {len(split)}.")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(2**31 - 2,)))
    n = len(vocals)
    motif, phrase, distractor = (np.zeros(n, dtype=bool) for _ in range(3))
    for name in ("train", "validation", _TEST_SPLIT):
        in_split = split == name
        for flag in (True, False):
            members = np.flatnonzero(in_split & (vocals == flag))
            if name == _TEST_SPLIT:
                motif[members if flag else _take(rng, members, DEV_SHARES["motif"])] = True
                phrase[members] = flag
                distractor[members] = flag
                continue
            motif[_take(rng, members, DEV_SHARES["motif"])] = True
            if flag:
                for has_motif in (True, False):
                    group = members[motif[members] == has_motif]
                    phrase[_take(rng, group, DEV_SHARES["phrase_given_vocals"])] = True
            share = DEV_SHARES["distractor_given_vocals" if flag else "distractor_given_no_vocals"]
            distractor[_take(rng, members, share)] = True
    return pd.DataFrame({"vocals": vocals, "motif": motif, "phrase": phrase, "distractor": distractor})


def cue_window(cue: str, *, duration: float) -> tuple[float, float]:
    """Time span ``(start, end)`` in seconds where a cue sounds (the phrase: the last quarter)."""
    if cue not in CUES:
        raise ParameterError(f"unknown cue {cue!r}; choose one of {list(CUES)}.")
    return (PHRASE_START * float(duration), float(duration)) if cue == "phrase" else (0.0, float(duration))


def _tonic_base(tonic: int, octave_c: int) -> int:
    """MIDI pitch of the home tonic in the octave around ``octave_c`` (a C), from F# below to F above."""
    return octave_c + (tonic if tonic < 6 else tonic - 12)


def _note(inst, pitch, start, end, velocity):
    inst.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch), start=float(start),
                                       end=float(end)))


def ornament(score: Score, cue: str) -> pretty_midi.Instrument:
    """The notes of one ornament cue for a score (an instrument of the cue's stem; no randomness).

    Parameters
    ----------
    score : Score
        The clip (tempo, tonic, slots and duration come from its context).
    cue : {"motif", "phrase", "distractor"}

    Returns
    -------
    pretty_midi.Instrument
        Named ``"<stem>:<cue>"`` with the stem's General-MIDI program; notes start before the clip's end.
    """
    if cue not in ORNAMENT_CUES:
        raise ParameterError(f"{cue!r} is not an ornament cue; choose one of {list(ORNAMENT_CUES)}.")
    ctx = score.context
    stem = CUE_STEMS[cue]
    inst = pretty_midi.Instrument(program=PROGRAMS[stem], name=f"{stem}:{cue}")
    if cue == "motif":
        top = _tonic_base(ctx.tonic, 84)
        for i in range(ctx.n_slots):
            for k, interval in enumerate((0, 7, 12, 7)):
                start = (i * 8 + k) * ctx.step
                _note(inst, top + interval, start, start + 0.9 * ctx.step, 100)
    elif cue == "phrase":
        lead_top = _tonic_base(ctx.tonic, 60) + 24
        first = int(np.ceil(PHRASE_START * ctx.duration / ctx.step - 1e-9))
        k = first
        while k * ctx.step < ctx.duration:
            start = k * ctx.step
            _note(inst, lead_top + (7 if (k - first) % 2 == 0 else 9), start, start + 0.6 * ctx.step, 110)
            k += 1
    else:
        top = _tonic_base(ctx.tonic, 84)
        for i in range(ctx.n_slots):
            _note(inst, top + (0 if i % 2 == 0 else 7), i * ctx.slot, (i + 1) * ctx.slot, 80)
    inst.notes = [n for n in inst.notes if n.start < ctx.duration]
    return inst


def ornaments(score: Score, flags) -> dict:
    """The ornaments a clip carries: ``{cue: Instrument}`` for every ornament cue whose flag is set.

    Parameters
    ----------
    score : Score
    flags : mapping
        ``{cue: bool}`` (e.g. one row of :func:`assign_cues`); the phrase needs a vocal part.
    """
    out = {}
    for cue in ORNAMENT_CUES:
        if bool(flags.get(cue, False)):
            if cue == "phrase" and not score.parts["vocals"].notes:
                raise ParameterError("the phrase cue needs a clip with vocals; its vocal part is empty.")
            out[cue] = ornament(score, cue)
    return out
