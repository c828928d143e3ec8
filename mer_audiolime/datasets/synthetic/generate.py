"""Generate the whole synthetic benchmark: audio, stems, scores, annotations and mirdata indexes.

Output layout (all paths relative to ``out_dir``)::

    tracks/<track_id>/mix.wav            16-bit PCM mono: the exact integer sum of the stems
    tracks/<track_id>/<stem>.wav         vocals (absent clips have no file), piano, bass, drums, other
    tracks/<track_id>/score.mid          the generated MIDI (one instrument per stem)
    metadata_<variant>.csv               one row per clip: split, parameters, gain, mid-level, emotions
    relevance.csv                        the design relevance table (tidy: target, stem, relevant)
    settings.json                        generation settings, emotion map, shortcut, software versions
    synthetic_index_<variant>.json       mirdata index (md5 of every file) for variant clean / biased

The clean and biased variants share every audio file; they differ only in ``metadata_<variant>.csv``:
biased training and validation clips with vocals have ``valence + SHORTCUT`` (the test split has no shortcut).

With ``cues=True`` (synthetic-v2) every file above is written exactly as without it, and the cue audio and
the task variants of :mod:`.tasks` are added::

    tracks/<track_id>/cues/mix.wav       the clip with its ornaments (see :mod:`.cues`), when it has any
    tracks/<track_id>/cues/<stem>.wav    stems that carry an ornament (others: the v1 files, when the
                                         clip's gain is unchanged; otherwise every stem is written here)
    tracks/<track_id>/cues/<stem>_nocue.wav   that stem without its ornament at the cue mix's gain, when
                                         it differs from the v1 file (the counterfactual for interventions)
    tracks/<track_id>/cues/score.mid     the MIDI with the ornaments as extra instruments ("<stem>:<cue>")
    cues.json                            cue design and per-clip flags
    metadata_<variant>.csv, truth_<variant>.csv, synthetic_index_<variant>.json   for every cue variant
    truth_clean.csv, truth_biased.csv    the planted credit of the v1 variants (their indexes are unchanged)
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..._version import __version__
from ...exceptions import DatasetError, ParameterError
from ...validation import check_int, check_seed
from .._index import md5
from .annotation_files import (CUES_FILE, SETTINGS_FILE, emotion_columns, write_cue_variants, write_text,
                               write_variant)
from .cues import CUE_STEMS, ORNAMENT_CUES, assign_cues, ornaments
from .render import GAINS, quantise, render_part, render_score, soundfont_path, to_pcm16
from .score import PROGRAMS, QUALITY_PARAMS, STEMS, compose, draw_params
from .settings import V1_GENERATE
from .tasks import fires
from .truth import EMOTION_WEIGHTS, EMOTIONS, MIDLEVEL, NOISE_SD, SHORTCUT, midlevel_targets, relevance_frame

__all__ = ["generate", "render_clip", "assign_splits", "track_id", "VARIANTS", "SPLITS", "DEV_SPLITS", "NAME",
           "NOCUE_SUFFIX"]

NAME = "synthetic"
VARIANTS = ("clean", "biased")
SPLITS = ("train", "validation", "test")
#: Splits that carry the planted shortcut in the biased variant (the training distribution).
DEV_SPLITS = ("train", "validation")
#: Index key suffix of a stem without its ornament (``piano_nocue``).
NOCUE_SUFFIX = "_nocue"
_SETTINGS = SETTINGS_FILE
_CUES = CUES_FILE


def track_id(i: int) -> str:
    """Track id of clip ``i``: ``synth0000``, ``synth0001``, ..."""
    return f"synth{i:04d}"


def assign_splits(n: int, *, seed: int, vocals_prob: float = 0.5, fractions=(0.7, 0.15, 0.15)):
    """Deterministic vocal presence and train/validation/test split of ``n`` clips.

    Exactly ``round(n * vocals_prob)`` clips get vocals (a seeded permutation), and the split is stratified
    by vocal presence, so every split has clips with and without vocals whenever the group sizes allow.

    Returns
    -------
    vocals : np.ndarray of bool, shape (n,)
    split : list of str, length n
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ParameterError(
            f"split fractions must be 3 non-negative shares summing to 1, got {fractions!r}.")
    if not 0.0 <= vocals_prob <= 1.0:
        raise ParameterError(f"vocals_prob must lie in [0, 1], got {vocals_prob!r}.")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(2**31 - 1,)))
    n_voc = int(round(n * vocals_prob))
    vocals = rng.permutation(np.arange(n) < n_voc)
    split = [""] * n
    for flag in (True, False):
        members = rng.permutation(np.flatnonzero(vocals == flag))
        n_val = int(round(len(members) * fractions[1]))
        n_test = int(round(len(members) * fractions[2]))
        n_train = len(members) - n_val - n_test
        for k, i in enumerate(members):
            split[int(i)] = SPLITS[0] if k < n_train else (SPLITS[1] if k < n_train + n_val else SPLITS[2])
    return vocals, split


def _write_wav(path: Path, pcm: np.ndarray, sr: int):
    import soundfile as sf

    sf.write(str(path), pcm, int(sr), subtype="PCM_16", format="WAV")


def render_clip(i: int, *, vocals: bool, seed: int, duration: float, sr: int, cue_flags=None) -> dict:
    """Compose and render one clip exactly as the generator writes it (16-bit integers, no files).

    Parameters
    ----------
    i : int
        Clip number.
    vocals : bool
        Vocal presence (from :func:`assign_splits`).
    seed, duration, sr
        As in :func:`generate`.
    cue_flags : mapping, optional
        The clip's cue flags (a row of :func:`~.cues.assign_cues`): also render its cue version.

    Returns
    -------
    dict
        ``score``, ``params``, ``pcm`` (``{stem: int16 (samples,)}``), ``mix`` (int16), ``gain``, ``floats``
        (the float stems before quantisation) and, with ``cue_flags``: ``ornaments`` (``{cue: Instrument}``),
        ``cue_pcm``, ``cue_mix``, ``cue_gain`` and ``nocue_pcm`` (``{stem: int16}``: each ornamented stem
        without its ornament, at the cue version's gain). A clip without ornaments has no cue entries.

    Examples
    --------
    >>> clip = render_clip(0, vocals=True, seed=0, duration=2.0, sr=22050)    # doctest: +SKIP
    >>> int(sum(clip["pcm"][s].astype(int) for s in STEMS)[100]) == int(clip["mix"][100])  # doctest: +SKIP
    True
    """
    params = draw_params(seed, i, vocals=bool(vocals))
    score = compose(params, seed=seed, clip=i, duration=duration)
    floats = render_score(score, sr=sr)
    pcm, mix, gain = to_pcm16(floats)
    out = {"score": score, "params": params, "pcm": pcm, "mix": mix, "gain": gain, "floats": floats}
    if cue_flags is None:
        return out
    orn = ornaments(score, cue_flags)
    out["ornaments"] = orn
    if not orn:
        return out
    n = int(round(score.context.duration * sr))
    cue_floats = dict(floats)
    by_stem = {}
    for cue, inst in orn.items():
        by_stem.setdefault(CUE_STEMS[cue], []).append(inst)
    for stem, extra in by_stem.items():
        part = copy.deepcopy(score.parts[stem])
        for inst in extra:
            part.notes = part.notes + list(inst.notes)
        cue_floats[stem] = render_part(part, sr=sr, n_samples=n, program=PROGRAMS[stem]) * np.float32(
            GAINS[stem])
    out["cue_pcm"], out["cue_mix"], out["cue_gain"] = to_pcm16(cue_floats)
    out["nocue_pcm"] = {stem: quantise(floats[stem], out["cue_gain"]) for stem in by_stem}
    return out


def _make_clip(i: int, vocals: bool, *, seed: int, duration: float, sr: int, out_dir: str,
               cue_flags: dict | None = None) -> dict:
    """Compose, render and write one clip; return its metadata row and file entries (runs in a worker)."""
    tid = track_id(i)
    clip = render_clip(i, vocals=vocals, seed=seed, duration=duration, sr=sr, cue_flags=cue_flags)
    params, score, pcm, mix, gain = clip["params"], clip["score"], clip["pcm"], clip["mix"], clip["gain"]
    folder = Path(out_dir) / "tracks" / tid
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    rel = f"tracks/{tid}"
    _write_wav(folder / "mix.wav", mix, sr)
    files["audio"] = f"{rel}/mix.wav"
    for stem in STEMS:
        if stem == "vocals" and not params.vocals:
            files[stem] = None
            continue
        _write_wav(folder / f"{stem}.wav", pcm[stem], sr)
        files[stem] = f"{rel}/{stem}.wav"
    score.to_midi().write(str(folder / "score.mid"))
    files["midi"] = f"{rel}/score.mid"
    entries = {k: ([v, md5(Path(out_dir) / v)] if v is not None else [None, None]) for k, v in files.items()}
    row = {"track_id": tid, "clip": i, **params.as_dict(), "gain": gain, **midlevel_targets(score)}
    out = {"row": row, "entries": entries}
    if cue_flags is not None:
        out["cue_entries"], out["cue_gain"] = _write_cue_clip(clip, files, sr=sr, folder=folder,
                                                              out_dir=out_dir)
    return out


def _write_cue_clip(clip: dict, files: dict, *, sr: int, folder: Path, out_dir: str):
    """Write the cue version of a rendered clip; return its index entries and gain.

    A clip without ornaments is its v1 version. Otherwise the ornamented stems carry their ornament notes
    (rendered in the same synthesizer as the part), the clip is re-quantised as a whole, and a stem file is
    shared with the v1 version only when it is bit-identical (no ornament, same gain).
    """
    orn = clip["ornaments"]
    if not orn:
        entries = dict(files)
        entries.update({f"{s}{NOCUE_SUFFIX}": None for s in _ornament_stems()})
        return _entries(entries, out_dir), clip["gain"]
    gain, cue_gain, pcm = clip["gain"], clip["cue_gain"], clip["cue_pcm"]
    ornamented = set(clip["nocue_pcm"])
    sub = folder / "cues"
    sub.mkdir(parents=True, exist_ok=True)
    rel = f"tracks/{folder.name}/cues"
    entries = {"audio": f"{rel}/mix.wav"}
    _write_wav(sub / "mix.wav", clip["cue_mix"], sr)
    for stem in STEMS:
        if stem == "vocals" and files["vocals"] is None:
            entries[stem] = None
        elif stem in ornamented or cue_gain != gain:
            _write_wav(sub / f"{stem}.wav", pcm[stem], sr)
            entries[stem] = f"{rel}/{stem}.wav"
        else:
            entries[stem] = files[stem]
    for stem in _ornament_stems():
        key = f"{stem}{NOCUE_SUFFIX}"
        if stem not in ornamented:
            entries[key] = None
        elif cue_gain == gain:
            entries[key] = files[stem]
        else:
            _write_wav(sub / f"{key}.wav", clip["nocue_pcm"][stem], sr)
            entries[key] = f"{rel}/{key}.wav"
    midi = clip["score"].to_midi()
    for cue in ORNAMENT_CUES:
        if cue in orn:
            midi.instruments.append(orn[cue])
    midi.write(str(sub / "score.mid"))
    entries["midi"] = f"{rel}/score.mid"
    return _entries(entries, out_dir), cue_gain


def _ornament_stems() -> tuple:
    return tuple(dict.fromkeys(CUE_STEMS[c] for c in ORNAMENT_CUES))


def _entries(files: dict, out_dir) -> dict:
    return {k: ([v, md5(Path(out_dir) / v)] if v is not None else [None, None]) for k, v in files.items()}


def _prepare(out_dir: Path, overwrite: bool):
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"out_dir {str(out_dir)!r} is a file; pass a folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / _SETTINGS).is_file():
            raise DatasetError(
                f"{str(out_dir)!r} is not empty and holds no synthetic benchmark; choose an empty or new "
                "folder so nothing else is overwritten."
            )
        if not overwrite:
            raise DatasetError(
                f"{str(out_dir)!r} already holds a synthetic benchmark; pass overwrite=True (CLI: "
                "--overwrite) to regenerate it, or choose another folder."
            )
        shutil.rmtree(out_dir / "tracks", ignore_errors=True)
        for p in out_dir.glob(f"{NAME}_index_*.json"):
            p.unlink()
        for pattern in ("metadata_*.csv", "truth_*.csv", _CUES):
            for p in out_dir.glob(pattern):
                p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def generate(out_dir, *, n: int = V1_GENERATE["n"], seed: int = V1_GENERATE["seed"],
             duration: float = V1_GENERATE["duration"], sr: int = V1_GENERATE["sr"], variant: str = "both",
             n_jobs: int = 2, vocals_prob: float = 0.5, split_fractions=(0.7, 0.15, 0.15),
             shortcut: float = SHORTCUT, cues: bool = False, overwrite: bool = False,
             progress: bool = True) -> Path:
    """Generate the synthetic multitrack benchmark with known truth into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Empty (or new) folder; it becomes the ``data_home`` of :class:`~.loader.Dataset`.
    n : int
        Number of clips.
    seed : int
        Seed of everything random; the same arguments give byte-identical files.
    duration : float
        Clip length in seconds.
    sr : int
        Sample rate in Hz (audio is mono 16-bit PCM WAV).
    variant : {"clean", "biased", "both"}
        Which annotation variants (and indexes) to write; the audio is the same for both.
    n_jobs : int
        Worker processes (joblib); 1 runs in this process.
    vocals_prob : float
        Share of clips with a vocal lead (exactly ``round(n * vocals_prob)``, split-stratified).
    split_fractions : tuple of 3 floats
        Train / validation / test shares.
    shortcut : float
        Valence added to training and validation clips where a variant's rule fires.
    cues : bool
        Also write the cue audio and the task variants of synthetic-v2 (:mod:`.tasks`); the files written
        without it stay byte-identical. Needs ``variant="both"``.
    overwrite : bool
        Regenerate into a folder that already holds a synthetic benchmark.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Examples
    --------
    >>> from mer_audiolime.datasets.synthetic import Dataset, generate       # doctest: +SKIP
    >>> home = generate("synth", n=200, seed=0)                               # doctest: +SKIP
    >>> ds = Dataset(data_home=home, version="biased")                        # doctest: +SKIP
    >>> ds.validate()                                                         # doctest: +SKIP
    >>> generate("synth2", cues=True)                                         # doctest: +SKIP
    >>> Dataset(data_home="synth2", version="redundant").track("synth0003").truth  # doctest: +SKIP
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    check_int(n, "n", minimum=1)
    check_seed(seed)
    check_int(sr, "sr", minimum=8000, maximum=96000)
    if not isinstance(duration, (int, float)) or not 1.0 <= duration <= 600.0:
        raise ParameterError(f"duration must be between 1 and 600 seconds, got {duration!r}.")
    if variant not in VARIANTS + ("both",):
        raise ParameterError(f"variant must be 'clean', 'biased' or 'both', got {variant!r}.")
    if check_int(n_jobs, "n_jobs") == 0:
        raise ParameterError(f"n_jobs must be a non-zero integer (-1 = all cores), got {n_jobs!r}.")
    if not isinstance(cues, (bool, np.bool_)):
        raise ParameterError(f"cues must be True or False, got {cues!r}.")
    if cues and variant != "both":
        raise ParameterError(f"cues=True writes every variant; pass variant='both' (got {variant!r}).")
    variants = VARIANTS if variant == "both" else (variant,)
    out_dir = Path(out_dir).expanduser()
    vocals, split = assign_splits(int(n), seed=int(seed), vocals_prob=vocals_prob, fractions=split_fractions)
    flags = assign_cues(vocals, split, seed=int(seed)) if cues else None
    _prepare(out_dir, overwrite)
    soundfont_path()  # fail early with a clear message

    jobs = (delayed(_make_clip)(i, bool(vocals[i]), seed=int(seed), duration=float(duration), sr=int(sr),
                                out_dir=str(out_dir),
                                cue_flags=None if flags is None else flags.iloc[i].to_dict())
            for i in range(int(n)))
    runner = Parallel(n_jobs=int(n_jobs), return_as="generator")
    results = list(tqdm(runner(jobs), total=int(n), desc="synthesising clips", unit="clip",
                        disable=not progress))

    base = pd.DataFrame([r["row"] for r in results])
    base.insert(1, "split", split)
    rel = relevance_frame()
    write_text(out_dir / "relevance.csv", rel.to_csv(index=False, lineterminator="\n"))
    settings = {
        "name": NAME, "n": int(n), "seed": int(seed), "duration": float(duration), "sr": int(sr),
        "variants": list(variants), "vocals_prob": float(vocals_prob),
        "split_fractions": [float(f) for f in split_fractions], "shortcut": float(shortcut),
        "noise_sd": NOISE_SD, "stems": list(STEMS), "midlevel": list(MIDLEVEL), "emotions": list(EMOTIONS),
        "quality_params": list(QUALITY_PARAMS), "stem_gains": GAINS,
        "emotion_weights": {e: [float(w) for w in EMOTION_WEIGHTS.loc[e]] for e in EMOTIONS},
        "soundfont": os.path.basename(soundfont_path()), "soundfont_md5": md5(soundfont_path()),
        "generator": f"mer_audiolime {__version__}",
    }
    write_text(out_dir / _SETTINGS, json.dumps(settings, indent=1, sort_keys=True) + "\n")
    for var in variants:
        frame = base.copy()
        # the shortcut belongs to the training distribution (train and validation splits), as a dataset bias
        # would; only the test split (the "deployment" data) is free of it, so model selection on validation
        # does not quietly select against the shortcut
        hit = frame["vocals"].to_numpy(dtype=bool) & frame["split"].isin(DEV_SPLITS).to_numpy()
        bump = np.where(hit & (var == "biased"), float(shortcut), 0.0)
        write_variant(out_dir, emotion_columns(frame, bump, int(seed)), name=NAME, variant=var,
                      tracks={r["row"]["track_id"]: r["entries"] for r in results},
                      built_by=settings["generator"])
    if flags is not None:
        dev = base["split"].isin(DEV_SPLITS).to_numpy()
        write_cue_variants(out_dir, base, results, flags, name=NAME, dev=dev, built_by=settings["generator"],
                           seed=int(seed), duration=float(duration), shortcut=float(shortcut))
    return out_dir
