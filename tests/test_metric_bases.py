"""Every registered metric has one of the three call shapes (one explanation, a set of explanations, a frame),
documents its ``compute``, and the harness finds its metrics in the registry by name."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from mer_audiolime.evaluation import track_metrics
from mer_audiolime.evaluation.metrics import (METRICS, ExplanationMetric, ExplanationSetMetric, FrameMetric,
                                              Metric, get_metric, register)
from mer_audiolime.exceptions import EvaluationError

FIRST_ARGUMENT = {ExplanationMetric: "explanation", ExplanationSetMetric: "explanations", FrameMetric: "frame"}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_registered_metric_has_one_call_shape_and_documents_compute(name):
    cls = METRICS[name]
    bases = [b for b in FIRST_ARGUMENT if issubclass(cls, b)]
    assert len(bases) == 1, (name, bases)
    params = list(inspect.signature(cls.compute).parameters)
    assert params[1] == FIRST_ARGUMENT[bases[0]], (name, params)
    doc = inspect.getdoc(cls.compute) or ""
    assert "Parameters" in doc and "Returns" in doc, name
    for base in FIRST_ARGUMENT:
        for method in (base.compute, base.__call__):
            assert "Returns" in (inspect.getdoc(method) or "")


def test_harness_metrics_resolve_through_the_registry(monkeypatch):
    assert set(track_metrics.HARNESS_METRICS.values()) <= set(METRICS)
    # A different class registered under the name is what the harness gets.
    calls = []

    class Recording(METRICS["kendall_tau"]):
        def compute(self, explanations, *, target, model=None, source=None):
            calls.append(target)
            return {"kendall_tau": 0.5}

    monkeypatch.setitem(METRICS, "kendall_tau", Recording)
    metric = get_metric(track_metrics.HARNESS_METRICS["kendall"])
    assert isinstance(metric, Recording) and metric([], target="valence") == {"kendall_tau": 0.5}
    assert calls == ["valence"]


def test_typed_bases_refuse_non_finite_results():
    class Half(FrameMetric):
        name, primary, direction, category = "half_test_only", "half", "higher", "bias"

        def compute(self, frame, *, column="x"):
            return {"half": float(frame[column].mean() / 2)}

    assert Half()(pd.DataFrame({"x": [1.0, 3.0]})) == {"half": 1.0}
    with pytest.raises(EvaluationError, match="half_test_only"):
        Half()(pd.DataFrame({"x": [float("nan")]}))
    assert issubclass(Half, Metric) and "half_test_only" not in METRICS
    register(Half)
    try:
        assert get_metric("half_test_only")(pd.DataFrame({"x": [4.0]}), column="x") == {"half": 2.0}
    finally:
        del METRICS["half_test_only"]
