"""Loading, validation, resampling and channel handling: the package's audio front.

All signals inside the package are ``float32`` arrays shaped ``(channels, samples)``; a 1-D input is taken
to be mono and becomes ``(1, samples)``. Decoding files lives in :mod:`mer_audiolime.audio_decode` (the only
module that decodes audio files), in-memory signals in :mod:`mer_audiolime.audio_signal`; every name is
re-exported here.
"""

from __future__ import annotations

from .audio_decode import AudioSource, audio_duration, load_audio, read_audio, truncation_message
from .audio_signal import (
    PCM_FULL_SCALE,
    SILENCE_PEAK,
    as_channels_first,
    audio_fingerprint,
    conform,
    resample,
    to_channels,
    validate_audio,
)

__all__ = [
    "AudioSource",
    "SILENCE_PEAK",
    "load_audio",
    "read_audio",
    "validate_audio",
    "as_channels_first",
    "to_channels",
    "resample",
    "conform",
    "audio_fingerprint",
    "audio_duration",
    "truncation_message",
    "PCM_FULL_SCALE",
]
