"""Argument checks shared by every layer, in the spirit of librosa's ``util.valid_*``.

Each check returns the value in its canonical type or raises :class:`~mer_audiolime.exceptions.ParameterError`
with a message naming the argument, the bad value and what is accepted. Use them at the boundary (public
functions, CLI commands, suite files) before any expensive work starts.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from .exceptions import ParameterError

__all__ = ["check_int", "check_seed", "check_float", "check_choice", "check_writable_dir", "SEED_MAX"]

#: Largest seed numpy's generators accept from every entry point (legacy ``RandomState`` included).
SEED_MAX = 2**32 - 1


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]`` (bools and floats are refused).

    Examples
    --------
    >>> check_int(3, "segments", minimum=1)
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be an integer <= {maximum}, got {value}.")
    return value


def check_seed(value, name: str = "seed") -> int:
    """A reproducible seed: an integer in ``[0, 2**32 - 1]``.

    Examples
    --------
    >>> check_seed(0)
    0
    """
    return check_int(value, name, minimum=0, maximum=SEED_MAX)


def check_float(value, name: str, *, minimum: float | None = None, maximum: float | None = None,
                strict_minimum: bool = False) -> float:
    """``value`` as a finite ``float`` within bounds (``strict_minimum``: ``value > minimum``).

    Examples
    --------
    >>> check_float(0.25, "kernel_width", minimum=0, strict_minimum=True)
    0.25
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ParameterError(f"{name} must be a number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be finite, got {value}.")
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        raise ParameterError(f"{name} must be {'>' if strict_minimum else '>='} {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ParameterError(f"{name} must be <= {maximum}, got {value}.")
    return value


def check_choice(value, name: str, choices) -> str:
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("lime", "estimator", ("lime", "shapley"))
    'lime'
    """
    choices = tuple(choices)
    if value not in choices:
        raise ParameterError(f"{name} must be one of {list(choices)}, got {value!r}.")
    return value


def check_writable_dir(path, name: str = "out") -> Path:
    """A folder that exists or can be created, and can be written to; created if missing.

    Raises :class:`ParameterError` when the path is a file, or cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{name} {str(path)!r} is a file, not a folder; pass a folder path.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"cannot create {name} folder {str(path)!r}: {err.strerror or err}.") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise ParameterError(f"{name} folder {str(path)!r} is not writable; pass a folder you can write to.")
    return path
