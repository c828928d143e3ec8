"""The per-track part of a suite: from explanations of one track to tidy rows.

Every attribution a row measures is ``exp.attribution(target)`` -- the package's one attribution rule (the
chain for emotions of a model with a linear mid-level head, the explanation's estimator otherwise) -- and the
row's ``source`` column names it.
"""

from __future__ import annotations

import numpy as np

from .metrics import get_metric

__all__ = ["track_metric_rows", "explained_attributions", "STABILITY_METRICS", "CONVERGENCE_METRIC",
           "HARNESS_METRICS"]

#: The registered metrics (:data:`~mer_audiolime.evaluation.metrics.METRICS` names) the harness computes, by
#: role; their options come from the suite.
HARNESS_METRICS = {
    "curves": "deletion_insertion",
    "faithfulness": "faithfulness_correlation",
    "infidelity": "infidelity",
    "jaccard": "top_k_jaccard",
    "kendall": "kendall_tau",
    "indices": "stability_indices",
    "convergence": "convergence",
}

#: Seed-stability rows (only written for settings whose masks depend on the seed).
STABILITY_METRICS = ("jaccard_topk", "kendall_tau", "vsi", "csi")
#: Convergence rows: relative error of N-row LIME to the enumerated reference, ``step`` = N.
CONVERGENCE_METRIC = "convergence_rel_error"


def explained_attributions(exp) -> dict:
    """``{target: exp.attribution(target)}`` for every explained target (the default rule)."""
    return {target: exp.attribution(target) for target in exp.targets}


def track_metric_rows(first, others, *, model, suite: dict, row, truth: dict, stability=None) -> list:
    """Rows for one track.

    Parameters
    ----------
    first : Explanation
        Explanation with the suite's first seed; fidelity metrics draw model outputs from its cache.
    others : list of Explanation
        Same track and setting, the suite's other seeds (empty when the masks do not depend on the seed).
    model : Predictor
    suite : dict
    row : callable
        ``row(target, metric, value, component=..., step=..., seed=..., source=..., k=..., n=...)`` -> dict
        (fills the constant columns; ``k``/``n`` override the number of components / rows used).
    truth : dict
        Annotated targets of the track (may be empty).
    stability : list of Explanation, optional
        Explanations (one per seed, one shared cache) of the setting seed stability is measured on; default
        ``[first] + others``. Stability rows are written only when its masks depend on the seed (otherwise it
        is exact and no number is written). Convergence against N is measured on ``first`` (K <= the suite's
        ``convergence_max_components``).
    """
    rows = []
    exps = [first] + list(others)
    scaling = getattr(model, "target_scaling", None) or {}
    for name, value in first.predictions.items():
        rows.append(row(name, "prediction", value))
        if name in truth:
            # models trained on standardised targets predict z-scores: compare on the annotation scale
            s = scaling.get(name)
            value = value * s["std"] + s["mean"] if s else value
            rows.append(row(name, "truth", truth[name]))
            rows.append(row(name, "error", value - truth[name]))
    for name, value in first.reconstruction_gap.items():
        rows.append(row(name, "reconstruction_gap", value))
    for exp in exps:
        seed = exp.settings["seed"]
        for w in getattr(exp, "warnings", []) or []:  # trust warnings: one row each, the code as component
            rows.append(row(w.target or "", "warning", 1.0, component=w.code, seed=seed))
        for target, att in explained_attributions(exp).items():
            source = att.info["source"]
            if np.isfinite(att.score):  # an undefined R² (constant output) is a warning row, not a number
                rows.append(row(target, "surrogate_r2", att.score, seed=seed, source=source))
            for comp, weight in zip(att.component_names, att.weights):
                rows.append(row(target, "weight", weight, component=comp, seed=seed, source=source))
    rows.extend(_fidelity_rows(first, model=model, suite=suite, row=row))
    stability = [first] + list(others) if stability is None else list(stability)
    rows.extend(_stability_rows(stability, suite=suite, row=row))
    rows.extend(_convergence_rows(first, model=model, suite=suite, row=row))
    calls = first.cache.model_calls
    if stability[0].cache is not first.cache:
        calls += stability[0].cache.model_calls
    rows.append(row("", "model_calls", calls))
    return rows


def _fidelity_rows(first, *, model, suite, row) -> list:
    """Fidelity metrics (see :mod:`mer_audiolime.evaluation.metrics`), all drawing model outputs through
    ``first.cache``; curves (for the figures) are kept for the emotion targets."""
    fid = suite["fidelity"]
    curves = get_metric(HARNESS_METRICS["curves"], n_random=int(fid["random_orders"]), seed=0)
    faith = get_metric(HARNESS_METRICS["faithfulness"], n_subsets=int(fid["faithfulness_subsets"]), seed=0)
    infid = get_metric(HARNESS_METRICS["infidelity"], n_perturbations=int(fid["faithfulness_subsets"]),
                       seed=0)
    emotions = set(first.chained) or set(getattr(model, "emotion_names", None) or [])
    seed = first.settings["seed"]
    rows = []
    for target, att in explained_attributions(first).items():
        if np.ptp(att.weights) == 0:  # e.g. every component silent for this output: nothing to rank
            continue
        src = att.info["source"]
        d = curves(first, model, target=target, attribution=att)
        for name in ("norm_aopc_deletion_minus_random", "norm_aopc_insertion_minus_random",
                     "norm_abc_minus_random"):
            rows.append(row(target, name, d[name], seed=seed, source=src))
        rows.append(row(target, "faithfulness_correlation",
                        faith(first, model, target=target, attribution=att)["faithfulness_corr"], seed=seed,
                        source=src))
        rows.append(row(target, "relative_infidelity",
                        infid(first, model, target=target, attribution=att)["relative_infidelity"], seed=seed,
                        source=src))
        if target in emotions:
            frame = curves.curves(first, model, target=target, attribution=att)
            for rec in frame.itertuples():
                kind = rec.curve if rec.order == "attribution" else f"random_{rec.curve}"
                name = f"norm_{kind}_curve"
                rows.append(row(target, name, rec.value_norm, step=rec.step, seed=seed, source=src))
    return rows


def _stability_rows(exps, *, suite, row) -> list:
    """Jaccard, Kendall tau, VSI, CSI over seeds -- only when the masks depend on the seed."""
    if len(exps) < 2 or not exps[0].seed_dependent:
        return []
    first = exps[0]
    k, n = len(first.components), first.masks.shape[0]
    k_top = min(int(suite["stability"]["top_k"]), k)
    jaccard = get_metric(HARNESS_METRICS["jaccard"], k=k_top)
    tau = get_metric(HARNESS_METRICS["kendall"])
    indices = get_metric(HARNESS_METRICS["indices"], num_features=k_top)
    rows = []
    for target, att in explained_attributions(first).items():
        if np.ptp(att.weights) == 0:
            continue
        src = att.info["source"]
        kw = dict(source=src, k=k, n=n)
        rows.append(row(target, "jaccard_topk", jaccard(exps, target=target)["jaccard"], **kw))
        rows.append(row(target, "kendall_tau", tau(exps, target=target)["kendall_tau"], **kw))
        if first.source == "lime":
            vc = indices(exps, target=target)
            rows += [row(target, "vsi", vc["vsi"], **kw), row(target, "csi", vc["csi"], **kw)]
    return rows


def _convergence_rows(exp, *, model, suite, row) -> list:
    """Relative error of N-row LIME weights to the enumerated reference (each coalition counting N / 2**K
    times), per N and seed, for every output (small K only: the reference needs all 2**K coalitions)."""
    st = suite["stability"]
    k = len(exp.components)
    if not st["convergence_sizes"] or k > int(st["convergence_max_components"]):
        return []
    metric = get_metric(HARNESS_METRICS["convergence"], sample_sizes=st["convergence_sizes"],
                        seeds=st["convergence_seeds"], max_components=int(st["convergence_max_components"]),
                        top_k=min(3, k))
    rows = []
    for target in exp.targets:
        if target not in exp.output_names or np.ptp(exp.attribution(target).weights) == 0:
            continue
        frame = metric(exp, model, target=target)
        for rec in frame.itertuples():
            rows.append(row(target, CONVERGENCE_METRIC, rec.rel_error, step=rec.num_samples, seed=rec.seed,
                            source="lime", k=k, n=exp.masks.shape[0]))
    return rows
