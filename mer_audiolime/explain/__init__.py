"""Explanations: components (stems x segments, TF grid), separation, sampling, the LIME surrogate and the
other estimators (Shapley values, occlusion), mid-level effects and the chain, and listenable exports.

The entry point is the function :func:`mer_audiolime.explain.explain`:

>>> from mer_audiolime.explain import explain                        # doctest: +SKIP
>>> exp = explain("song.wav", model="zoo-model", segments=10, seed=0)  # doctest: +SKIP

Names load on first use (``from mer_audiolime.explain import explain`` imports what ``explain`` needs), so
importing a submodule such as the command-line parser stays light.
"""

import sys
import warnings
from importlib import import_module

#: Public name -> submodule that defines it.
_LAZY = {
    "explain": "lime_audio", "Explanation": "explanation", "Components": "composition",
    "build_components": "components", "segment_bounds": "segments", "tf_grid_components": "components",
    "export_audio": "export", "chain_attributions": "midlevel", "midlevel_effects": "midlevel",
    "relative_effects": "midlevel", "effects_vs_reference": "midlevel", "PredictionCache": "sampling",
    "sample_masks": "sampling", "all_coalitions": "sampling", "SAMPLERS": "samplers",
    "Separator": "separation", "OracleSeparator": "separation", "OpenUnmixSeparator": "openunmix_separator",
    "CachedSeparator": "separation_cache", "get_separator": "separation", "Attribution": "surrogate",
    "fit_surrogate": "surrogate", "kernel_weights": "surrogate", "fit_adjusted_surrogate": "adjustment",
    "ESTIMATORS": "estimators",
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


#: What a call of the package itself says (``from mer_audiolime import explain; explain(...)``).
DEPRECATED_CALL = ("calling the package mer_audiolime.explain is deprecated and will stop working; call the "
                   "function instead: `from mer_audiolime.explain import explain`")


class _DeprecatedCallablePackage(type(sys)):
    """Keeps the old call ``from mer_audiolime import explain; explain(audio, ...)`` working, with a
    :class:`DeprecationWarning`, while code moves to the function :func:`explain` of this package. The
    package is otherwise an ordinary module; this class goes when the old call path is removed."""

    def __call__(self, *args, **kwargs):
        warnings.warn(DEPRECATED_CALL, DeprecationWarning, stacklevel=2)
        return import_module(f"{__name__}.lime_audio").explain(*args, **kwargs)


sys.modules[__name__].__class__ = _DeprecatedCallablePackage
