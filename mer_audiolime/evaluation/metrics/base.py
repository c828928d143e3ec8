"""The shared base of every metric, the metric registry, and the cached model access all metrics use.

A metric is a small class with three declared facts -- ``name``, ``direction`` (``"higher"`` or ``"lower"`` is
better, for its ``primary`` number) and ``category`` (``fidelity``, ``stability``, ``sanity``, ``bias``) --
and a :meth:`Metric.compute` that returns either a dict of named floats or a tidy :class:`pandas.DataFrame`.
Calling the metric runs ``compute`` and refuses NaN/inf results with :class:`EvaluationError` (Quantus'
lesson: a silent NaN poisons a whole benchmark table).

Model outputs are drawn through the explanation's :class:`~mer_audiolime.explain.PredictionCache`
(:class:`CachedOracle`), so a mask that the surrogate (or another metric) already evaluated is never run
again; ``oracle.new_calls`` is what a metric reports as its cost.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ...exceptions import EvaluationError, ParameterError
from ...explain.batching import component_predict_fn
from ...models.spec import as_predictor
from ...validation import check_int

__all__ = [
    "Metric",
    "ExplanationMetric",
    "ExplanationSetMetric",
    "FrameMetric",
    "METRICS",
    "register",
    "get_metric",
    "CachedOracle",
    "resolve_attribution",
    "target_index",
    "check_finite",
]

#: Registry: metric name -> class (filled by :func:`register`).
METRICS: dict = {}

DIRECTIONS = ("higher", "lower")
CATEGORIES = ("fidelity", "stability", "sanity", "bias")


def register(cls):
    """Class decorator adding a :class:`Metric` subclass to :data:`METRICS` (names must be unique)."""
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise ParameterError(f"only Metric subclasses can be registered, got {cls!r}.")
    if cls.direction not in DIRECTIONS or cls.category not in CATEGORIES or not cls.name or not cls.primary:
        raise ParameterError(
            f"{cls.__name__} must declare name, primary, direction in {DIRECTIONS} and category in "
            f"{CATEGORIES}."
        )
    if cls.name in METRICS and METRICS[cls.name] is not cls:
        raise ParameterError(
            f"a metric named {cls.name!r} is already registered ({METRICS[cls.name].__name__})."
        )
    METRICS[cls.name] = cls
    return cls


def get_metric(name: str, **options) -> "Metric":
    """Instantiate the registered metric ``name`` with keyword ``options``."""
    if name not in METRICS:
        raise ParameterError(f"unknown metric {name!r}; registered metrics are {sorted(METRICS)}.")
    return METRICS[name](**options)


def check_finite(result, *, metric: str):
    """Raise :class:`EvaluationError` if a dict of floats or a frame's numeric columns hold NaN or inf."""
    if isinstance(result, pd.DataFrame):
        numeric = result.select_dtypes(include=[np.number, "bool"])
        bad = ~np.isfinite(numeric.to_numpy(dtype=np.float64))
        if bad.any():
            rows, cols = np.nonzero(bad)
            raise EvaluationError(
                f"metric {metric!r} produced non-finite values in column(s) "
                f"{sorted({numeric.columns[c] for c in cols})} (first at row {int(rows[0])}); see its "
                "docstring for when the metric is undefined."
            )
        return result
    if isinstance(result, Mapping):
        for key, value in result.items():
            if isinstance(value, (pd.DataFrame, pd.Series, str)) or value is None:
                continue
            if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                raise EvaluationError(f"metric {metric!r} is undefined here: {key} = {value!r}.")
        return result
    raise EvaluationError(
        f"metric {metric!r} returned {type(result).__name__}; expected a dict or a DataFrame."
    )


class Metric:
    """Base class: declared name, direction, category; ``__call__`` = ``compute`` + NaN check.

    Subclasses set the class attributes and implement :meth:`compute`. Options are keyword-only constructor
    arguments stored on the instance (and listed by :meth:`options` for run manifests); per-call inputs
    (explanation, model, target ...) go to ``compute``. A metric derives from one of the three bases that
    fix its call shape: :class:`ExplanationMetric` (one explanation), :class:`ExplanationSetMetric` (several
    explanations of one track) or :class:`FrameMetric` (a tidy frame of many tracks).

    Attributes
    ----------
    name : str
        Registry key (snake_case).
    primary : str
        Key (dict results) or column (frame results) holding the headline number ``direction`` refers to.
    direction : {"higher", "lower"}
        Which way the primary number is better.
    category : {"fidelity", "stability", "sanity", "bias"}
    """

    name: str = ""
    primary: str = ""
    direction: str = "higher"
    category: str = "fidelity"

    def options(self) -> dict:
        """The instance's options (for manifests)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def compute(self, *args, **kwargs):  # pragma: no cover - abstract
        """The metric's numbers; the typed bases below fix the arguments.

        Returns
        -------
        dict or pandas.DataFrame
        """
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """Run :meth:`compute` and refuse NaN/inf results (:func:`check_finite`).

        Returns
        -------
        dict or pandas.DataFrame
            What :meth:`compute` returned.
        """
        return check_finite(self.compute(*args, **kwargs), metric=self.name)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


class ExplanationMetric(Metric):
    """A metric of one explanation: ``metric(explanation, model=None, *, target, **inputs)``.

    ``inputs`` are the subclass's further keyword arguments (``attribution``, ``source`` ...).

    Examples
    --------
    >>> metric = get_metric("faithfulness_correlation", n_subsets=64, seed=0)  # doctest: +SKIP
    >>> metric(exp, model, target="valence")["faithfulness_corr"]  # doctest: +SKIP
    """

    def compute(self, explanation, model=None, *, target: str, **inputs):  # pragma: no cover - abstract
        """The metric's numbers for ``target`` of ``explanation``.

        Parameters
        ----------
        explanation : Explanation
        model : Predictor, optional
            Needed only for masks the explanation's cache lacks.
        target : str
        **inputs
            The subclass's further arguments.

        Returns
        -------
        dict or pandas.DataFrame
        """
        raise NotImplementedError

    def __call__(self, explanation, model=None, *, target: str, **inputs):
        """:meth:`compute`, then refuse NaN/inf results.

        Parameters
        ----------
        explanation : Explanation
        model : Predictor, optional
        target : str
        **inputs
            The subclass's further arguments.

        Returns
        -------
        dict or pandas.DataFrame
        """
        return check_finite(self.compute(explanation, model, target=target, **inputs), metric=self.name)


class ExplanationSetMetric(Metric):
    """A metric of several explanations of one track (e.g. one per seed):
    ``metric(explanations, model=None, *, target, **inputs)``.

    Examples
    --------
    >>> metric = get_metric("kendall_tau")  # doctest: +SKIP
    >>> metric([exp_seed0, exp_seed1], target="valence")["kendall_tau"]  # doctest: +SKIP
    """

    def compute(self, explanations, model=None, *, target: str, **inputs):  # pragma: no cover - abstract
        """The metric's numbers for ``target`` over ``explanations``.

        Parameters
        ----------
        explanations : list of Explanation
        model : Predictor, optional
        target : str
        **inputs
            The subclass's further arguments.

        Returns
        -------
        dict or pandas.DataFrame
        """
        raise NotImplementedError

    def __call__(self, explanations, model=None, *, target: str, **inputs):
        """:meth:`compute`, then refuse NaN/inf results.

        Parameters
        ----------
        explanations : list of Explanation
        model : Predictor, optional
        target : str
        **inputs
            The subclass's further arguments.

        Returns
        -------
        dict or pandas.DataFrame
        """
        result = self.compute(explanations, model=model, target=target, **inputs)
        return check_finite(result, metric=self.name)


class FrameMetric(Metric):
    """A metric of a tidy frame of many tracks' results: ``metric(frame, **options)``.

    Examples
    --------
    >>> get_metric("subgroup_error")(rows, group="genre")  # doctest: +SKIP
    """

    def compute(self, frame, **options):  # pragma: no cover - abstract
        """The metric's numbers over ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
        **options
            Column names and selections of the subclass.

        Returns
        -------
        dict or pandas.DataFrame
        """
        raise NotImplementedError

    def __call__(self, frame, **options):
        """:meth:`compute`, then refuse NaN/inf results.

        Parameters
        ----------
        frame : pandas.DataFrame
        **options
            Column names and selections of the subclass.

        Returns
        -------
        dict or pandas.DataFrame
        """
        return check_finite(self.compute(frame, **options), metric=self.name)


def target_index(explanation, target: str) -> int:
    """Column of ``target`` in the explanation's model outputs."""
    names = list(explanation.output_names or explanation.predictions.index)
    if target not in names:
        raise ParameterError(f"unknown target {target!r}; the model's outputs are {names}.")
    return names.index(target)


def resolve_attribution(explanation, target: str, attribution=None, source: str | None = None) -> np.ndarray:
    """The weights ``a`` (K,) to evaluate: ``attribution`` if given (array or Attribution), else
    ``explanation.attribution(target, source)`` -- the package's one attribution rule (default source: the
    chain for emotions of a linear-head model, the explanation's estimator otherwise)."""
    k = len(explanation.components)
    if attribution is None:
        attribution = explanation.attribution(target, source)
    elif source is not None:
        raise ParameterError("pass either attribution=... or source=..., not both.")
    weights = getattr(attribution, "weights", attribution)
    a = np.asarray(weights, dtype=np.float64).ravel()
    if a.shape != (k,):
        raise ParameterError(f"attribution must have one weight per component (K={k}), got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise EvaluationError("the attribution contains NaN or infinite weights.")
    return a


class CachedOracle:
    """``masks (B, K) -> outputs (B, T)`` through an explanation's prediction cache.

    Parameters
    ----------
    explanation : Explanation
        Its ``components`` are composed and its ``cache`` is read and extended.
    model : Predictor, torch.nn.Module, callable or None
        The model the explanation was computed with (its ``output_names`` must match). ``None`` allows only
        masks already in the cache (an :class:`EvaluationError` names the first missing one otherwise).
    batch_size : int
        Composed mixes per model call.

    Attributes
    ----------
    new_calls : int
        Rows this oracle sent to the model (``cache.model_calls`` grows by the same amount).
    """

    def __init__(self, explanation, model=None, *, batch_size: int = 32):
        self.explanation = explanation
        self.cache = explanation.cache
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self._start = self.cache.model_calls
        if model is None:
            self._fn = self._refuse
        else:
            model = as_predictor(model)
            names = list(explanation.output_names or explanation.predictions.index)
            if list(model.output_names) != names:
                raise ParameterError(
                    f"the model's outputs {list(model.output_names)} differ from the explanation's {names}; "
                    "pass the model the explanation was computed with."
                )
            self._fn = component_predict_fn(explanation.components, model, batch_size=self.batch_size)

    @staticmethod
    def _refuse(masks):
        raise EvaluationError(
            f"this metric needs model outputs for {len(masks)} mask(s) the prediction cache does not hold "
            f"(first: {np.asarray(masks[0]).tolist()}); pass model=... ."
        )

    @property
    def new_calls(self) -> int:
        return self.cache.model_calls - self._start

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        return self.cache.predict(np.asarray(masks, dtype=np.uint8), self._fn, batch_size=self.batch_size)
