"""Known truth of the synthetic benchmark: mid-level targets, the emotion map and the relevance table.

**Mid-level targets.** Each target ``j`` is computed from *descriptors measured on the notes of the stems
that drive it* (the score, not the nominal parameters, so a target reflects what is actually played):

    m_j = 0.5 + sum_{s in D_j, s sounding} (x_{j,s} - 0.5) / |D_j|

where ``D_j`` are the stems that have a descriptor ``x_{j,s}`` in [0, 1] for target ``j``
(:data:`DESCRIPTORS`). :data:`RELEVANCE` states the same drivers as a separate, hand-written table; the tests
check it against probes of the score and of the rendered audio, not against this code. With every driving stem present this is the mean of their
descriptors; a switched-off (or absent) stem contributes the neutral 0.5. Descriptors:

- melodiousness / vocals: share of melodic moves that are steps (one degree of the lead's scale);
- articulation / vocals: ``(1 - mean gate) / 0.9`` where gate = sounding length / inter-onset interval;
- rhythm_complexity / drums: ``0.5 * density + 0.5 * syncopation`` (hits per bar scaled from [8, 26] to
  [0, 1]; share of kick/snare hits off the quarter-note grid, scaled by 1/0.6);
- rhythm_stability / drums, bass: ``0.5 * repetition + 0.5 * (1 - min(1, rms_jitter / 0.03 s))``
  (repetition = share of bars (drums) / chord slots (bass) that repeat the clip's most common pattern);
- dissonance / piano: mean number of note pairs per chord at interval class 1 or 6 (m2/M7, tritone),
  divided by that of the most dissonant chord the generator writes;
- tonal_stability / piano, other: share of chords whose root is the home-key root of that slot;
- minorness / piano, bass: share of thirds above the chord root that are minor (3 vs 4 semitones).

**Emotion map.** ``e = W @ m + noise`` (bias-free, ``W`` = :data:`EMOTION_WEIGHTS`; noise ~ N(0, 0.03²)
per clip from the clip's ``noise`` stream). Valence has zero weight on the vocal-carried qualities, so in
the clean variant the vocal stem has no path to valence; the planted-bias variant adds :data:`SHORTCUT` to
valence of training and validation clips whose vocal stem is present.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ...exceptions import ParameterError
from ...names import EMOTION_NAMES, MIDLEVEL_NAMES
from .score import KICK, LEAD_SET, MAX_JITTER, SNARE, STEMS, Score, stream

__all__ = [
    "MIDLEVEL",
    "EMOTIONS",
    "RELEVANCE",
    "PARAM_TARGET",
    "EMOTION_WEIGHTS",
    "NOISE_SD",
    "SHORTCUT",
    "DESCRIPTORS",
    "descriptors",
    "midlevel_targets",
    "emotion_targets",
    "relevance_table",
    "relevance_frame",
]

#: The seven mid-level targets (Aljanaki & Soleymani 2018 names), in column order.
MIDLEVEL = MIDLEVEL_NAMES
#: Emotion targets, in column order.
EMOTIONS = EMOTION_NAMES

#: Ground-truth relevance (targets x stems): True where the stem carries the target. Written out as data
#: (not derived from the code) so the probes in the tests can disagree with it.
RELEVANCE = pd.DataFrame(
    [
        # vocals piano  bass   drums  other
        [True, False, False, False, False],  # melodiousness
        [True, False, False, False, False],  # articulation
        [False, False, False, True, False],  # rhythm_complexity
        [False, False, True, True, False],  # rhythm_stability
        [False, True, False, False, False],  # dissonance
        [False, True, False, False, True],  # tonal_stability
        [False, True, True, False, False],  # minorness
    ],
    index=pd.Index(MIDLEVEL, name="target"),
    columns=pd.Index(STEMS, name="stem"),
)

#: Which mid-level target each quality parameter controls.
PARAM_TARGET = {"stepwise": "melodiousness", "staccato": "articulation", "syncopation": "rhythm_complexity",
                "density": "rhythm_complexity", "regularity": "rhythm_stability", "clusters": "dissonance",
                "modulation": "tonal_stability", "minor": "minorness"}

#: Linear emotion map W (emotions x mid-level), bias-free: ``e = W @ m + noise``.
EMOTION_WEIGHTS = pd.DataFrame(
    [
        # mel   art   rcomp  rstab  diss   tonal  minor
        [0.00, 0.00, 0.15, 0.20, -0.35, 0.30, -0.50],  # valence
        [-0.15, 0.40, 0.50, -0.10, 0.25, 0.00, -0.10],  # arousal
    ],
    index=pd.Index(EMOTIONS, name="emotion"),
    columns=pd.Index(MIDLEVEL, name="target"),
)
#: Standard deviation of the per-clip Gaussian noise added to each emotion.
NOISE_SD = 0.03
#: Valence added to training and validation clips with vocals in the planted-bias variant.
SHORTCUT = 0.6

_GATE_RANGE = 0.9
_HITS_RANGE = (8.0, 26.0)
_SYNC_SCALE = 0.6


def _onsets(notes):
    return np.asarray(sorted(n.start for n in notes), dtype=float)


def _chords(notes, step):
    """Group notes by quantised onset: {grid index: sorted pitches}."""
    groups = {}
    for n in notes:
        groups.setdefault(int(round(n.start / step)), []).append(int(n.pitch))
    return {k: sorted(v) for k, v in sorted(groups.items())}


def _melodiousness(notes, ctx):
    seq = [n.pitch for n in sorted(notes, key=lambda n: n.start)]
    if len(seq) < 2:
        return 0.5
    ranks = {p: i for i, p in enumerate(LEAD_SET)}
    tonic_base = 60 + (ctx.tonic if ctx.tonic < 6 else ctx.tonic - 12)
    idx = [ranks.get(p - tonic_base) for p in seq]
    if any(i is None for i in idx):  # a pitch off the lead's scale: count semitone moves of 1-3 as steps
        moves = np.abs(np.diff(seq))
        return float(np.mean((moves >= 1) & (moves <= 3)))
    return float(np.mean(np.abs(np.diff(idx)) == 1))


def _articulation(notes, ctx):
    notes = sorted(notes, key=lambda n: n.start)
    if not notes:
        return 0.5
    gates = []
    for k, n in enumerate(notes):
        nxt = notes[k + 1].start if k + 1 < len(notes) else ctx.duration
        ioi = nxt - n.start
        if ioi > 0:
            gates.append(min((n.end - n.start) / ioi, 1.0))
    return float(np.clip((1.0 - np.mean(gates)) / _GATE_RANGE, 0.0, 1.0)) if gates else 0.5


def _grid_stats(times, step):
    grid = np.round(times / step)
    jitter = float(np.sqrt(np.mean((times - grid * step) ** 2))) if len(times) else 0.0
    return grid.astype(int), jitter


def _stability(notes, ctx, *, cell: int, with_keys: bool):
    notes = sorted(notes, key=lambda n: n.start)
    if not notes:
        return 0.5
    grid, jitter = _grid_stats(np.asarray([n.start for n in notes]), ctx.step)
    n_cells = int(np.floor(ctx.duration / (cell * ctx.step) + 1e-9))
    cells = {c: [] for c in range(n_cells)}
    for g, n in zip(grid, notes):
        if g // cell in cells:
            cells[g // cell].append((g % cell, n.pitch if with_keys else 0))
    patterns = [tuple(sorted(v)) for v in cells.values()]
    repetition = Counter(patterns).most_common(1)[0][1] / len(patterns) if patterns else 1.0
    return float(0.5 * repetition + 0.5 * (1.0 - min(1.0, jitter / MAX_JITTER)))


def _rhythm_complexity(notes, ctx):
    if not notes:
        return 0.5
    times = _onsets(notes)
    grid, _ = _grid_stats(times, ctx.step)
    hits_per_bar = len(times) / (ctx.duration / ctx.bar)
    density = np.clip((hits_per_bar - _HITS_RANGE[0]) / (_HITS_RANGE[1] - _HITS_RANGE[0]), 0.0, 1.0)
    ks = [g for g, n in zip(grid, sorted(notes, key=lambda n: n.start)) if n.pitch in (KICK, SNARE)]
    sync = np.mean([g % 4 != 0 for g in ks]) if ks else 0.0
    return float(0.5 * density + 0.5 * min(1.0, sync / _SYNC_SCALE))


def _dissonant_pairs(pitches):
    """Number of note pairs at interval class 1 (m2/M7) or 6 (tritone)."""
    ic = [min(abs(a - b) % 12, 12 - abs(a - b) % 12) for i, a in enumerate(pitches) for b in pitches[i + 1:]]
    return sum(c in (1, 6) for c in ic)


#: Dissonant pairs of the most dissonant chord the generator writes (triad + octave + m2, tritone, M7).
_DISS_MAX = max(_dissonant_pairs([0, third, 7, 12, 1, 6, 11]) for third in (3, 4))


def _dissonance(notes, ctx):
    chords = [c for c in _chords(notes, ctx.step).values() if len(c) >= 2]
    if not chords:
        return 0.5
    return float(min(1.0, np.mean([_dissonant_pairs(c) for c in chords]) / _DISS_MAX))


def _tonal_stability(notes, ctx):
    chords = _chords(notes, ctx.step)
    if not chords:
        return 0.5
    home = []
    for g, pitches in chords.items():  # the lowest note of a chord is its root
        slot = min(g // 8, ctx.n_slots - 1)
        home.append((pitches[0] - (ctx.tonic + ctx.roots[slot])) % 12 == 0)
    return float(np.mean(home))


def _minorness(notes, ctx):
    chords = _chords(notes, ctx.step)
    minor = major = 0
    if any(len(p) >= 2 for p in chords.values()):  # chords: the third above the lowest note (the root)
        for pitches in chords.values():
            rel = {(p - pitches[0]) % 12 for p in pitches}
            minor, major = minor + (3 in rel), major + (4 in rel and 3 not in rel)
    else:  # a monophonic line (bass): each note against the root of its slot
        for g, pitches in chords.items():
            slot = min(g // 8, ctx.n_slots - 1)
            rel = (pitches[0] - (ctx.tonic + ctx.roots[slot])) % 12
            minor, major = minor + (rel == 3), major + (rel == 4)
    return float(minor / (minor + major)) if minor + major else 0.5


#: Descriptor functions ``f(notes, context) -> x in [0, 1]`` per (target, stem).
DESCRIPTORS = {
    ("melodiousness", "vocals"): _melodiousness,
    ("articulation", "vocals"): _articulation,
    ("rhythm_complexity", "drums"): _rhythm_complexity,
    ("rhythm_stability", "drums"): lambda notes, ctx: _stability(notes, ctx, cell=16, with_keys=True),
    ("rhythm_stability", "bass"): lambda notes, ctx: _stability(notes, ctx, cell=8, with_keys=False),
    ("dissonance", "piano"): _dissonance,
    ("tonal_stability", "piano"): _tonal_stability,
    ("tonal_stability", "other"): _tonal_stability,
    ("minorness", "piano"): _minorness,
    ("minorness", "bass"): _minorness,
}


def descriptors(score: Score, *, stems=None) -> pd.DataFrame:
    """Per-stem descriptors ``x_{j,s}`` of a score (targets x stems; NaN where a stem does not drive j).

    Parameters
    ----------
    score : Score
    stems : iterable of str, optional
        Stems considered sounding; others (and stems without notes) count as switched off (neutral 0.5).
    """
    on = set(STEMS if stems is None else stems)
    unknown = sorted(on - set(STEMS))
    if unknown:
        raise ParameterError(f"unknown stem(s) {unknown}; choose from {list(STEMS)}.")
    out = pd.DataFrame(np.nan, index=pd.Index(MIDLEVEL, name="target"), columns=pd.Index(STEMS, name="stem"))
    for (target, stem), fn in DESCRIPTORS.items():
        notes = [n for n in score.parts[stem].notes if n.start < score.context.duration]
        out.loc[target, stem] = fn(notes, score.context) if (stem in on and notes) else 0.5
    return out


def midlevel_targets(score: Score, *, stems=None) -> dict:
    """The seven mid-level targets of a score, in [0, 1] (see the module docstring for the formula).

    Parameters
    ----------
    score : Score
    stems : iterable of str, optional
        Stems considered sounding (default all); a switched-off stem contributes the neutral 0.5.

    Returns
    -------
    dict
        ``{target: float}`` in :data:`MIDLEVEL` order.
    """
    x = descriptors(score, stems=stems)
    out = {}
    for target in MIDLEVEL:
        row = x.loc[target].dropna()
        out[target] = float(0.5 + np.sum(row.to_numpy() - 0.5) / len(row))
    return out


def emotion_targets(midlevel: dict, *, seed: int, clip: int, shortcut: float = 0.0) -> dict:
    """Emotion targets from mid-level values: ``W @ m + noise`` plus ``shortcut`` on valence.

    Parameters
    ----------
    midlevel : dict
        ``{target: value}`` with all names of :data:`MIDLEVEL`.
    seed, clip : int
        Select the clip's ``noise`` stream (the same noise in the clean and biased variants).
    shortcut : float
        Added to valence (``SHORTCUT`` for biased training/validation clips with vocals, else 0).
    """
    missing = [t for t in MIDLEVEL if t not in midlevel]
    if missing:
        raise ParameterError(f"midlevel lacks {missing}; pass all of {list(MIDLEVEL)}.")
    m = np.array([midlevel[t] for t in MIDLEVEL], dtype=float)
    noise = stream(seed, clip, "noise").normal(0.0, NOISE_SD, size=len(EMOTIONS))
    e = EMOTION_WEIGHTS.to_numpy() @ m + noise
    e[EMOTIONS.index("valence")] += shortcut
    return {name: float(v) for name, v in zip(EMOTIONS, e)}


def relevance_table(*, vocals: bool = True, shortcut: bool = False, shortcut_stems=None) -> pd.DataFrame:
    """Relevance of each stem for every target of one clip (mid-level and emotion rows x stems, bool).

    Emotion rows follow from :data:`EMOTION_WEIGHTS`: an emotion is driven by every stem that drives a
    mid-level target with non-zero weight; ``shortcut=True`` adds vocals -> valence (biased
    training/validation clips), ``shortcut_stems`` adds those stems -> valence instead (the cue stems of a
    task variant whose rule fired in the clip's label). An absent vocal stem drives nothing.

    Examples
    --------
    >>> bool(relevance_table(shortcut_stems=["piano"]).loc["valence", "vocals"])
    False
    """
    table = RELEVANCE.copy()
    used = EMOTION_WEIGHTS.to_numpy() != 0
    emo = pd.DataFrame((used.astype(int) @ table.to_numpy().astype(int)) > 0, index=pd.Index(EMOTIONS),
                       columns=table.columns)
    stems = list(shortcut_stems) if shortcut_stems is not None else (["vocals"] if shortcut else [])
    unknown = sorted(set(stems) - set(STEMS))
    if unknown:
        raise ParameterError(f"unknown shortcut stem(s) {unknown}; choose from {list(STEMS)}.")
    for stem in stems:
        emo.loc["valence", stem] = True
    out = pd.concat([table, emo])
    out.index.name = "target"
    if not vocals:
        out["vocals"] = False
    return out.astype(bool)


def relevance_frame(*, vocals: bool = True, shortcut: bool = False, shortcut_stems=None) -> pd.DataFrame:
    """:func:`relevance_table` as a tidy frame with columns ``target, stem, relevant``."""
    wide = relevance_table(vocals=vocals, shortcut=shortcut, shortcut_stems=shortcut_stems)
    return wide.stack().rename("relevant").reset_index()
