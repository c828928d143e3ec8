"""Bias detection: planted-shortcut scoring on the synthetic suite, and subgroup analysis on real data.

Inputs are tidy frames (one row per track, or per track x stem / feature), built with :func:`stem_frame` and
:func:`effect_frame` from explanations. Tests between a subgroup and the rest use the two-sided Mann-Whitney U
test (``scipy.stats.mannwhitneyu``) and every family of tests is corrected with Benjamini-Hochberg
(:func:`benjamini_hochberg`, implemented in the package: statsmodels is not a dependency).

The metrics live in :mod:`~mer_audiolime.evaluation.metrics.planted_bias` (planted shortcuts) and
:mod:`~mer_audiolime.evaluation.metrics.subgroup_bias` (subgroups), the frames and tests they share in
:mod:`~mer_audiolime.evaluation.metrics.bias_tools`; every name is re-exported here. Importing this module
registers the planted-bias metric before the subgroup metrics, in that order.
"""

from __future__ import annotations

from .bias_tools import benjamini_hochberg, effect_frame, mann_whitney, stem_frame, top_stems
from .planted_bias import PlantedBias, planted_bias_scores
from .subgroup_bias import SubgroupEffectProfile, SubgroupError, SubgroupErrorShare, SubgroupTopStems

__all__ = [
    "PlantedBias",
    "SubgroupError",
    "SubgroupErrorShare",
    "SubgroupEffectProfile",
    "SubgroupTopStems",
    "benjamini_hochberg",
    "mann_whitney",
    "stem_frame",
    "effect_frame",
    "top_stems",
    "planted_bias_scores",
]
