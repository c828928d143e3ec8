"""One error tree for the whole package.

Every error the package raises on purpose derives from :class:`MerAudioLimeError`, so callers can catch
the package's errors in one place while still distinguishing the kind of problem. Messages name the bad
value and say how to fix it.
"""

__all__ = [
    "MerAudioLimeError",
    "ParameterError",
    "AudioError",
    "AudioDecodeError",
    "EmptyAudioError",
    "NonFiniteAudioError",
    "SilentAudioError",
    "AudioTooShortError",
    "SeparationError",
    "DatasetError",
    "IndexMissingError",
    "ModelError",
    "WeightsError",
    "ChecksumError",
    "EvaluationError",
    "IntegrityError",
    "MerAudioLimeWarning",
    "ExplanationWarning",
    "TruncatedAudioWarning",
]


class MerAudioLimeError(Exception):
    """Base class of every error raised by mer_audiolime."""


class ParameterError(MerAudioLimeError, ValueError):
    """An argument has a bad value or type (also a :class:`ValueError`)."""


class AudioError(MerAudioLimeError, ValueError):
    """Audio that cannot be used: unreadable, empty, non-finite, silent or too short."""


class AudioDecodeError(AudioError):
    """A file could not be decoded as audio (missing, corrupt, or not an audio file)."""


class EmptyAudioError(AudioError):
    """The signal has no samples."""


class NonFiniteAudioError(AudioError):
    """The signal contains NaN or infinite samples."""


class SilentAudioError(AudioError):
    """The signal is digitally silent: nothing to explain."""


class AudioTooShortError(AudioError):
    """The signal is shorter than the requested segmentation or the model needs."""


class SeparationError(MerAudioLimeError):
    """A source separator failed or returned stems of the wrong shape."""


class DatasetError(MerAudioLimeError):
    """A dataset is missing, malformed, or was asked for something it does not have."""


class IndexMissingError(DatasetError):
    """A dataset loader has no index file yet; build one from a local copy of the data."""


class ModelError(MerAudioLimeError):
    """A model or predictor is misconfigured or returned output of the wrong shape."""


class WeightsError(ModelError):
    """Model weights are missing (offline) or cannot be loaded."""


class ChecksumError(WeightsError):
    """A weights file does not match its published sha256: nothing was loaded."""


class EvaluationError(MerAudioLimeError):
    """A metric could not be computed (e.g. it would be NaN)."""


class IntegrityError(EvaluationError):
    """A finished result file is damaged or does not match the record that vouches for it (``report``
    refuses such a folder; ``evaluate`` recomputes damaged per-track files)."""


class MerAudioLimeWarning(UserWarning):
    """Base class of the warnings mer_audiolime emits (filter them with ``warnings.simplefilter``)."""


class ExplanationWarning(MerAudioLimeWarning):
    """An explanation was computed but cannot be fully trusted (also listed in ``Explanation.warnings``)."""


class TruncatedAudioWarning(MerAudioLimeWarning):
    """A file decoded to fewer samples than its header declares: only the decodable part was used."""
