"""mer_audiolime: explainable music-emotion recognition.

Explain a music-emotion prediction as a chain: emotion <- mid-level perceptual features <- sound sources x
time segments (Chowdhury, Praher & Widmer, SMC 2021; audioLIME by Haunschmid, Manilow & Widmer, 2020).

>>> from mer_audiolime.explain import explain                           # doctest: +SKIP
>>> exp = explain("song.wav", model=my_model, separator="umxhq", segments=10, seed=0)  # doctest: +SKIP

``mer_audiolime.explain`` is the explain subpackage; the function that explains a track is
:func:`mer_audiolime.explain.explain` (calling the subpackage itself, ``mer_audiolime.explain(...)``, still
works but is deprecated). Subpackages load on first use (so ``mer-audiolime --help`` starts fast); torch is
imported only when a model or separator needs it.
"""

from importlib import import_module

from ._version import __version__

__all__ = ["__version__", "explain", "Explanation", "Attribution"]


def __getattr__(name):
    # lazy: the ``mer_audiolime.explain`` subpackage and its two main classes load on first access
    if name == "explain":
        return import_module(".explain", __name__)
    if name in ("Explanation", "Attribution"):
        return getattr(import_module(".explain", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
