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
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import DatasetError, ParameterError
from .._index import md5
from .render import GAINS, render_score, soundfont_path, to_pcm16
from .score import QUALITY_PARAMS, STEMS, compose, draw_params
from .truth import (EMOTION_WEIGHTS, EMOTIONS, MIDLEVEL, NOISE_SD, SHORTCUT, emotion_targets,
                    midlevel_targets, relevance_frame)

__all__ = ["generate", "assign_splits", "track_id", "VARIANTS", "SPLITS", "NAME"]

NAME = "synthetic"
VARIANTS = ("clean", "biased")
SPLITS = ("train", "validation", "test")
#: Splits that carry the planted shortcut in the biased variant (the training distribution).
DEV_SPLITS = ("train", "validation")
_SETTINGS = "settings.json"


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


def _make_clip(i: int, vocals: bool, *, seed: int, duration: float, sr: int, out_dir: str) -> dict:
    """Compose, render and write one clip; return its metadata row and file entries (runs in a worker)."""
    tid = track_id(i)
    params = draw_params(seed, i, vocals=bool(vocals))
    score = compose(params, seed=seed, clip=i, duration=duration)
    pcm, mix, gain = to_pcm16(render_score(score, sr=sr))
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
    return {"row": row, "entries": entries}


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
        for p in out_dir.glob("metadata_*.csv"):
            p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_text(path: Path, text: str):
    path.write_text(text, encoding="utf-8", newline="\n")


def generate(out_dir, *, n: int = 200, seed: int = 0, duration: float = 10.0, sr: int = 22050,
             variant: str = "both", n_jobs: int = 2, vocals_prob: float = 0.5,
             split_fractions=(0.7, 0.15, 0.15), shortcut: float = SHORTCUT, overwrite: bool = False,
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
        Valence added to biased training and validation clips with vocals.
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
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ..._version import __version__

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be a positive integer number of clips, got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}.")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or not 8000 <= sr <= 96000:
        raise ParameterError(f"sr must be an integer rate in Hz between 8000 and 96000, got {sr!r}.")
    if not isinstance(duration, (int, float)) or not 1.0 <= duration <= 600.0:
        raise ParameterError(f"duration must be between 1 and 600 seconds, got {duration!r}.")
    if variant not in VARIANTS + ("both",):
        raise ParameterError(f"variant must be 'clean', 'biased' or 'both', got {variant!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ParameterError(f"n_jobs must be a non-zero integer (-1 = all cores), got {n_jobs!r}.")
    variants = VARIANTS if variant == "both" else (variant,)
    out_dir = Path(out_dir).expanduser()
    vocals, split = assign_splits(int(n), seed=int(seed), vocals_prob=vocals_prob, fractions=split_fractions)
    _prepare(out_dir, overwrite)
    soundfont_path()  # fail early with a clear message

    jobs = (delayed(_make_clip)(i, bool(vocals[i]), seed=int(seed), duration=float(duration), sr=int(sr),
                                out_dir=str(out_dir)) for i in range(int(n)))
    runner = Parallel(n_jobs=int(n_jobs), return_as="generator")
    results = list(tqdm(runner(jobs), total=int(n), desc="synthesising clips", unit="clip",
                        disable=not progress))

    base = pd.DataFrame([r["row"] for r in results])
    base.insert(1, "split", split)
    rel = relevance_frame()
    _write_text(out_dir / "relevance.csv", rel.to_csv(index=False, lineterminator="\n"))
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
    _write_text(out_dir / _SETTINGS, json.dumps(settings, indent=1, sort_keys=True) + "\n")
    for var in variants:
        frame = base.copy()
        # the shortcut belongs to the training distribution (train and validation splits), as a dataset bias
        # would; only the test split (the "deployment" data) is free of it, so model selection on validation
        # does not quietly select against the shortcut
        hit = frame["vocals"].to_numpy(dtype=bool) & frame["split"].isin(DEV_SPLITS).to_numpy()
        bump = np.where(hit & (var == "biased"), float(shortcut), 0.0)
        emo = [emotion_targets({t: row[t] for t in MIDLEVEL}, seed=int(seed), clip=int(row["clip"]),
                               shortcut=float(b)) for (_, row), b in zip(frame.iterrows(), bump)]
        for e in EMOTIONS:
            frame[e] = [d[e] for d in emo]
        frame["shortcut"] = bump
        meta_name = f"metadata_{var}.csv"
        _write_text(out_dir / meta_name, frame.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
        index = {
            "version": var,
            "tracks": {r["row"]["track_id"]: r["entries"] for r in results},
            "metadata": {
                "metadata": [meta_name, md5(out_dir / meta_name)],
                "relevance": ["relevance.csv", md5(out_dir / "relevance.csv")],
                "settings": [_SETTINGS, md5(out_dir / _SETTINGS)],
            },
            "built_by": settings["generator"],
        }
        _write_text(out_dir / f"{NAME}_index_{var}.json", json.dumps(index, indent=1) + "\n")
    return out_dir
