"""Mid-level effects and the explanation chain emotion <- mid-level <- components.

For a bias-free linear head ``e = W m`` the effect of mid-level feature j on emotion i is ``W[i, j] * m[j]``;
the effects of an emotion sum to its prediction. Every attribution estimator of the package is linear in the
explained outputs (the ridge surrogate's solution, Shapley values, occlusion differences), so the estimator on
``e`` equals ``W @`` (the estimator on ``m``) when both use the same masks: the chain forms component
attributions of every emotion from those of the mid-level features.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from .surrogate import Attribution, weighted_r2

__all__ = ["midlevel_effects", "relative_effects", "effects_vs_reference", "chain_attributions"]


def _head(weights, midlevel_names, emotion_names) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(emotion_names), len(midlevel_names)):
        raise ParameterError(
            f"emotion weights must be (n_emotions, n_midlevel) = ({len(emotion_names)}, {len(midlevel_names)}), "
            f"got {w.shape}."
        )
    return w


def midlevel_effects(
    midlevel: np.ndarray,
    *,
    weights: np.ndarray,
    midlevel_names: Sequence[str],
    emotion_names: Sequence[str],
) -> pd.DataFrame:
    """Effects ``W[i, j] * m[j]`` of each mid-level feature on each emotion.

    Parameters
    ----------
    midlevel : np.ndarray, shape (M,)
        Predicted mid-level values of one clip.
    weights : np.ndarray, shape (E, M)
        The linear emotion head.
    midlevel_names, emotion_names : sequence of str

    Returns
    -------
    pd.DataFrame, shape (E, M)
        Rows are emotions, columns mid-level features; each row sums to the emotion prediction.

    Examples
    --------
    >>> midlevel_effects(np.array([1.0, 2.0]), weights=np.array([[0.5, -1.0]]),
    ...                  midlevel_names=["a", "b"], emotion_names=["v"]).values.tolist()
    [[0.5, -2.0]]
    """
    w = _head(weights, midlevel_names, emotion_names)
    m = np.asarray(midlevel, dtype=np.float64).ravel()
    if m.shape != (len(midlevel_names),):
        raise ParameterError(f"midlevel must have {len(midlevel_names)} values, got shape {m.shape}.")
    return pd.DataFrame(w * m[np.newaxis, :], index=list(emotion_names), columns=list(midlevel_names))


def relative_effects(effects: pd.DataFrame) -> pd.DataFrame:
    """Each effect as a signed share of the emotion's total absolute effect (rows' absolute values sum to 1)."""
    total = effects.abs().sum(axis=1).replace(0.0, np.nan)
    return effects.div(total, axis=0).fillna(0.0)


def effects_vs_reference(effects: pd.DataFrame, reference: Sequence[pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
    """Effects of one clip minus the mean effects over a reference set (e.g. the whole dataset).

    This is how a single explanation is read against the model's typical behaviour: a positive value means
    the feature pushes this clip's emotion up more than it does on average.
    """
    if isinstance(reference, pd.DataFrame):
        mean = reference
    else:
        frames = list(reference)
        if not frames:
            raise ParameterError("reference must contain at least one effects table.")
        mean = sum(frames) / len(frames)
    if list(mean.index) != list(effects.index) or list(mean.columns) != list(effects.columns):
        raise ParameterError("reference effects must have the same emotions and mid-level features.")
    return effects - mean


def chain_attributions(
    midlevel_attributions: Mapping[str, Attribution],
    *,
    weights: np.ndarray,
    midlevel_names: Sequence[str],
    emotion_names: Sequence[str],
    masks: np.ndarray | None = None,
    emotion_outputs: np.ndarray | None = None,
) -> dict:
    """Component attributions of each emotion, ``W @`` the mid-level attributions.

    Parameters
    ----------
    midlevel_attributions : mapping of str to Attribution
        One per mid-level feature (all from the same estimator on the same masks).
    weights : np.ndarray, shape (E, M)
    midlevel_names, emotion_names : sequence of str
    masks : np.ndarray, shape (N, K), optional
    emotion_outputs : np.ndarray, shape (N, E), optional
        With ``masks``, used to report each chained attribution's weighted R² against the model's emotions
        (:func:`~mer_audiolime.explain.surrogate.weighted_r2`); NaN without them.

    Returns
    -------
    dict of str to Attribution
        ``info["derived"] == "chain"``, ``info["source"] == "chain:<source of the mid-level attributions>"``.
    """
    w = _head(weights, midlevel_names, emotion_names)
    missing = [n for n in midlevel_names if n not in midlevel_attributions]
    if missing:
        raise ParameterError(f"the chain needs attributions of every mid-level feature; missing {missing}.")
    atts = [midlevel_attributions[n] for n in midlevel_names]
    names = atts[0].component_names
    if any(a.component_names != names for a in atts):
        raise ParameterError("mid-level attributions must share their components.")
    A = np.stack([a.weights for a in atts])  # (M, K)
    b = np.array([a.intercept for a in atts])
    local = np.array([a.local_prediction for a in atts])
    pred = np.array([a.prediction for a in atts])
    chained_w = w @ A
    chained_b = w @ b
    source = "chain:" + str(atts[0].info.get("source", "lime"))
    out = {}
    for i, emo in enumerate(emotion_names):
        score = float("nan")
        if masks is not None and emotion_outputs is not None:
            y = np.asarray(emotion_outputs, dtype=np.float64)[:, i]
            score = weighted_r2(masks, y, weights=chained_w[i], intercept=chained_b[i],
                                kernel_width=atts[0].kernel_width)
        out[emo] = Attribution(
            target=emo,
            component_names=list(names),
            weights=chained_w[i],
            intercept=float(chained_b[i]),
            score=score,
            local_prediction=float(w[i] @ local),
            prediction=float(w[i] @ pred),
            num_samples=atts[0].num_samples,
            seed=atts[0].seed,
            kernel_width=atts[0].kernel_width,
            info={"derived": "chain", "source": source},
        )
    return out
