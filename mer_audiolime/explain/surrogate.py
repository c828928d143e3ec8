"""The LIME surrogate, fitted through ``lime.lime_base.LimeBase`` with audioLIME's defaults.

Arrays in, attributions out: this module never touches audio. Defaults follow audioLIME's
``LimeAudioExplainer``: cosine distance of each mask to the all-on mask, kernel ``sqrt(exp(-d**2 / w**2))``
with ``w = 0.25``, ``feature_selection="auto"`` with ``num_features=100000`` (which keeps every component:
``"auto"`` resolves to ``"highest_weights"`` above six features, and that keeps the ``num_features`` largest)
and ``Ridge(alpha=1)`` fitted with the kernel values as sample weights.

A *multiplicity* ``m`` makes every row count ``m`` times. Enumerated coalitions use ``m = N / 2**K``, their
expected count among N sampled rows: the weighted ridge objective
``sum_rows m pi (y - g)**2 + alpha |beta|**2`` equals ``m`` times the objective with penalty ``alpha / m``, so
the fit uses ``Ridge(alpha / m)``; the weighted R² does not change when every weight is multiplied by the same
constant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Sequence

import numpy as np

from ..exceptions import ParameterError

__all__ = ["Attribution", "kernel", "mask_distances", "kernel_weights", "fit_surrogate", "weighted_r2",
           "DEFAULT_KERNEL_WIDTH", "AUDIOLIME_FEATURE_SELECTION", "AUDIOLIME_NUM_FEATURES"]

DEFAULT_KERNEL_WIDTH = 0.25
#: How audioLIME's ``LimeAudioExplainer`` calls ``LimeBase.explain_instance_with_data`` by default.
AUDIOLIME_FEATURE_SELECTION = "auto"
AUDIOLIME_NUM_FEATURES = 100000


def kernel(d: np.ndarray, kernel_width: float) -> np.ndarray:
    """audioLIME's exponential kernel ``sqrt(exp(-d**2 / w**2))``."""
    return np.sqrt(np.exp(-(np.asarray(d) ** 2) / kernel_width**2))


def mask_distances(masks: np.ndarray) -> np.ndarray:
    """Cosine distance of each mask row to the all-ones mask (the all-off mask is at distance 1)."""
    from sklearn.metrics import pairwise_distances

    z = np.asarray(masks, dtype=np.float64)
    return pairwise_distances(z, np.ones((1, z.shape[1])), metric="cosine").ravel()


def kernel_weights(masks: np.ndarray, *, kernel_width: float = DEFAULT_KERNEL_WIDTH) -> np.ndarray:
    """LIME sample weights of each mask row."""
    return kernel(mask_distances(masks), kernel_width)


def weighted_r2(masks: np.ndarray, y: np.ndarray, *, weights: np.ndarray, intercept: float,
                kernel_width: float = DEFAULT_KERNEL_WIDTH) -> float:
    """Kernel-weighted R² of the additive model ``intercept + z . weights`` against outputs ``y``.

    ``R² = 1 - sum_i pi_i (y_i - g(z_i))**2 / sum_i pi_i (y_i - ybar_pi)**2`` with LIME's kernel weights
    ``pi`` of the masks. For a LIME fit on the same masks this is exactly the score ``LimeBase`` reports;
    for any other attribution with an intercept it is the same fidelity number. 1.0 when ``y`` is constant
    and reproduced exactly, ``-inf`` never: a constant ``y`` fitted with error gives 0.

    Parameters
    ----------
    masks : np.ndarray, shape (N, K)
    y : np.ndarray, shape (N,)
    weights : np.ndarray, shape (K,)
    intercept : float
    kernel_width : float

    Examples
    --------
    >>> z = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    >>> weighted_r2(z, z @ np.array([1.0, 2.0]) + 3, weights=np.array([1.0, 2.0]), intercept=3.0)
    1.0
    """
    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pi = kernel_weights(z, kernel_width=kernel_width)
    fit = z @ np.asarray(weights, dtype=np.float64) + float(intercept)
    ss_res = float(np.sum(pi * (y - fit) ** 2))
    ss_tot = float(np.sum(pi * (y - np.average(y, weights=pi)) ** 2))
    if ss_tot > 0:
        return 1.0 - ss_res / ss_tot
    return 1.0 if ss_res == 0 else 0.0


@dataclass
class Attribution:
    """A local linear explanation of one model output over K components.

    Attributes
    ----------
    target : str
        Name of the explained output.
    component_names : list of str
    weights : np.ndarray, shape (K,)
        Surrogate coefficients: the change of the output when a component is switched on.
    intercept : float
        Surrogate output with every component off.
    score : float
        Weighted R² of the surrogate on its samples.
    local_prediction : float
        Surrogate output at the all-on mask.
    prediction : float
        Model output at the all-on mask (the explained prediction).
    num_samples : int
        Rows the surrogate was fitted on (``2**K`` when enumerated).
    seed : int or None
    kernel_width : float
    info : dict
        Provenance: ``source`` (how the weights were formed: ``"lime"``, ``"shapley"``, ``"chain:lime"`` ...;
        see :mod:`mer_audiolime.explain.estimators`), and for LIME ``alpha``, ``multiplicity`` and
        ``effective_alpha`` (the ridge penalty actually applied, ``alpha / multiplicity``).
    """

    target: str
    component_names: list
    weights: np.ndarray
    intercept: float
    score: float
    local_prediction: float
    prediction: float
    num_samples: int
    seed: object
    kernel_width: float
    info: dict = field(default_factory=dict)

    def ranking(self) -> list:
        """Component names from largest to smallest weight (signed)."""
        order = np.argsort(-self.weights, kind="stable")
        return [self.component_names[i] for i in order]

    def top(self, k: int = 3, *, by: str = "weight") -> list:
        """The ``k`` components with the largest weight (``by="weight"``) or absolute weight (``"abs"``)."""
        if by not in ("weight", "abs"):
            raise ParameterError(f"by must be 'weight' or 'abs', got {by!r}.")
        key = self.weights if by == "weight" else np.abs(self.weights)
        order = np.argsort(-key, kind="stable")[: int(k)]
        return [self.component_names[i] for i in order]

    def as_dict(self) -> dict:
        """Plain-Python form (JSON-serialisable)."""
        d = asdict(self)
        d["weights"] = [float(w) for w in self.weights]
        for key in ("intercept", "score", "local_prediction", "prediction", "kernel_width"):
            d[key] = float(d[key])
        return d


def fit_surrogate(
    masks: np.ndarray,
    outputs: np.ndarray,
    *,
    output_names: Sequence[str],
    component_names: Sequence[str],
    targets: Sequence[str] | None = None,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    alpha: float = 1.0,
    multiplicity: float = 1.0,
    seed=None,
    prediction: np.ndarray | None = None,
) -> dict:
    """Fit one LIME surrogate per target on the same masks.

    Parameters
    ----------
    masks : np.ndarray, shape (N, K)
        Row 0 must be the all-ones mask.
    outputs : np.ndarray, shape (N, T)
        Model outputs for each mask.
    output_names : sequence of str, length T
    component_names : sequence of str, length K
    targets : sequence of str, optional
        Outputs to explain (default all).
    kernel_width : float
        Kernel width ``w`` (audioLIME: 0.25).
    alpha : float
        Ridge penalty (audioLIME: 1.0; 0 gives plain weighted least squares).
    multiplicity : float
        How many times every row counts (> 0). Enumerated coalitions pass ``N / 2**K`` so the fit equals
        LIME on N sampled rows in expectation; 1 counts each row once (audioLIME's ``"exhaustive"`` mode).
        Implemented as the penalty ``alpha / multiplicity`` (see the module docstring).
    seed : int, optional
        Recorded in the attributions and passed to ``LimeBase`` as its random state.
    prediction : np.ndarray, shape (T,), optional
        Model output on the all-on mask (default: ``outputs[0]``).

    Returns
    -------
    dict of str to Attribution

    Examples
    --------
    >>> z = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    >>> y = z @ np.array([[2.0], [1.0]])
    >>> a = fit_surrogate(z, y, output_names=["y"], component_names=["a", "b"], alpha=0.0)["y"]
    >>> np.round(a.weights, 6).tolist()
    [2.0, 1.0]
    """
    from lime.lime_base import LimeBase
    from sklearn.linear_model import LinearRegression, Ridge

    z = np.asarray(masks, dtype=np.float64)
    y = np.asarray(outputs, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if z.ndim != 2 or y.ndim != 2 or z.shape[0] != y.shape[0]:
        raise ParameterError(f"masks (N, K) and outputs (N, T) must agree in N, got {z.shape} and {y.shape}.")
    if z.shape[0] < 2:
        raise ParameterError("the surrogate needs at least two masks.")
    if not np.all(z[0] == 1):
        raise ParameterError("masks[0] must be the all-ones mask (the unperturbed input).")
    if len(component_names) != z.shape[1] or len(output_names) != y.shape[1]:
        raise ParameterError(
            f"{len(component_names)} component names for {z.shape[1]} columns / {len(output_names)} output "
            f"names for {y.shape[1]} outputs."
        )
    if not np.all(np.isfinite(y)):
        raise ParameterError("outputs contain NaN or infinite values; the surrogate cannot be fitted.")
    if not (np.isfinite(kernel_width) and kernel_width > 0):
        raise ParameterError(f"kernel_width must be a positive number, got {kernel_width!r}.")
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ParameterError(f"alpha must be >= 0, got {alpha!r}.")
    if not (np.isfinite(multiplicity) and multiplicity > 0):
        raise ParameterError(f"multiplicity must be a positive number, got {multiplicity!r}.")
    names = list(output_names)
    targets = names if targets is None else list(targets)
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise ParameterError(f"unknown target(s) {unknown}; the model's outputs are {names}.")
    pred = y[0] if prediction is None else np.asarray(prediction, dtype=np.float64)
    k = z.shape[1]
    distances = mask_distances(z)
    base = LimeBase(partial(kernel, kernel_width=float(kernel_width)), verbose=False, random_state=seed)
    effective = float(alpha) / float(multiplicity)
    result = {}
    for target in targets:
        col = names.index(target)
        regressor = LinearRegression() if alpha == 0 else Ridge(alpha=effective, fit_intercept=True)
        # exactly audioLIME's call: "auto" selection with num_features=100000 keeps all K components
        intercept, exp, score, local_pred = base.explain_instance_with_data(
            z, y, distances, col, max(AUDIOLIME_NUM_FEATURES, k),
            feature_selection=AUDIOLIME_FEATURE_SELECTION, model_regressor=regressor
        )
        weights = np.zeros(k)
        for feature, coef in exp:
            weights[int(feature)] = coef
        result[target] = Attribution(
            target=target,
            component_names=list(component_names),
            weights=weights,
            intercept=float(intercept),
            score=float(score),
            local_prediction=float(np.ravel(local_pred)[0]),
            prediction=float(pred[col]),
            num_samples=int(z.shape[0]),
            seed=seed,
            kernel_width=float(kernel_width),
            info={"source": "lime", "alpha": float(alpha), "multiplicity": float(multiplicity),
                  "effective_alpha": effective},
        )
    return result
