"""Truth by intervention: does a trained model follow the planted rule of its task, clip by clip?

A task's rule (:mod:`.tasks`) is what the *labels* say; what a model relies on is checked on the model
itself, with no explainer involved: each cue is removed from the clip's mix (the vocal stem is subtracted;
an ornament is removed by swapping its stem for the stem without it, exact to the sample), the model is run
on every version, and the valence differences are compared with fixed thresholds. Clips where a model does
not follow its rule are excluded from scoring by :func:`rule_check` — a rule fixed before any result is seen
(it is stated in the synthetic-v2 suite file, whose values a test ties to :data:`LEARNED_RULE`).

Effects are in valence units (``predict`` must return valence, not a z-score). With the task's planted
shortcut ``c`` (0.6; 1.2 for the OR and AND tasks), ``tau = c / 2`` and ``delta = c / 6``; ``g(v, m)`` is
the output with the vocals / motif on or off:

=========================  ===================================================================================
task                       a clip passes when
=========================  ===================================================================================
``biased``                 ``f(mix) - f(mix - vocals) >= tau``
``confounded``             as ``biased``, and removing the distractor moves valence by less than ``delta``
``redundant`` (OR)         ``g11 - g00 >= tau``; each cue alone switches it on (``g10 - g00 >= tau``,
                           ``g01 - g00 >= tau``); removing either alone does not switch it off
                           (``g11 - g01 < tau``, ``g11 - g10 < tau``)
``interaction`` (AND)      ``g11 - g00 >= tau``; neither cue alone switches it on (``g10 - g00 < tau``,
                           ``g01 - g00 < tau``); removing either alone switches it off (``>= tau``)
``time_local``             removing the phrase moves valence by ``>= tau``; the vocals without the phrase
                           by less than ``tau``
``clean``, ``clean_cues``  (controls) removing any cue the clip has moves valence by less than ``tau``
=========================  ===================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import ParameterError
from .cues import CUE_STEMS, ORNAMENT_CUES
from .tasks import task
from .truth import SHORTCUT

__all__ = ["LEARNED_RULE", "SCORED_CLIPS", "versions", "cue_versions", "effects", "cue_effects", "rule_check",
           "learned_rule_frame", "thresholds", "task_thresholds", "scored"]

#: Thresholds of the learned-rule check as fractions of the planted shortcut (``tau``: a cue "matters";
#: ``delta``: a distractor "does not move" the output).
LEARNED_RULE = {"tau": 0.5, "delta": 1.0 / 6.0}

#: Which test clips each task scores (the same clips are checked): the cues that must all be present.
SCORED_CLIPS = {"clean": ("vocals",), "biased": ("vocals",), "clean_cues": ("vocals",),
                "redundant": ("vocals", "motif"), "interaction": ("vocals", "motif"),
                "time_local": ("phrase",), "confounded": ("vocals", "distractor")}


def thresholds(shortcut: float = SHORTCUT) -> dict:
    """``{"tau": ..., "delta": ...}`` in valence units for a planted shortcut of size ``shortcut``."""
    return {k: float(v) * float(shortcut) for k, v in LEARNED_RULE.items()}


def task_thresholds(variant: str, base: float = SHORTCUT) -> dict:
    """:func:`thresholds` of a variant's own shortcut (``scale * base``; a control uses ``base``)."""
    return thresholds(task(variant).shortcut(base))


def scored(variant: str, cues: dict) -> bool:
    """Whether a clip with these cue flags is one of the clips a variant scores (see :data:`SCORED_CLIPS`)."""
    task(variant)
    return all(bool(cues.get(c, False)) for c in SCORED_CLIPS[variant])


def versions(mix, stems: dict, nocue: dict, cues: dict) -> dict:
    """The mix with cues removed, from arrays: ``{name: array like mix}`` (float32).

    Names: ``full``; ``-vocals`` (the vocal stem, phrase included); ``-motif``, ``-phrase``, ``-distractor``
    (the ornament only: its stem swapped for the stem without it); ``-vocals-motif``. Only the versions the
    clip's cues allow are returned. With 16-bit stems read as floats the differences are exact.

    Parameters
    ----------
    mix : np.ndarray
        The clip (cue version).
    stems : dict
        ``{stem: array}`` of the same shape (the cue version's stems).
    nocue : dict
        ``{stem: array}``: each ornamented stem without its ornament.
    cues : dict
        ``{cue: bool}``.

    Examples
    --------
    >>> mix = np.array([3.0]); stems = {"vocals": np.array([1.0]), "piano": np.array([2.0])}
    >>> versions(mix, stems, {"piano": np.array([0.5])}, {"vocals": True, "motif": True})["-vocals-motif"]
    array([0.5], dtype=float32)
    """
    out = {"full": mix}
    if cues.get("vocals", False):
        out["-vocals"] = mix - stems["vocals"]
    for cue in ORNAMENT_CUES:
        if cues.get(cue, False):
            stem = CUE_STEMS[cue]
            if stem not in nocue:
                raise ParameterError(f"the clip has the {cue} cue but no {stem} stem without it; regenerate "
                                     "the set with cues=True.")
            out[f"-{cue}"] = mix - stems[stem] + nocue[stem]
    if cues.get("vocals", False) and cues.get("motif", False):
        out["-vocals-motif"] = mix - stems["vocals"] - stems["piano"] + nocue["piano"]
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def cue_versions(track) -> dict:
    """:func:`versions` of a loaded track: ``{name: (1, samples) float32}``.

    Parameters
    ----------
    track : synthetic Track
        Any variant (the cue audio when it is a cue variant).
    """
    mix, _ = track.audio
    return versions(mix, track.stems, track.nocue_stems, track.cues)


def effects(named: dict, predict) -> dict:
    """Model outputs on named versions (from :func:`versions`): ``{name: float}`` (valence units).

    Parameters
    ----------
    named : dict
        ``{name: (1, samples) float32}``.
    predict : callable
        ``(B, 1, samples) float32 -> (B,)`` valence of the model under test.
    """
    names = list(named)
    batch = np.stack([np.asarray(named[n], dtype=np.float32).reshape(1, -1) for n in names])
    values = np.asarray(predict(batch), dtype=np.float64).reshape(-1)
    if values.shape != (len(names),) or not np.all(np.isfinite(values)):
        raise ParameterError(f"predict must return one finite valence per version, got {values!r}.")
    return dict(zip(names, values.tolist()))


def cue_effects(track, predict) -> dict:
    """:func:`effects` of the :func:`cue_versions` of a loaded track."""
    return effects(cue_versions(track), predict)


def rule_check(variant: str, outputs: dict, *, tau: float, delta: float) -> dict:
    """Apply the learned-rule criterion of a variant to one clip's outputs (see the module docstring).

    Parameters
    ----------
    variant : str
    outputs : dict
        From :func:`cue_effects`.
    tau, delta : float
        Thresholds in valence units (:func:`thresholds`).

    Returns
    -------
    dict
        The effects the criterion uses (``effect_<name>``) and ``passed`` (bool).

    Examples
    --------
    >>> out = {"full": 0.9, "-vocals": 0.3, "-motif": 0.3, "-vocals-motif": 0.3}
    >>> rule_check("interaction", out, tau=0.3, delta=0.1)["passed"]
    True
    >>> rule_check("redundant", out, tau=0.3, delta=0.1)["passed"]
    False
    """
    f = outputs
    need = {"biased": ["-vocals"], "confounded": ["-vocals", "-distractor"],
            "redundant": ["-vocals", "-motif", "-vocals-motif"],
            "interaction": ["-vocals", "-motif", "-vocals-motif"], "time_local": ["-phrase", "-vocals"],
            "clean": [], "clean_cues": []}
    task(variant)
    missing = [k for k in need[variant] + ["full"] if k not in f]
    if missing:
        raise ParameterError(f"the {variant} check needs the versions {missing}; is this a scored clip?")
    full = f["full"]
    if variant in ("biased", "confounded"):
        eff = {"effect_vocals": full - f["-vocals"]}
        ok = eff["effect_vocals"] >= tau
        if variant == "confounded":
            eff["effect_distractor"] = full - f["-distractor"]
            ok = ok and abs(eff["effect_distractor"]) < delta
    elif variant in ("redundant", "interaction"):
        g11, g01, g10, g00 = full, f["-vocals"], f["-motif"], f["-vocals-motif"]
        eff = {"effect_both": g11 - g00, "effect_vocals_alone": g10 - g00, "effect_motif_alone": g01 - g00,
               "effect_remove_vocals": g11 - g01, "effect_remove_motif": g11 - g10}
        singles = [eff["effect_vocals_alone"], eff["effect_motif_alone"]]
        removals = [eff["effect_remove_vocals"], eff["effect_remove_motif"]]
        if variant == "redundant":
            ok = all(s >= tau for s in singles) and all(r < tau for r in removals)
        else:
            ok = all(s < tau for s in singles) and all(r >= tau for r in removals)
        ok = ok and eff["effect_both"] >= tau
    elif variant == "time_local":
        eff = {"effect_phrase": full - f["-phrase"],
               "effect_vocals_without_phrase": f["-phrase"] - f["-vocals"]}
        ok = eff["effect_phrase"] >= tau and abs(eff["effect_vocals_without_phrase"]) < tau
    else:  # controls: no cue may matter
        eff = {f"effect_{k[1:]}": full - v for k, v in f.items() if k != "full"}
        ok = all(abs(v) < tau for v in eff.values())
    return {**{k: float(v) for k, v in eff.items()}, "passed": bool(ok)}


def learned_rule_frame(tracks, predict, *, variant: str, base: float = SHORTCUT) -> pd.DataFrame:
    """The learned-rule check of one model on the scored clips among ``tracks`` (one row per clip).

    Parameters
    ----------
    tracks : iterable of synthetic Track
        Typically the test split of the model's variant (for a control model: of the task it controls).
    predict : callable
        ``(B, 1, samples) float32 -> (B,)`` valence (valence units).
    variant : str
        The model's variant: whose rule is checked.
    base : float
        The generator's ``shortcut`` (the variant's own is ``scale * base``; thresholds scale with it).

    Returns
    -------
    pandas.DataFrame
        ``track_id, variant, tau, delta, passed`` and the ``effect_*`` columns of :func:`rule_check`.
    """
    lim = task_thresholds(variant, base)
    rows = []
    for track in tracks:
        if not scored(variant, track.cues):
            continue
        check = rule_check(variant, cue_effects(track, predict), **lim)
        rows.append({"track_id": track.track_id, "variant": variant, **lim, **check})
    return pd.DataFrame(rows)
