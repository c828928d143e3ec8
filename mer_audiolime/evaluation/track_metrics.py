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
    for name, value in first.predictions.items():
        rows.append(row(name, "prediction", value))
        if name in truth:
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
    """Fidelity and stability metrics (see :mod:`mer_audiolime.evaluation.metrics`)."""
    return []
