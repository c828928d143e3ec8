"""Metrics of explanation quality: fidelity, stability, sanity and bias (one class each, one registry).

Every metric derives from :class:`Metric` (declared ``name``, ``primary``, ``direction``, ``category``; NaN is
an :class:`~mer_audiolime.exceptions.EvaluationError`) through the base of its call shape
(:class:`ExplanationMetric`, :class:`ExplanationSetMetric`, :class:`FrameMetric`) and is listed in
:data:`METRICS`. Metrics that need
model outputs draw them through the explanation's prediction cache. Definitions, costs and citations:
``docs/metrics.md``.
"""

from .base import (
    METRICS,
    CachedOracle,
    ExplanationMetric,
    ExplanationSetMetric,
    FrameMetric,
    Metric,
    check_finite,
    get_metric,
    register,
)
from .bias import (
    PlantedBias,
    SubgroupEffectProfile,
    SubgroupError,
    SubgroupErrorShare,
    SubgroupTopStems,
    benjamini_hochberg,
    effect_frame,
    mann_whitney,
    planted_bias_scores,
    stem_frame,
    top_stems,
)
from .convergence import Convergence, MaxSensitivity, add_noise
from .curves import DeletionInsertion, order_masks
from .fidelity import FaithfulnessCorrelation, Infidelity, ReconstructionGap, SurrogateR2, removal_subsets
from .sanity import LabelRandomisation, ParameterRandomisation, PermutedLabels, randomisable_layers
from .stability import KendallTau, StabilityIndices, TopKJaccard, coefficient_intervals, csi, top_k_sets, vsi

__all__ = [
    "Metric",
    "ExplanationMetric",
    "ExplanationSetMetric",
    "FrameMetric",
    "METRICS",
    "register",
    "get_metric",
    "check_finite",
    "CachedOracle",
    "SurrogateR2",
    "ReconstructionGap",
    "FaithfulnessCorrelation",
    "Infidelity",
    "DeletionInsertion",
    "TopKJaccard",
    "KendallTau",
    "StabilityIndices",
    "Convergence",
    "MaxSensitivity",
    "ParameterRandomisation",
    "LabelRandomisation",
    "PlantedBias",
    "SubgroupError",
    "SubgroupErrorShare",
    "SubgroupEffectProfile",
    "SubgroupTopStems",
    "benjamini_hochberg",
    "planted_bias_scores",
    "mann_whitney",
    "stem_frame",
    "effect_frame",
    "top_stems",
    "vsi",
    "csi",
    "coefficient_intervals",
    "top_k_sets",
    "removal_subsets",
    "order_masks",
    "add_noise",
    "PermutedLabels",
    "randomisable_layers",
]
