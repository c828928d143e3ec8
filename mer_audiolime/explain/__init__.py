"""Explanations: components (stems x segments, TF grid), separation, sampling, the LIME surrogate and the
other estimators (Shapley values, occlusion), mid-level effects and the chain, and listenable exports."""

from .components import Components, build_components, segment_bounds, tf_grid_components
from .estimators import ESTIMATORS, exact_shapley, sampled_shapley
from .export import export_audio
from .lime_audio import Explanation, explain
from .midlevel import chain_attributions, effects_vs_reference, midlevel_effects, relative_effects
from .sampling import PredictionCache, all_coalitions, sample_masks
from .separation import CachedSeparator, OpenUnmixSeparator, OracleSeparator, Separator, get_separator
from .separators import list_separators, separator_card
from .separators.sdr import separation_sdr, signal_sdr, signal_si_sdr, summarize_sdr
from .surrogate import Attribution, fit_surrogate, kernel_weights

__all__ = [
    "explain", "Explanation", "Attribution", "Components", "build_components", "segment_bounds",
    "tf_grid_components", "export_audio", "chain_attributions", "midlevel_effects", "relative_effects",
    "effects_vs_reference", "PredictionCache", "sample_masks", "Separator", "OracleSeparator",
    "OpenUnmixSeparator", "CachedSeparator", "get_separator", "fit_surrogate", "kernel_weights", "ESTIMATORS",
    "exact_shapley", "sampled_shapley", "all_coalitions",
    "list_separators", "separator_card", "separation_sdr", "signal_sdr", "signal_si_sdr", "summarize_sdr",
]


class _CallableModule(type(__import__("sys"))):
    """Lets ``from mer_audiolime import explain; explain(audio, model=...)`` call :func:`explain` while
    ``mer_audiolime.explain`` stays an ordinary package for ``import mer_audiolime.explain.surrogate``."""

    def __call__(self, *args, **kwargs):
        return explain(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
