"""mer_audiolime: explainable music-emotion recognition.

Explain a music-emotion prediction as a chain: emotion <- mid-level perceptual features <- sound sources x
time segments (Chowdhury, Praher & Widmer, SMC 2021; audioLIME by Haunschmid, Manilow & Widmer, 2020).

>>> from mer_audiolime import explain                                   # doctest: +SKIP
>>> exp = explain("song.wav", model=my_model, separator="umxhq", segments=10, seed=0)  # doctest: +SKIP

``mer_audiolime.explain`` is the explain subpackage and can be called like :func:`mer_audiolime.explain.explain`.
torch is imported only when a model or separator needs it.
"""

from ._version import __version__  # noqa: E402

from . import explain  # noqa: E402  (a callable package: explain(audio, model=...) runs explain.explain)
from .explain import Attribution, Explanation  # noqa: E402

__all__ = ["__version__", "explain", "Explanation", "Attribution"]
