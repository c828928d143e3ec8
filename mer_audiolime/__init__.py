"""mer_audiolime: explainable music-emotion recognition.

Explain a music-emotion prediction as a chain: emotion <- mid-level perceptual features <- sound sources x
time segments (Chowdhury, Praher & Widmer, SMC 2021; audioLIME by Haunschmid, Manilow & Widmer, 2020).

>>> from mer_audiolime import explain                                   # doctest: +SKIP
>>> exp = explain("song.wav", model=my_model, separator="umxhq", segments=10, seed=0)  # doctest: +SKIP
"""

__version__ = "0.1.0"

__all__ = ["__version__", "explain", "Explanation", "Attribution"]


def __getattr__(name):  # lazy: keep `import mer_audiolime` light (torch is imported only when needed)
    if name in ("explain", "Explanation", "Attribution"):
        from . import explain as _explain_pkg

        return getattr(_explain_pkg, name)
    raise AttributeError(f"module 'mer_audiolime' has no attribute {name!r}")
