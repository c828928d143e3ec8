"""Models: the Predictor contract and adapters (bring your own model), frontends, architectures and the zoo."""

from .predictor import (
    CallablePredictor,
    Predictor,
    TorchPredictor,
    as_predictor,
    check_predictor,
    load_predictor,
    predict_batched,
)

__all__ = [
    "Predictor",
    "CallablePredictor",
    "TorchPredictor",
    "as_predictor",
    "check_predictor",
    "load_predictor",
    "predict_batched",
]
