"""Generative MIDI for the synthetic benchmark: one clip's score from its parameters.

Every clip is a short 4/4 groove in a home key with five parts, one per stem. Each *quality* parameter is
realised by named stems only, so the stems that carry a perceptual quality are known by construction:

=================  ===========================================  ============================
parameter          what it changes                              realised by (stems)
=================  ===========================================  ============================
``minor``          share of minor chords (chord third 3 vs 4)   piano (triads), bass (thirds)
``clusters``       added m2 / tritone / M7 tones per chord      piano
``modulation``     chance of a key change at each chord slot    piano, other (pad)
``syncopation``    off-beat kicks and displaced snares          drums
``density``        hi-hat subdivision (4ths, 8ths, 16ths)       drums
``regularity``     bar-to-bar repetition and timing precision   drums, bass
``staccato``       gate (sounding length / inter-onset) of lead vocals
``stepwise``       share of steps vs leaps in the lead melody   vocals
=================  ===========================================  ============================

Shared *nuisance* structure (tempo, tonic, the chord-root progression) is drawn independently of every
quality parameter. The vocal lead uses only the mode-neutral degrees {1, 2, 4, 5} of the home key and does
not follow modulations; the bass stays in the home key too; the pad plays open fifths (no third). Each part
draws from its own random stream (``SeedSequence(seed, spawn_key=(clip, stream))``), so changing one
parameter re-renders only the stems that realise it — the property the relevance tests check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pretty_midi

from ...exceptions import ParameterError

__all__ = [
    "STEMS",
    "QUALITY_PARAMS",
    "PROGRAMS",
    "ClipParams",
    "Context",
    "Score",
    "stream",
    "draw_params",
    "make_context",
    "compose",
]

#: Stem names, in the order files and columns are written.
STEMS = ("vocals", "piano", "bass", "drums", "other")
#: The eight quality parameters, each drawn uniformly from [0, 1] per clip.
QUALITY_PARAMS = (
    "minor", "clusters", "modulation", "syncopation", "density", "regularity", "staccato", "stepwise",
)
#: General-MIDI programs (0-based) of the pitched stems in pretty_midi's TimGM6mb.sf2; drums use the GM kit.
PROGRAMS = {"vocals": 53, "piano": 0, "bass": 33, "other": 48, "drums": 0}
KICK, SNARE, HAT = 36, 38, 42
#: Degrees of the lead (semitones above the tonic over two octaves): mode-neutral (no third, no sixth).
LEAD_SET = (0, 2, 5, 7, 12, 14, 17, 19, 24)
#: Chord roots of the progression (semitones above the tonic: I, ii, IV, V, vi).
ROOTS = (0, 2, 5, 7, 9)
#: Standard deviation (s) of onset jitter at regularity 0 (scaled by 1 - regularity; capped at 0.45 step).
MAX_JITTER = 0.03

_STREAMS = {"params": 0, "form": 1, "mode": 2, "keys": 3, "vocals": 4, "piano": 5, "bass": 6, "drums": 7,
            "other": 8, "noise": 9}


def stream(seed: int, clip: int, name: str) -> np.random.Generator:
    """The random generator of one named stream of one clip (independent of every other stream)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(clip), _STREAMS[name])))


@dataclass(frozen=True)
class ClipParams:
    """Generation parameters of one clip.

    Attributes
    ----------
    minor, clusters, modulation, syncopation, density, regularity, staccato, stepwise : float
        Quality parameters in [0, 1] (see the module docstring for what each changes and where).
    tempo : float
        Beats per minute (nuisance, 90-130).
    tonic : int
        Pitch class of the home key, 0 = C (nuisance).
    vocals : bool
        Whether the vocal lead is present (the planted-bias variant keys on it).
    """

    minor: float
    clusters: float
    modulation: float
    syncopation: float
    density: float
    regularity: float
    staccato: float
    stepwise: float
    tempo: float
    tonic: int
    vocals: bool

    def __post_init__(self):
        for name in QUALITY_PARAMS:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ParameterError(f"ClipParams.{name} must lie in [0, 1], got {value!r}.")
        if not 40.0 <= float(self.tempo) <= 240.0:
            raise ParameterError(f"ClipParams.tempo must lie in [40, 240] bpm, got {self.tempo!r}.")

    def as_dict(self) -> dict:
        """Plain dict (JSON-serialisable)."""
        out = asdict(self)
        out["tonic"], out["vocals"] = int(self.tonic), bool(self.vocals)
        return out

    def replace(self, **changes) -> "ClipParams":
        """A copy with some fields changed (validated again)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ParameterError(f"unknown ClipParams field(s) {unknown}; known: {sorted(known)}.")
        return ClipParams(**{**asdict(self), **changes})


def draw_params(seed: int, clip: int, *, vocals: bool) -> ClipParams:
    """Draw one clip's parameters: qualities ~ U[0, 1], tempo ~ U[90, 130], tonic ~ U{0..11}."""
    rng = stream(seed, clip, "params")
    q = rng.uniform(0.0, 1.0, size=len(QUALITY_PARAMS))
    tempo = float(np.round(rng.uniform(90.0, 130.0), 2))
    tonic = int(rng.integers(0, 12))
    return ClipParams(**{k: float(np.round(v, 4)) for k, v in zip(QUALITY_PARAMS, q)}, tempo=tempo,
                      tonic=tonic, vocals=bool(vocals))


@dataclass(frozen=True)
class Context:
    """Shared structure of a clip: time grid, chord roots, chord qualities and the key plan.

    A *slot* is two beats (one chord). ``roots`` are semitones above the tonic in the home key; ``minor``
    marks minor chords; ``offsets`` is the key transposition (semitones) of the harmony in each slot.
    """

    duration: float
    tempo: float
    tonic: int
    step: float
    n_slots: int
    roots: np.ndarray
    minor: np.ndarray
    offsets: np.ndarray

    @property
    def slot(self) -> float:
        return 8 * self.step

    @property
    def bar(self) -> float:
        return 16 * self.step


def make_context(params: ClipParams, *, seed: int, clip: int, duration: float) -> Context:
    """Shared structure from the ``form`` (roots), ``mode`` (qualities) and ``keys`` (modulation) streams."""
    step = 60.0 / params.tempo / 4.0
    n_slots = int(np.ceil(duration / (8 * step)))
    form = stream(seed, clip, "form")
    roots = [0]
    for _ in range(n_slots - 1):
        roots.append(int(form.choice([r for r in ROOTS if r != roots[-1]])))
    u_mode = stream(seed, clip, "mode").uniform(size=n_slots)
    keys = stream(seed, clip, "keys")
    u_change, u_target = keys.uniform(size=n_slots), keys.uniform(size=n_slots)
    offsets = [0]
    for i in range(1, n_slots):
        cur = offsets[-1]
        if u_change[i] < 0.5 * params.modulation:
            choices = [k for k in range(12) if k != cur]
            cur = choices[int(u_target[i] * len(choices))]
        offsets.append(cur)
    return Context(duration=float(duration), tempo=params.tempo, tonic=params.tonic, step=step,
                   n_slots=n_slots, roots=np.asarray(roots), minor=u_mode < params.minor,
                   offsets=np.asarray(offsets))


@dataclass
class Score:
    """One clip's parts: ``parts[stem]`` is a ``pretty_midi.Instrument`` (no notes for an absent stem)."""

    params: ClipParams
    context: Context
    parts: dict

    def to_midi(self) -> pretty_midi.PrettyMIDI:
        """All present parts in one ``PrettyMIDI`` (instrument names are the stem names)."""
        pm = pretty_midi.PrettyMIDI(initial_tempo=float(self.params.tempo))
        for name in STEMS:
            if self.parts[name].notes:
                pm.instruments.append(self.parts[name])
        return pm


def _note(inst, pitch, start, end, velocity):
    inst.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch), start=float(start),
                                       end=float(end)))


def _jitter(rng, n, params, ctx):
    sd = MAX_JITTER * (1.0 - params.regularity)
    cap = 0.45 * ctx.step
    return np.clip(rng.normal(0.0, 1.0, size=n) * sd, -cap, cap)


def _vocals(params, ctx, rng):
    inst = pretty_midi.Instrument(program=PROGRAMS["vocals"], name="vocals")
    eighth = 2 * ctx.step
    n = int(np.ceil(ctx.duration / eighth))
    # fixed number of draws per stream, so parameters never shift the random sequence
    u_on, u_step, u_sign, u_leap, u_gate, u_vel = (rng.uniform(size=n) for _ in range(6))
    onsets = [k for k in range(n) if k % 8 == 0 or u_on[k] < 0.5]
    base = 60 + (params.tonic if params.tonic < 6 else params.tonic - 12)
    idx = 4
    for j, k in enumerate(onsets):
        if j > 0:
            if u_step[k] < params.stepwise:
                delta = 1 if u_sign[k] < 0.5 else -1
            else:
                delta = (2 + int(u_leap[k] * 3)) * (1 if u_sign[k] < 0.5 else -1)
            if not 0 <= idx + delta < len(LEAD_SET):
                delta = -delta
            idx += delta
        start = k * eighth
        nxt = onsets[j + 1] * eighth if j + 1 < len(onsets) else ctx.duration
        gate = float(np.clip(1.0 - 0.85 * params.staccato + 0.04 * (2 * u_gate[k] - 1), 0.08, 1.0))
        _note(inst, base + LEAD_SET[idx], start, start + gate * (nxt - start), 84 + 16 * u_vel[k])
    return inst


def _chord_root(ctx, i, *, follow_key: bool):
    pc = (ctx.tonic + ctx.roots[i] + (ctx.offsets[i] if follow_key else 0)) % 12
    return int(pc)


def _piano(params, ctx, rng):
    inst = pretty_midi.Instrument(program=PROGRAMS["piano"], name="piano")
    u = rng.uniform(size=(ctx.n_slots, 3))
    for i in range(ctx.n_slots):
        root = 48 + _chord_root(ctx, i, follow_key=True)
        tones = [0, 3 if ctx.minor[i] else 4, 7, 12]
        for k, (add, scale) in enumerate(((1, 1.0), (6, 1.0), (11, 0.5))):  # m2 cluster, tritone, M7
            if u[i, k] < scale * params.clusters:
                tones.append(add)
        for beat in (0, 1):  # two legato quarter-chord strokes per slot
            start = i * ctx.slot + beat * 4 * ctx.step
            for t in sorted(tones):
                _note(inst, root + t, start, start + 3.8 * ctx.step, 64 if beat else 72)
    return inst


def _other(params, ctx, rng):
    inst = pretty_midi.Instrument(program=PROGRAMS["other"], name="other")
    for i in range(ctx.n_slots):
        root = 48 + _chord_root(ctx, i, follow_key=True)
        start = i * ctx.slot
        for t in (0, 7, 12):  # open fifth: neither major nor minor
            _note(inst, root + t, start, start + ctx.slot, 60)
    return inst


def _bass(params, ctx, rng):
    inst = pretty_midi.Instrument(program=PROGRAMS["bass"], name="bass")
    extra = rng.uniform(size=2) < 0.5  # nuisance: the clip's groove
    base_steps = sorted([0, 4] + [s for s, on in zip((2, 6), extra) if on])
    u_irr = rng.uniform(size=ctx.n_slots)
    perms = [rng.permutation(8) for _ in range(ctx.n_slots)]
    counts = rng.integers(2, 5, size=ctx.n_slots)
    events = []
    for i in range(ctx.n_slots):
        steps = base_steps
        if u_irr[i] < 1.0 - params.regularity:
            steps = sorted(int(s) for s in perms[i][: counts[i]])
        root = 36 + _chord_root(ctx, i, follow_key=False)
        third = 3 if ctx.minor[i] else 4
        for k, s in enumerate(steps):
            events.append((i * 8 + s, root + (0, third, 7, third)[k % 4]))
    jit = _jitter(rng, len(events), params, ctx)
    times = [g * ctx.step + j for (g, _), j in zip(events, jit)]
    times[0] = max(times[0], 0.0)
    for k, ((_, pitch), start) in enumerate(zip(events, times)):
        end = times[k + 1] if k + 1 < len(times) else ctx.n_slots * ctx.slot
        _note(inst, pitch, max(start, 0.0), max(start, 0.0) + 0.9 * (end - max(start, 0.0)), 96)
    return inst


def drum_bar(syncopation: float, density: float, u: np.ndarray) -> list:
    """One bar of drums as ``(step, key)`` pairs from 24 uniforms ``u`` (steps are sixteenths 0-15)."""
    hits = [(s, HAT) for s in (0, 4, 8, 12)]
    hits += [(s, HAT) for k, s in enumerate((2, 6, 10, 14)) if u[k] < 2 * density]
    hits += [(s, HAT) for k, s in enumerate((1, 3, 5, 7, 9, 11, 13, 15)) if u[4 + k] < 2 * density - 1]
    kick3 = 8 if u[12] >= syncopation else (7 if u[13] < 0.5 else 10)
    hits += [(0, KICK), (kick3, KICK)]
    hits += [(s, KICK) for k, s in enumerate((3, 6, 11, 14)) if u[14 + k] < 0.5 * syncopation]
    for k, (s, alt) in enumerate(((4, (3, 5)), (12, (11, 13)))):
        hits.append(((alt[0] if u[18 + k] < 0.5 else alt[1]) if u[20 + k] < 0.5 * syncopation else s, SNARE))
    hits += [(s, SNARE) for k, s in enumerate((7, 15)) if u[22 + k] < 0.3 * syncopation]
    return sorted(set(hits))


def _drums(params, ctx, rng):
    inst = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    n_bars = int(np.ceil(ctx.duration / ctx.bar))
    base = drum_bar(params.syncopation, params.density, rng.uniform(size=24))
    fresh = [drum_bar(params.syncopation, params.density, rng.uniform(size=24)) for _ in range(n_bars)]
    u_irr, u_vel = rng.uniform(size=n_bars), rng.uniform(size=(n_bars, 32))
    events = []
    for b in range(n_bars):
        pattern = fresh[b] if u_irr[b] < 1.0 - params.regularity else base
        events += [(b * 16 + s, key, u_vel[b, k]) for k, (s, key) in enumerate(pattern)]
    jit = _jitter(rng, len(events), params, ctx)
    for (g, key, uv), j in zip(events, jit):
        start = max(g * ctx.step + j, 0.0)
        vel = (70 + 30 * uv) if key == HAT else (100 + 20 * uv)
        _note(inst, key, start, start + 0.08, vel)
    return inst


_PARTS = {"vocals": _vocals, "piano": _piano, "bass": _bass, "drums": _drums, "other": _other}


def compose(params: ClipParams, *, seed: int, clip: int, duration: float) -> Score:
    """Generate one clip's score.

    Parameters
    ----------
    params : ClipParams
    seed : int
        Dataset seed.
    clip : int
        Clip number (selects the random streams).
    duration : float
        Clip length in seconds; notes may ring past it, the renderer cuts at ``duration``.

    Returns
    -------
    Score

    Examples
    --------
    >>> p = draw_params(0, 0, vocals=True)
    >>> score = compose(p, seed=0, clip=0, duration=4.0)
    >>> sorted(score.parts) == sorted(STEMS)
    True
    """
    if not duration > 0:
        raise ParameterError(f"duration must be > 0 seconds, got {duration!r}.")
    ctx = make_context(params, seed=seed, clip=clip, duration=duration)
    parts = {}
    for name in STEMS:
        inst = _PARTS[name](params, ctx, stream(seed, clip, name))
        inst.notes = [n for n in inst.notes if n.start < duration]
        if name == "vocals" and not params.vocals:
            inst.notes = []
        parts[name] = inst
    return Score(params=params, context=ctx, parts=parts)
