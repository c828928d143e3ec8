"""Names shared by every layer (datasets, models, explanations): one definition, imported everywhere."""

__all__ = ["MIDLEVEL_NAMES"]

#: The seven mid-level perceptual features of Aljanaki & Soleymani (2018), in the order used throughout.
MIDLEVEL_NAMES = (
    "melodiousness",
    "articulation",
    "rhythm_complexity",
    "rhythm_stability",
    "dissonance",
    "tonal_stability",
    "minorness",
)
