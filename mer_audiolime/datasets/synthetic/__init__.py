"""Synthetic multitrack benchmark with known truth (a mirdata-style loader and its generator).

Clips are rendered from generated MIDI through a General-MIDI SoundFont, one exact stem per source
(``vocals``, ``piano``, ``bass``, ``drums``, ``other``; the mix is their exact sum). Generation parameters
control mid-level qualities through known stems, so each clip comes with its 7 mid-level targets, emotion
targets from a documented linear map, and a ground-truth relevance table (which stems drive which target).
A planted-bias variant raises valence of training and validation clips with vocals. See ``datasets/synthetic/README.md``.

Examples
--------
>>> from mer_audiolime.datasets.synthetic import generate, Dataset      # doctest: +SKIP
>>> generate("synth", n=200, seed=0)                                     # doctest: +SKIP
>>> track = Dataset(data_home="synth", version="biased").choice_track()  # doctest: +SKIP
>>> track.relevance                                                      # doctest: +SKIP
"""

from .generate import NAME, SPLITS, VARIANTS, assign_splits, generate, track_id
from .loader import (BIBTEX, DOWNLOAD_INFO, INDEXES, LICENSE_INFO, REMOTES, Dataset, Track, load_audio,
                     load_midi, load_stems)
from .score import QUALITY_PARAMS, STEMS, ClipParams, compose, draw_params
from .truth import (EMOTION_WEIGHTS, EMOTIONS, MIDLEVEL, NOISE_SD, PARAM_TARGET, RELEVANCE, SHORTCUT,
                    emotion_targets, midlevel_targets, relevance_frame, relevance_table)

__all__ = [
    "generate", "Dataset", "Track", "load_audio", "load_stems", "load_midi",
    "BIBTEX", "LICENSE_INFO", "DOWNLOAD_INFO", "INDEXES", "REMOTES", "NAME", "VARIANTS", "SPLITS",
    "STEMS", "MIDLEVEL", "EMOTIONS", "QUALITY_PARAMS", "RELEVANCE", "PARAM_TARGET", "EMOTION_WEIGHTS",
    "NOISE_SD", "SHORTCUT", "ClipParams", "draw_params", "compose", "midlevel_targets", "emotion_targets",
    "relevance_table", "relevance_frame", "assign_splits", "track_id",
]
