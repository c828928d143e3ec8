"""Names shared by every layer (datasets, models, explanations): one definition, imported everywhere."""

__all__ = ["MIDLEVEL_NAMES", "EMOTION_NAMES"]

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

#: The two dimensions of the circumplex emotion model, in the order the zoo models and the synthetic set use
#: (datasets keep the column order of their own files).
EMOTION_NAMES = ("valence", "arousal")
