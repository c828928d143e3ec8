"""Read-only helpers for scoring a pre-registered synthetic benchmark against its planted truths.

They turn what the generator and the zoo cards record into what a scorer needs, without computing any score:
which test clips a task scores, which components carry the planted credit at the task's segmentation, and
which (model, clip) pairs the pre-registered exclusion rule leaves out (from the learned-rule check recorded
in each model card). Nothing here reads an explanation.

Examples
--------
>>> from mer_audiolime.evaluation.suites import load_suite
>>> suite = load_suite("synthetic_v2")
>>> task_models(suite, "redundant")["task"][:1]
['a2mid2e_synth_v2_redundant_s0']
"""

from __future__ import annotations

import pandas as pd

from ..datasets.synthetic.interventions import scored
from ..exceptions import ParameterError
from ..explain.segments import segment_bounds
from ..models.zoo import model_card

__all__ = ["task_models", "scored_track_ids", "truth_components", "exclusions"]


def _task(suite: dict, task: str) -> dict:
    tasks = suite.get("tasks") or {}
    if task not in tasks:
        raise ParameterError(f"the suite has no task {task!r}; its tasks are {sorted(tasks)}.")
    return tasks[task]


def task_models(suite: dict, task: str) -> dict:
    """The registered models of a task: ``{"task": [names], "control": [names]}`` (suite order).

    Parameters
    ----------
    suite : dict
        A loaded pre-registration (:func:`~mer_audiolime.evaluation.suites.load_suite`).
    task : str
        A key of ``suite["tasks"]``.
    """
    spec = _task(suite, task)
    names = suite["models"]["names"]

    def pick(variant):
        return [n for n in names for h in spec["heads"] if n.startswith(f"{h}_synth_v2_{variant}_s")]

    return {"task": pick(spec["variant"]), "control": pick(spec["control"])}


def scored_track_ids(dataset, suite: dict, task: str) -> list:
    """Track ids of the clips a task scores: the suite's split, carrying every cue of ``clip_cues``.

    Parameters
    ----------
    dataset : mer_audiolime.datasets.synthetic.Dataset
        Loaded with the task's variant (or any variant over the same audio).
    """
    spec = _task(suite, task)
    split = suite["tracks"]["split"]
    out = []
    for tid in dataset.track_ids:
        track = dataset.track(tid)
        if (split == "all" or track.split == split) and scored(spec["variant"], track.cues):
            out.append(tid)
    return out


def truth_components(truth: pd.DataFrame, *, segments: int, duration: float, sr: int) -> pd.DataFrame:
    """The planted credit mapped onto component names at a segmentation (``stem`` or ``stem@t<i>``).

    A cue's credit goes to the segment(s) its time window overlaps, split by overlap length (the phrase,
    7.5-10 s of a 10-s clip, lies wholly in ``vocals@t1`` of two segments).

    Parameters
    ----------
    truth : pandas.DataFrame
        Rows of a truth table (``truth_<variant>.csv``, ``Dataset.truth()``, ``track.truth``).
    segments : int
        Equal segments per stem (1: stem names).
    duration : float
        Clip length (s).
    sr : int
        Sample rate (Hz); segment bounds are those the explainer uses.

    Returns
    -------
    pandas.DataFrame
        ``track_id, component, stem, role, credit`` (one row per component with a share of a cue).

    Examples
    --------
    >>> rows = pd.DataFrame([{"track_id": "a", "cue": "phrase", "stem": "vocals", "start": 7.5, "end": 10.0,
    ...                       "role": "shortcut", "credit": 0.6, "in_labels": False}])
    >>> truth_components(rows, segments=2, duration=10.0, sr=100)[["component", "credit"]].values.tolist()
    [['vocals@t1', 0.6]]
    """
    bounds = segment_bounds(int(round(duration * sr)), sr=sr, segments=int(segments)) / float(sr)
    out = []
    for row in truth.to_dict(orient="records"):
        span = float(row["end"]) - float(row["start"])
        for i, (a, b) in enumerate(bounds):
            overlap = min(b, float(row["end"])) - max(a, float(row["start"]))
            if overlap <= 0 or span <= 0:
                continue
            name = row["stem"] if len(bounds) == 1 else f"{row['stem']}@t{i}"
            out.append({"track_id": row["track_id"], "component": name, "stem": row["stem"],
                        "role": row["role"], "credit": float(row["credit"]) * overlap / span})
    frame = pd.DataFrame(out, columns=["track_id", "component", "stem", "role", "credit"])
    keys = ["track_id", "component", "stem", "role"]
    return frame.groupby(keys, as_index=False, sort=False)["credit"].sum()


def exclusions(names) -> pd.DataFrame:
    """The learned-rule verdicts recorded in the model cards: one row per (model, scored test clip).

    Returns
    -------
    pandas.DataFrame
        ``model, variant, track_id, passed`` and the recorded ``effect_*`` columns; ``passed = False`` rows
        are the pairs the pre-registered exclusion rule leaves out.
    """
    rows = []
    for name in names:
        rule = model_card(name).metrics.get("learned_rule")
        if not rule:
            raise ParameterError(f"model {name!r} has no recorded learned-rule check; it is not a "
                                 "synthetic-v2 model.")
        for tid, clip in rule["clips"].items():
            rows.append({"model": name, "variant": rule["variant"], "track_id": tid, **clip})
    return pd.DataFrame(rows)
