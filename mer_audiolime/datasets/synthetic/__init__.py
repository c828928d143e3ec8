"""Synthetic multitrack benchmark with known truth (a mirdata-style loader and its generator).

Clips are rendered from generated MIDI through a General-MIDI SoundFont, one exact stem per source
(``vocals``, ``piano``, ``bass``, ``drums``, ``other``; the mix is their exact sum). Generation parameters
control mid-level qualities through known stems, so each clip comes with its 7 mid-level targets, emotion
targets from a documented linear map, and a ground-truth relevance table (which stems drive which target).
A planted-bias variant raises valence of training and validation clips with vocals; with ``cues=True`` the
generator adds the synthetic-v2 task variants (redundant, interacting, time-local and confounded shortcuts,
:mod:`.tasks`) over audio with cue ornaments (:mod:`.cues`). See ``datasets/synthetic/README.md``.

Examples
--------
>>> from mer_audiolime.datasets.synthetic import generate, Dataset      # doctest: +SKIP
>>> generate("synth", n=200, seed=0)                                     # doctest: +SKIP
>>> track = Dataset(data_home="synth", version="biased").choice_track()  # doctest: +SKIP
>>> track.relevance                                                      # doctest: +SKIP
"""

import sys
from importlib import import_module

#: Public name -> submodule (loaded on first use: the generator and mirdata stay out of ``--help``).
_LAZY = {
    **dict.fromkeys(("DEV_SPLITS", "NAME", "NOCUE_SUFFIX", "SPLITS", "VARIANTS", "assign_splits", "generate",
                     "render_clip", "track_id"), "generate"),
    **dict.fromkeys(("CUE_STEMS", "CUES", "ORNAMENT_CUES", "assign_cues", "ornament", "ornaments"), "cues"),
    **dict.fromkeys(("BENCHMARKS", "V1_GENERATE", "V2_GENERATE", "benchmark_settings"), "settings"),
    **dict.fromkeys(("ALL_VARIANTS", "CUE_VARIANTS", "TASKS", "TRUTH_COLUMNS", "V1_VARIANTS", "Task",
                     "credit_rows", "fires", "task"), "tasks"),
    **dict.fromkeys(("BIBTEX", "DOWNLOAD_INFO", "INDEXES", "LICENSE_INFO", "REMOTES", "Dataset", "Track",
                     "load_audio", "load_midi", "load_stems"), "loader"),
    **dict.fromkeys(("QUALITY_PARAMS", "STEMS", "ClipParams", "compose", "draw_params"), "score"),
    **dict.fromkeys(("EMOTION_WEIGHTS", "EMOTIONS", "MIDLEVEL", "NOISE_SD", "PARAM_TARGET", "RELEVANCE",
                     "SHORTCUT", "emotion_targets", "midlevel_targets", "relevance_frame", "relevance_table"),
                    "truth"),
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(type(sys)):
    """``generate`` names both a submodule and its main function; importing the submodule binds the
    module to the package, so keep the function there instead (as ``from .generate import generate`` did)."""

    def __setattr__(self, name, value):
        if name == "generate" and isinstance(value, type(sys)):
            value = value.generate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "generate", "render_clip", "Dataset", "Track", "load_audio", "load_stems", "load_midi",
    "BIBTEX", "LICENSE_INFO", "DOWNLOAD_INFO", "INDEXES", "REMOTES", "NAME", "VARIANTS", "SPLITS",
    "STEMS", "MIDLEVEL", "EMOTIONS", "QUALITY_PARAMS", "RELEVANCE", "PARAM_TARGET", "EMOTION_WEIGHTS",
    "NOISE_SD", "SHORTCUT", "ClipParams", "draw_params", "compose", "midlevel_targets", "emotion_targets",
    "relevance_table", "relevance_frame", "assign_splits", "track_id", "DEV_SPLITS", "NOCUE_SUFFIX",
    "CUES", "CUE_STEMS", "ORNAMENT_CUES", "assign_cues", "ornament", "ornaments",
    "BENCHMARKS", "V1_GENERATE", "V2_GENERATE", "benchmark_settings",
    "Task", "TASKS", "V1_VARIANTS", "CUE_VARIANTS", "ALL_VARIANTS", "TRUTH_COLUMNS", "task", "fires",
    "credit_rows",
]
