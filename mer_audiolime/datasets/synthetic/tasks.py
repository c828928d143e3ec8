"""The planted-shortcut tasks of the synthetic benchmark and their ground truth.

Every annotation variant of the synthetic set is a *task*: a rule that reads cues of a clip (see
:mod:`.cues`) and, when it fires on a training or validation clip, adds its shortcut ``c`` to the clip's
valence: ``c = scale * SHORTCUT`` (:data:`~.truth.SHORTCUT` = 0.6; ``scale`` 2 for the OR and AND rules, so
that the part of their labels no additive rule can fit, ``(c / 4)^2``, carries the label variance the v1
shortcut's main effect does, ``0.6^2 / 4``). The test split never carries the shortcut in its labels (it is the deployment data), but a model
that learned the rule applies it there, so the rule's **credit** is defined for every clip:

================  =====================  =====  ===================================================
variant           rule fires when        c      credit (Shapley values of the rule's game)
================  =====================  =====  ===================================================
``clean``         never                  --     none (v1 audio)
``biased``        vocals present         0.6    vocals: c (v1 audio)
``clean_cues``    never                  --     none (cue audio; the control for the tasks below)
``redundant``     vocals OR motif        1.2    every present cue c / (number present): half each
``interaction``   vocals AND motif       1.2    vocals c/2, piano c/2 when both are present, else 0
``time_local``    phrase present         0.6    vocals over the last quarter (the phrase's window): c
``confounded``    vocals present         0.6    vocals: c; ``other`` (the distractor) listed with 0
================  =====================  =====  ===================================================

The credit is the Shapley value of the rule's game ``v(S) = c * rule(cues in S)`` over the cues present in
the clip (symmetric cues share equally). It is the *planted* truth; whether a trained model follows it is
checked by intervention on the model (:mod:`.interventions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...exceptions import ParameterError
from .cues import CUE_STEMS, CUES, cue_window
from .truth import SHORTCUT

__all__ = ["Task", "TASKS", "V1_VARIANTS", "CUE_VARIANTS", "ALL_VARIANTS", "task", "fires", "credit_rows",
           "truth_frame", "TRUTH_COLUMNS"]


@dataclass(frozen=True)
class Task:
    """A planted-shortcut rule.

    Attributes
    ----------
    name : str
        The annotation variant (index version) that carries it.
    audio : {"base", "cues"}
        ``base``: the v1 audio; ``cues``: the audio with ornaments.
    cues : tuple of str
        Cues the rule reads (empty: no shortcut).
    combine : {"any", "all"}
        The rule fires when any / all of ``cues`` are present.
    distractors : tuple of str
        Cues correlated with the rule in the data but not read by it (credit 0).
    description : str
    scale : float
        The task's shortcut is ``scale`` times the generator's ``shortcut`` (default 0.6).
    """

    name: str
    audio: str
    cues: tuple = ()
    combine: str = "any"
    distractors: tuple = ()
    description: str = ""
    scale: float = 1.0

    def shortcut(self, base: float = SHORTCUT) -> float:
        """The valence this task's rule adds, for a generator ``shortcut`` of ``base``."""
        return float(base) * self.scale

    @property
    def shortcut_stems(self) -> tuple:
        """Stems that carry the rule's cues, in cue order without repeats."""
        return tuple(dict.fromkeys(CUE_STEMS[c] for c in self.cues))

    @property
    def distractor_stems(self) -> tuple:
        """Stems that carry the distractor cues."""
        return tuple(dict.fromkeys(CUE_STEMS[c] for c in self.distractors))


TASKS = {
    "clean": Task("clean", "base", description="no shortcut (v1 audio)"),
    "biased": Task("biased", "base", ("vocals",), "any",
                   description="valence + c when the vocal stem is present"),
    "clean_cues": Task("clean_cues", "cues", description="no shortcut (cue audio): the control of the tasks"),
    "redundant": Task("redundant", "cues", ("vocals", "motif"), "any", scale=2.0,
                      description="valence + c when the vocals OR the piano motif are present"),
    "interaction": Task("interaction", "cues", ("vocals", "motif"), "all", scale=2.0,
                        description="valence + c when the vocals AND the piano motif are both present"),
    "time_local": Task("time_local", "cues", ("phrase",), "any",
                       description="valence + c when the vocal phrase sounds in the last quarter"),
    "confounded": Task("confounded", "cues", ("vocals",), "any", distractors=("distractor",),
                       description="valence + c when the vocal stem is present; the string distractor is "
                       "correlated with the vocals but not read by the rule"),
}
#: Variants over the v1 audio (byte-identical to synthetic-v1).
V1_VARIANTS = ("clean", "biased")
#: Variants over the cue audio (synthetic-v2).
CUE_VARIANTS = ("clean_cues", "redundant", "interaction", "time_local", "confounded")
ALL_VARIANTS = V1_VARIANTS + CUE_VARIANTS
#: Columns of the truth tables (``truth_<variant>.csv``, :func:`credit_rows`).
TRUTH_COLUMNS = ("track_id", "cue", "stem", "start", "end", "role", "credit", "in_labels")


def task(name: str) -> Task:
    """The :class:`Task` of an annotation variant."""
    if name not in TASKS:
        raise ParameterError(f"unknown synthetic variant {name!r}; choose one of {list(TASKS)}.")
    return TASKS[name]


def _present(flags, name) -> bool:
    if name not in CUES:
        raise ParameterError(f"unknown cue {name!r}; cues are {list(CUES)}.")
    return bool(flags.get(name, False))


def fires(name: str, flags) -> bool:
    """Whether a variant's rule fires on a clip with these cue flags.

    Parameters
    ----------
    name : str
        Variant (see :data:`TASKS`).
    flags : mapping
        ``{cue: bool}``; missing cues count as absent.

    Examples
    --------
    >>> fires("redundant", {"vocals": False, "motif": True}), fires("interaction", {"motif": True})
    (True, False)
    """
    t = task(name)
    if not t.cues:
        return False
    present = [_present(flags, c) for c in t.cues]
    return all(present) if t.combine == "all" else any(present)


def credit_rows(name: str, flags, *, track_id: str, duration: float, shortcut: float,
                in_labels: bool) -> list:
    """The planted credit of one clip as tidy rows (see :data:`TRUTH_COLUMNS`).

    Parameters
    ----------
    name : str
        Variant.
    flags : mapping
        The clip's cue flags.
    track_id : str
    duration : float
        Clip length (s); cue windows are given in seconds.
    shortcut : float
        The planted valence shift ``c`` of this variant (:meth:`Task.shortcut`).
    in_labels : bool
        Whether this clip's label carries the shortcut (training/validation clips where the rule fires).

    Returns
    -------
    list of dict
        One row per cue present that the rule reads (role ``shortcut``, credit ``c / k`` for the ``k``
        present cues of an OR rule or the ``k`` cues of a satisfied AND rule, 0 when an AND rule is not
        satisfied), and one per present distractor (role ``distractor``, credit 0).
    """
    t = task(name)
    rows = []
    present = [c for c in t.cues if _present(flags, c)]
    if present:
        on = fires(name, flags)
        share = float(shortcut) / len(present) if on else 0.0
        for c in present:
            start, end = cue_window(c, duration=duration)
            rows.append({"track_id": track_id, "cue": c, "stem": CUE_STEMS[c], "start": start, "end": end,
                         "role": "shortcut", "credit": share, "in_labels": bool(in_labels and on)})
    for c in t.distractors:
        if _present(flags, c):
            start, end = cue_window(c, duration=duration)
            rows.append({"track_id": track_id, "cue": c, "stem": CUE_STEMS[c], "start": start, "end": end,
                         "role": "distractor", "credit": 0.0, "in_labels": False})
    return rows


def truth_frame(rows) -> pd.DataFrame:
    """Rows of :func:`credit_rows` as a frame with the :data:`TRUTH_COLUMNS` (also when empty)."""
    return pd.DataFrame(list(rows), columns=list(TRUTH_COLUMNS))
