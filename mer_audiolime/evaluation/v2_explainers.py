"""Every pre-registered explainer of a benchmark suite on one clip, from one shared prediction cache.

One (model, clip, stem source) gives a set of components (stems x segments, plus the residual with estimated
stems). The explainers of the synthetic-v2 suite all attribute one scalar output (valence) over those
components; the estimators of :mod:`mer_audiolime.explain.estimators` compute them from their designs
(plain mask sets), so the union of every design is run through the model once, in one
:class:`~mer_audiolime.explain.sampling.PredictionCache`, and each explainer reads its rows from it.

Cost per explainer is reported as if it ran alone: ``model_calls`` is the number of distinct masks in its
design (seed 0); ``wall_seconds`` is the measured model time of those masks (each mask's share of the
measured time of the batch it was predicted in) plus the explainer's own estimation time.

Examples
--------
>>> import numpy as np
>>> names = ["vocals", "piano"]
>>> predict = lambda z: np.maximum(z[:, 0], z[:, 1])[:, None].astype(float)   # an OR of two stems
>>> rows, cost = attribute_clip(predict, component_names=names, model="m", track_id="t")
>>> sorted(rows[rows["explainer"] == "exact_shapley"]["score"].round(3).tolist())
[0.5, 0.5]
"""

from __future__ import annotations

import time
import zlib
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..explain.estimators import design, estimate
from ..explain.sampling import PredictionCache, enumerates

__all__ = ["SUITE_EXPLAINERS", "ESTIMATED", "STORED", "random_scores", "shortcut_scores", "attribute_clip",
           "explain_settings"]

#: Explainer names a suite may list (lime_signed / lime_abs are the stored ``lime`` under two rankings).
SUITE_EXPLAINERS = ("random", "shortcut_stem", "leave_one_out", "add_one_in", "exact_shapley",
                    "sampled_shapley", "lime_signed", "lime_abs")
#: Stored explainer -> estimator source of :mod:`mer_audiolime.explain.estimators`.
ESTIMATED = {"leave_one_out": "leave_one_out", "add_one_in": "add_one_in", "exact_shapley": "shapley",
             "sampled_shapley": "shapley_sampled", "lime": "lime"}
#: Explainers whose attributions are stored (the tidy table's ``explainer`` column).
STORED = ("random", "shortcut_stem", "leave_one_out", "add_one_in", "exact_shapley", "sampled_shapley",
          "lime")

_SAMPLED_SHAPLEY_BUDGET = 200


def explain_settings(suite: Mapping) -> dict:
    """Estimator settings from a suite's ``[explain]`` table (LIME) and its explainer options.

    Returns
    -------
    dict
        ``num_samples, kernel_width, alpha, enumeration, sampler, batch_size, seeds, shapley_samples``.
    """
    ex = suite["explain"]
    return {"num_samples": int(ex["num_samples"]), "kernel_width": float(ex["kernel_width"]),
            "alpha": float(ex["alpha"]), "enumeration": str(ex["enumeration"]),
            "sampler": str(ex.get("sampler", "uniform")), "batch_size": int(ex["batch_size"]),
            "seeds": [int(s) for s in ex["seeds"]], "shapley_samples": _SAMPLED_SHAPLEY_BUDGET}


def random_scores(n_components: int, *, model: str, track_id: str) -> np.ndarray:
    """The random baseline: i.i.d. uniform scores on [0, 1), seeded by (model, track) as registered.

    ``numpy.random.default_rng(SeedSequence(0, spawn_key=(crc32(model), crc32(track_id))))``.

    Examples
    --------
    >>> random_scores(3, model="m", track_id="t").shape
    (3,)
    """
    seq = np.random.SeedSequence(0, spawn_key=(zlib.crc32(model.encode()), zlib.crc32(track_id.encode())))
    return np.random.default_rng(seq).uniform(size=int(n_components))


def shortcut_scores(component_names: Sequence[str], *, stem: str) -> np.ndarray:
    """The "usual suspect" baseline: 1 on every component of ``stem`` (``stem`` or ``stem@t<i>``), else 0.

    Examples
    --------
    >>> shortcut_scores(["vocals@t0", "vocals@t1", "piano@t0"], stem="vocals").tolist()
    [1.0, 1.0, 0.0]
    """
    return np.array([1.0 if n.split("@")[0] == stem else 0.0 for n in component_names])


def _designs(k: int, cfg: Mapping, groups=None) -> dict:
    """``{(explainer, seed): (masks, settings)}`` for every estimated explainer and seed."""
    out = {}
    lime_exhaustive = enumerates(k, cfg["num_samples"])
    for seed in cfg["seeds"]:
        lime = {"num_samples": cfg["num_samples"], "seed": seed, "exhaustive": lime_exhaustive,
                "sampler": cfg["sampler"], "kernel_width": cfg["kernel_width"], "alpha": cfg["alpha"],
                "enumeration": cfg["enumeration"]}
        if seed == cfg["seeds"][0] or not lime_exhaustive:  # enumerated LIME is the same for every seed
            out[("lime", seed)] = (design("lime", k, lime, groups=groups), lime)
        sampled = {"num_samples": cfg["shapley_samples"], "seed": seed, "exhaustive": False,
                   "kernel_width": cfg["kernel_width"]}
        out[("sampled_shapley", seed)] = (design("shapley_sampled", k, sampled), sampled)
    first = cfg["seeds"][0]
    fixed = {"num_samples": 2**k, "seed": first, "exhaustive": True, "kernel_width": cfg["kernel_width"]}
    for name in ("leave_one_out", "add_one_in", "exact_shapley"):
        out[(name, first)] = (design(ESTIMATED[name], k, fixed), fixed)
    return out


def attribute_clip(
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    component_names: Sequence[str],
    model: str,
    track_id: str,
    settings: Mapping | None = None,
    shortcut_stem: str = "vocals",
    extra_masks: Mapping[str, np.ndarray] | None = None,
    component_groups: Sequence[int] | None = None,
) -> tuple:
    """Attributions of one output by every stored explainer, over one clip's components.

    Parameters
    ----------
    predict : callable
        ``masks (B, K) uint8 -> (B, 1)`` output (e.g. valence) of the model on the composed mixes.
    component_names : sequence of str
        The K component names (``stem`` or ``stem@t<i>``).
    model, track_id : str
        Seed the random baseline.
    settings : mapping, optional
        :func:`explain_settings` (default: audioLIME's LIME defaults, 1024 samples, seeds 0-4, batch 16).
    shortcut_stem : str
        The stem the ``shortcut_stem`` baseline names.
    extra_masks : mapping of str to np.ndarray, optional
        Named masks ``(K,)`` whose outputs are recorded as cost columns ``f_<name>`` (e.g. every stem on and
        the residual off: ``f(sum of stems)``); from the cache when a design holds them.
    component_groups : sequence of int, optional
        Time segment of each component (``Components.segments``), used by the ``grouped`` and
        ``grouped-adjusted`` LIME samplers.

    Returns
    -------
    rows : pandas.DataFrame
        ``explainer, seed, component, score`` (one row per component; seeds beyond the first only where
        the design depends on the seed).
    cost : pandas.DataFrame
        ``explainer, model_calls, wall_seconds`` (seed-0 design) plus one ``all`` row with the distinct
        masks the shared cache sent to the model and the clip's total wall time; ``f_all`` and ``f_none``
        columns hold the output with every / no component playing.
    """
    cfg = dict(settings) if settings is not None else {
        "num_samples": 1024, "kernel_width": 0.25, "alpha": 1.0, "enumeration": "expected",
        "sampler": "uniform", "batch_size": 16, "seeds": [0, 1, 2, 3, 4],
        "shapley_samples": _SAMPLED_SHAPLEY_BUDGET}
    names = [str(n) for n in component_names]
    k = len(names)
    if k < 2:
        raise ParameterError(f"an attribution needs at least two components, got {names}.")
    t_start = time.perf_counter()
    designs = _designs(k, cfg, groups=component_groups)
    per_mask = {}

    def timed(chunk):
        t = time.perf_counter()
        out = np.asarray(predict(chunk), dtype=np.float64).reshape(len(chunk), -1)
        share = (time.perf_counter() - t) / max(len(chunk), 1)
        for row in chunk:
            per_mask[row.tobytes()] = share
        return out

    cache = PredictionCache(k, 1, key=f"{model}|{track_id}|K={k}")
    union = np.unique(np.vstack([m for m, _ in designs.values()]), axis=0)
    cache.predict(union, timed, batch_size=cfg["batch_size"])
    rows, cost = [], []

    def add(explainer, seed, scores):
        rows.extend({"explainer": explainer, "seed": seed, "component": c, "score": float(s)}
                    for c, s in zip(names, scores))

    first = cfg["seeds"][0]
    for name, scores_of in (("random", lambda: random_scores(k, model=model, track_id=track_id)),
                            ("shortcut_stem", lambda: shortcut_scores(names, stem=shortcut_stem))):
        t = time.perf_counter()
        scores = scores_of()
        cost.append({"explainer": name, "model_calls": 0, "wall_seconds": time.perf_counter() - t})
        add(name, first, scores)
    for (name, seed), (masks, est_settings) in designs.items():
        t = time.perf_counter()
        outputs = cache.predict(masks, timed)
        att = estimate(ESTIMATED[name], masks, outputs, output_names=["y"], component_names=names,
                       targets=["y"], settings=est_settings, groups=component_groups)["y"]
        add(name, seed, att.weights)
        if seed == first:
            distinct = np.unique(np.asarray(masks, dtype=np.uint8), axis=0)
            model_time = sum(per_mask[r.tobytes()] for r in distinct)
            cost.append({"explainer": name, "model_calls": int(len(distinct)),
                         "wall_seconds": model_time + time.perf_counter() - t})
    full = np.ones((1, k), np.uint8)
    none = np.zeros((1, k), np.uint8)
    f_all, f_none = (float(cache.predict(m, timed)[0, 0]) for m in (full, none))
    extra = {f"f_{name}": float(cache.predict(np.asarray(m, np.uint8).reshape(1, k), timed)[0, 0])
             for name, m in (extra_masks or {}).items()}
    cost.append({"explainer": "all", "model_calls": int(cache.model_calls),
                 "wall_seconds": time.perf_counter() - t_start})
    cost = pd.DataFrame(cost).assign(f_all=f_all, f_none=f_none, k_components=k, **extra)
    return pd.DataFrame(rows, columns=["explainer", "seed", "component", "score"]), cost
