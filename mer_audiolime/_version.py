"""The package version, and the versions of the packages that determine its numbers, in a module of its own
so that any layer can read them without importing the package root (which imports the explain layer)."""

from __future__ import annotations

import importlib
import platform
from importlib import metadata

from .validation import check_choice

__all__ = ["__version__", "package_versions", "RUN_PACKAGES", "CHECKPOINT_PACKAGES"]

__version__ = "0.1.0"

#: Distributions recorded in a run's manifest (the evaluation harness and the benchmarks).
RUN_PACKAGES = ("mer_audiolime", "numpy", "scipy", "scikit-learn", "lime", "torch", "torchaudio", "librosa",
                "openunmix", "mirdata", "pandas", "seaborn", "joblib", "dask")

#: Packages recorded in a model card (a trained model or separator): what its weights depend on.
CHECKPOINT_PACKAGES = ("torch", "numpy", "mer_audiolime", "librosa")

#: Import names of the distributions whose module is named differently.
_MODULES = {"scikit-learn": "sklearn"}


def package_versions(packages=RUN_PACKAGES, *, source: str = "distribution") -> dict:
    """Versions of Python and of ``packages`` (those not installed are left out).

    Parameters
    ----------
    packages : sequence of str
        Distribution names, e.g. :data:`RUN_PACKAGES` or :data:`CHECKPOINT_PACKAGES`.
    source : {"distribution", "module"}
        ``"distribution"`` reads the installed metadata (``torch`` as ``2.11.0``); ``"module"`` reads the
        imported module's ``__version__``, which keeps a local build tag (``2.11.0+cu130``) and is what the
        model cards record.

    Returns
    -------
    dict
        ``{"python": "3.11.9", name: version, ...}`` in the order of ``packages``.

    Examples
    --------
    >>> sorted(package_versions(["numpy"]))
    ['numpy', 'python']
    """
    check_choice(source, "source", ("distribution", "module"))
    out = {"python": platform.python_version()}
    for name in packages:
        if name == "mer_audiolime" and source == "module":
            out[name] = __version__
            continue
        try:
            if source == "distribution":
                out[name] = metadata.version(name)
            else:
                out[name] = importlib.import_module(_MODULES.get(name, name)).__version__
        except (metadata.PackageNotFoundError, ImportError):
            pass
    return out
