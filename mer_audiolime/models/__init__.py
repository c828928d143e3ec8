"""Models: the Predictor contract and adapters (bring your own model), frontends, architectures and the zoo.

The adapters import without torch; the torch parts (frontend, architectures, heads, zoo, training) load on
first use, e.g. ``from mer_audiolime.models import load_model, to_predictor``.
"""

from importlib import import_module

from .predictor import (
    CallablePredictor,
    Predictor,
    TorchPredictor,
    check_predictor,
    import_object,
    load_predictor,
    predict_batched,
)

#: Lazily imported names -> submodule.
_LAZY = {
    "Frontend": "frontend",
    "log_frequency_filterbank": "frontend",
    "RFResNet": "architectures",
    "VGGish": "architectures",
    "ARCHITECTURES": "architectures",
    "build_backbone": "architectures",
    "MERModel": "heads",
    "MidLevelEmotionHead": "heads",
    "DirectEmotionHead": "heads",
    "MIDLEVEL_NAMES": "heads",
    "build_model": "heads",
    "to_predictor": "heads",
    "ModelCard": "checkpoint",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "list_models": "zoo",
    "model_card": "zoo",
    "register_model": "zoo",
    "load_model": "zoo",
    "pretrained_predictor": "zoo",
    "as_predictor": "spec",  # a model spec or an object; predictor.as_predictor wraps objects only
    "ModelSpec": "spec",
    "ResolvedModel": "spec",
    "parse_model_spec": "spec",
    "resolve_model": "spec",
    "TrainConfig": "training",
    "train": "training",
    "evaluate": "training",
}

__all__ = [
    "Predictor",
    "CallablePredictor",
    "TorchPredictor",
    "check_predictor",
    "import_object",
    "load_predictor",
    "predict_batched",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
