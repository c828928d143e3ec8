"""The LIME surrogate, fitted through ``lime.lime_base.LimeBase`` with audioLIME's defaults.

Arrays in, attributions out: this module never touches audio. Defaults follow audioLIME: cosine distance of
each mask to the all-on mask, kernel ``sqrt(exp(-d**2 / w**2))`` with ``w = 0.25``, and ``Ridge(alpha=1)``
fitted with the kernel values as sample weights on all components (no feature selection).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Sequence

import numpy as np

from ..exceptions import ParameterError

__all__ = ["Attribution", "kernel", "mask_distances", "kernel_weights", "fit_surrogate", "DEFAULT_KERNEL_WIDTH"]

DEFAULT_KERNEL_WIDTH = 0.25


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
        Extra provenance (e.g. ``{"derived": "chain"}``).
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
    names = list(output_names)
    targets = names if targets is None else list(targets)
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise ParameterError(f"unknown target(s) {unknown}; the model's outputs are {names}.")
    pred = y[0] if prediction is None else np.asarray(prediction, dtype=np.float64)
    k = z.shape[1]
    distances = mask_distances(z)
    base = LimeBase(partial(kernel, kernel_width=float(kernel_width)), verbose=False, random_state=seed)
    result = {}
    for target in targets:
        col = names.index(target)
        regressor = LinearRegression() if alpha == 0 else Ridge(alpha=float(alpha), fit_intercept=True)
        intercept, exp, score, local_pred = base.explain_instance_with_data(
            z, y, distances, col, k, feature_selection="none", model_regressor=regressor
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
        )
    return result
