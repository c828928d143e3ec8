"""Explanations: components (stems x segments, TF grid), separation, sampling, the LIME surrogate and the
other estimators (Shapley values, occlusion), mid-level effects and the chain, and listenable exports.

Names load on first use (``from mer_audiolime.explain import explain`` imports what ``explain`` needs), so
importing a submodule such as the command-line parser stays light.
"""

import sys
from importlib import import_module

#: Public name -> submodule that defines it.
_LAZY = {
    "explain": "lime_audio", "Explanation": "lime_audio", "Components": "components",
    "build_components": "components", "segment_bounds": "components", "tf_grid_components": "components",
    "export_audio": "export", "chain_attributions": "midlevel", "midlevel_effects": "midlevel",
    "relative_effects": "midlevel", "effects_vs_reference": "midlevel", "PredictionCache": "sampling",
    "sample_masks": "sampling", "all_coalitions": "sampling", "SAMPLERS": "samplers",
    "Separator": "separation", "OracleSeparator": "separation", "OpenUnmixSeparator": "separation",
    "CachedSeparator": "separation", "get_separator": "separation", "Attribution": "surrogate",
    "fit_surrogate": "surrogate", "kernel_weights": "surrogate", "ESTIMATORS": "estimators",
    "exact_shapley": "estimators", "sampled_shapley": "estimators", "list_separators": "separators",
    "separator_card": "separators", "separation_sdr": "separators.sdr", "signal_sdr": "separators.sdr",
    "signal_si_sdr": "separators.sdr", "summarize_sdr": "separators.sdr",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _CallableModule(type(sys)):
    """Lets ``from mer_audiolime import explain; explain(audio, model=...)`` call :func:`explain` while
    ``mer_audiolime.explain`` stays an ordinary package for ``import mer_audiolime.explain.surrogate``."""

    def __call__(self, *args, **kwargs):
        return import_module(f"{__name__}.lime_audio").explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
