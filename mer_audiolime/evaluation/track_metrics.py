"""The per-track part of a suite: from explanations of one track (one per seed) to tidy rows."""

from __future__ import annotations

import numpy as np

__all__ = ["track_metric_rows", "explained_attributions"]


def explained_attributions(exp) -> dict:
    """Attribution per target as the harness reads it: emotions through the chain when the model has a
    linear mid-level head (the paper's route), every other output from its own LIME fit."""
    atts = dict(exp.attributions)
    atts.update(exp.chained)
    return atts


def track_metric_rows(first, others, *, model, suite: dict, row, truth: dict) -> list:
    """Rows for one track.

    Parameters
    ----------
    first : Explanation
        Explanation with the suite's first seed (its prediction cache is shared by ``others``).
    others : list of Explanation
        Same track, the suite's other seeds.
    model : Predictor
    suite : dict
    row : callable
        ``row(target, metric, value, component=..., step=..., seed=...)`` -> dict (fills the constant columns).
    truth : dict
        Annotated targets of the track (may be empty).
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
        for target, att in explained_attributions(exp).items():
            rows.append(row(target, "surrogate_r2", att.score, seed=seed))
            for comp, weight in zip(att.component_names, att.weights):
                rows.append(row(target, "weight", weight, component=comp, seed=seed))
    rows.extend(_metric_rows(first, others, model=model, suite=suite, row=row))
    rows.append(row("", "model_calls", first.cache.model_calls))
    return rows


def _metric_rows(first, others, *, model, suite, row) -> list:
    """Fidelity and stability metrics (see :mod:`mer_audiolime.evaluation.metrics`), all drawing model outputs
    through ``first.cache``; curves (for the figures) are kept for the emotion targets."""
    from .metrics import (DeletionInsertion, FaithfulnessCorrelation, Infidelity, KendallTau, StabilityIndices,
                          TopKJaccard)

    fid = suite["fidelity"]
    k_top = min(int(suite["stability"]["top_k"]), len(first.components))
    curves = DeletionInsertion(n_random=int(fid["random_orders"]), seed=0)
    faith = FaithfulnessCorrelation(n_subsets=int(fid["faithfulness_subsets"]), seed=0)
    infid = Infidelity(n_perturbations=int(fid["faithfulness_subsets"]), seed=0)
    stability = [TopKJaccard(k=k_top), KendallTau(), StabilityIndices(num_features=k_top)]
    emotions = set(first.chained) or set(getattr(model, "emotion_names", None) or [])
    seed = first.settings["seed"]
    rows = []
    for target, att in explained_attributions(first).items():
        if np.ptp(att.weights) == 0:  # e.g. every component silent for this output: nothing to rank
            continue
        d = curves(first, model, target=target, attribution=att)
        rows += [row(target, "aopc_deletion", d["aopc_deletion"], seed=seed),
                 row(target, "aopc_insertion", d["aopc_insertion"], seed=seed),
                 row(target, "normalised_area", d["abc"], seed=seed)]
        rows.append(row(target, "faithfulness_correlation",
                        faith(first, model, target=target, attribution=att)["faithfulness_corr"], seed=seed))
        rows.append(row(target, "infidelity", infid(first, model, target=target, attribution=att)["infidelity_rel"],
                        seed=seed))
        if target in emotions:
            frame = curves.curves(first, model, target=target, attribution=att)
            for rec in frame.itertuples():
                name = f"{rec.curve}_curve" if rec.order == "attribution" else f"random_{rec.curve}_curve"
                rows.append(row(target, name, rec.value_norm, step=rec.step, seed=seed))
        if others:
            exps = [first] + list(others)
            rows.append(row(target, "jaccard_topk", stability[0](exps, target=target)["jaccard"]))
            rows.append(row(target, "kendall_tau", stability[1](exps, target=target)["kendall_tau"]))
            vc = stability[2](exps, target=target)
            rows += [row(target, "vsi", vc["vsi"]), row(target, "csi", vc["csi"])]
    return rows
