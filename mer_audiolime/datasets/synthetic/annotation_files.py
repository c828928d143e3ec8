"""The annotation files of a generated synthetic set: metadata and index per variant, cue design, truths.

:func:`~mer_audiolime.datasets.synthetic.generate` renders the audio and calls these writers for the labels:
every variant gets ``metadata_<variant>.csv`` (targets with its shortcut) and
``synthetic_index_<variant>.json`` (the mirdata index: track files and the annotation files with their
md5); with cues, ``cues.json`` records the cue design and ``truth_<variant>.csv`` every task's planted
credit. Files are written with ``\\n`` line ends and fixed float formatting, so the same settings give
byte-identical files on every platform.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._index import md5
from .cues import CUE_STEMS, CUES, DEV_SHARES, ORNAMENT_CUES, PHRASE_START
from .tasks import TASKS, credit_rows, fires, truth_frame
from .truth import EMOTIONS, MIDLEVEL, emotion_targets

__all__ = ["SETTINGS_FILE", "CUES_FILE", "write_text", "emotion_columns", "write_variant",
           "write_cue_variants"]

#: The generation settings of a set (every index lists it).
SETTINGS_FILE = "settings.json"
#: The cue design of a set with cues (the cue variants' indexes list it).
CUES_FILE = "cues.json"


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with ``\\n`` line ends (the same bytes on every platform)."""
    path.write_text(text, encoding="utf-8", newline="\n")


def emotion_columns(frame: pd.DataFrame, bump: np.ndarray, seed: int) -> pd.DataFrame:
    """Add the emotion targets of every clip (``W @ midlevel + noise + bump``) and the ``shortcut`` column.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per clip with ``clip`` and the mid-level columns; changed in place and returned.
    bump : np.ndarray, shape (n,)
        Valence added by the variant's shortcut per clip.
    seed : int
        Dataset seed (the noise stream).
    """
    emo = [emotion_targets({t: row[t] for t in MIDLEVEL}, seed=seed, clip=int(row["clip"]), shortcut=float(b))
           for (_, row), b in zip(frame.iterrows(), bump)]
    for e in EMOTIONS:
        frame[e] = [d[e] for d in emo]
    frame["shortcut"] = bump
    return frame


def write_variant(out_dir: Path, frame: pd.DataFrame, *, name: str, variant: str, tracks: dict, built_by: str,
                  extra: dict | None = None) -> None:
    """Write ``metadata_<variant>.csv`` and the variant's index ``<name>_index_<variant>.json``.

    Parameters
    ----------
    out_dir : pathlib.Path
        The set's folder (``relevance.csv`` and the settings file are already there).
    frame : pandas.DataFrame
        The variant's metadata, one row per clip.
    name : str
        Dataset name (index file prefix).
    variant : str
    tracks : dict
        ``{track_id: {file key: [relative path, md5]}}``.
    built_by : str
        The generator's version string.
    extra : dict, optional
        More annotation files ``{key: file name}`` in ``out_dir`` to list with their md5.
    """
    meta_name = f"metadata_{variant}.csv"
    write_text(out_dir / meta_name, frame.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    files = {"metadata": meta_name, "relevance": "relevance.csv", "settings": SETTINGS_FILE, **(extra or {})}
    index = {"version": variant, "tracks": tracks,
             "metadata": {key: [file, md5(out_dir / file)] for key, file in files.items()},
             "built_by": built_by}
    write_text(out_dir / f"{name}_index_{variant}.json", json.dumps(index, indent=1) + "\n")


def write_cue_variants(out_dir: Path, base: pd.DataFrame, results: list, flags: pd.DataFrame, *, name: str,
                       dev: np.ndarray, built_by: str, seed: int, duration: float, shortcut: float) -> None:
    """Write the cue design, the truth of every variant, and metadata + index of each cue variant.

    Parameters
    ----------
    out_dir : pathlib.Path
    base : pandas.DataFrame
        The clips' shared metadata (``track_id``, ``split``, parameters, mid-level targets).
    results : list of dict
        Per clip, in order: ``row``, ``cue_gain`` and ``cue_entries`` (its cue audio files).
    flags : pandas.DataFrame
        Bool cue columns (:func:`~.cues.assign_cues`).
    name : str
        Dataset name (index file prefix).
    dev : np.ndarray of bool, shape (n,)
        Clips of the splits whose labels carry a shortcut.
    built_by : str
    seed : int
    duration, shortcut : float
        Clip length (s) and the generator's base shortcut (each task scales it).
    """
    design = {
        "cues": list(CUES), "cue_stems": dict(CUE_STEMS), "ornaments": list(ORNAMENT_CUES),
        "phrase_start_fraction": PHRASE_START, "dev_shares": dict(DEV_SHARES),
        "test_design": "every test clip with vocals carries motif, phrase and distractor; half of the test "
                       "clips without vocals carry the motif",
        "shortcut": shortcut,
        "shortcut_by_variant": {v: t.shortcut(shortcut) for v, t in TASKS.items() if t.cues},
        "flags": {base["track_id"].iloc[i]: {c: bool(flags[c].iloc[i]) for c in CUES}
                  for i in range(len(base))},
        "gains": {r["row"]["track_id"]: r["cue_gain"] for r in results},
        "generator": built_by,
    }
    write_text(out_dir / CUES_FILE, json.dumps(design, indent=1, sort_keys=True) + "\n")
    for var, spec in TASKS.items():
        rows, bump = [], []
        size = spec.shortcut(shortcut)
        for i in range(len(base)):
            f = {c: bool(flags[c].iloc[i]) for c in CUES}
            on = fires(var, f)
            bump.append(size if (on and dev[i]) else 0.0)
            rows += credit_rows(var, f, track_id=str(base["track_id"].iloc[i]), duration=duration,
                                shortcut=size, in_labels=bool(on and dev[i]))
        truth = truth_frame(rows)
        write_text(out_dir / f"truth_{var}.csv", truth.to_csv(index=False, float_format="%.10g",
                                                              lineterminator="\n"))
        if spec.audio != "cues":
            continue
        frame = base.copy()
        frame["gain"] = [r["cue_gain"] for r in results]
        for c in ORNAMENT_CUES:
            frame.insert(len(frame.columns), c, flags[c].to_numpy(dtype=bool))
        write_variant(out_dir, emotion_columns(frame, np.asarray(bump, dtype=float), seed), name=name,
                      variant=var, tracks={r["row"]["track_id"]: r["cue_entries"] for r in results},
                      built_by=built_by, extra={"cues": CUES_FILE, "truth": f"truth_{var}.csv"})
