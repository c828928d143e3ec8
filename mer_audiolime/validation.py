"""Argument checks shared by every layer, in the spirit of librosa's ``util.valid_*``.

Each check returns the value in its canonical type or raises :class:`~mer_audiolime.exceptions.ParameterError`
with a message naming the argument, the bad value and what is accepted. Use them at the boundary (public
functions, CLI commands, suite files) before any expensive work starts.
"""

from __future__ import annotations

import numbers
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from .exceptions import ParameterError

__all__ = ["check_int", "check_seed", "check_float", "check_choice", "check_writable_dir",
           "check_writable_file", "usable_dir", "check_names", "check_dask_address", "SEED_MAX"]

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


def _probe(path: Path) -> None:
    """Create and delete a file in ``path``: the only test of writability that holds for root and read-only
    mounts alike (``os.access`` answers yes to root whatever the mount says)."""
    probe = path / f".mer_audiolime_write_probe_{os.getpid()}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(probe)


def check_writable_dir(path, name: str = "out") -> Path:
    """A folder that exists or can be created, and can be written to; created if missing.

    Raises :class:`ParameterError` when the path is a file, or cannot be created or written.

    Examples
    --------
    >>> check_writable_dir("results/run1")                              # doctest: +SKIP
    PosixPath('results/run1')
    """
    if path is None or str(path) == "":
        raise ParameterError(f"{name} must be a folder path, got {path!r}.")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{name} {str(path)!r} is a file, not a folder; pass a folder path.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"cannot create {name} folder {str(path)!r}: {err.strerror or err}; pass a "
                             "folder you can write to.") from err
    try:
        _probe(path)
    except OSError as err:
        raise ParameterError(f"{name} folder {str(path)!r} is not writable ({err.strerror or err}); pass a "
                             "folder you can write to.") from err
    return path


def check_writable_file(path, name: str = "out", *, suffixes=None) -> Path:
    """A file path that can be written: not a folder, with a writable (or creatable) parent folder.

    Parameters
    ----------
    path : path-like
    name : str
        Argument name used in messages.
    suffixes : sequence of str, optional
        Accepted file extensions (lower case, with the dot), e.g. ``(".html", ".htm")``.

    Examples
    --------
    >>> check_writable_file("out/report.html", suffixes=(".html",))     # doctest: +SKIP
    PosixPath('out/report.html')
    """
    if path is None or str(path) == "":
        raise ParameterError(f"{name} must be a file path, got {path!r}.")
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{name} {str(path)!r} is a folder; pass the path of a file to write.")
    if suffixes is not None and path.suffix.lower() not in tuple(suffixes):
        raise ParameterError(f"{name} {str(path)!r} must end in one of {list(suffixes)}.")
    check_writable_dir(path.parent if str(path.parent) else Path("."), name=f"folder of {name}")
    return path


def usable_dir(path) -> tuple[Path | None, str | None]:
    """``(path, None)`` if ``path`` is (or can be made) a writable folder, else ``(None, reason)``.

    For optional folders such as caches: the caller skips them with a warning instead of failing.

    Examples
    --------
    >>> usable_dir("/proc/no/cache")[0] is None                          # doctest: +SKIP
    True
    """
    try:
        return check_writable_dir(path, name="cache"), None
    except ParameterError as err:
        return None, str(err)


def check_names(values, name: str, *, available=None, allow_none: bool = True) -> list | None:
    """A non-empty list of distinct, non-blank strings (each in ``available`` when given), or None.

    A single string is one name. An empty list is refused: it would select nothing, which never is what
    was meant (pass None for "all").

    Examples
    --------
    >>> check_names("valence", "targets", available=["valence", "arousal"])
    ['valence']
    """
    if values is None:
        if allow_none:
            return None
        raise ParameterError(f"{name} must name at least one entry, got None.")
    if isinstance(values, str):
        values = [values]
    try:
        values = list(values)
    except TypeError:
        raise ParameterError(f"{name} must be a list of names, got {values!r}.") from None
    if not values:
        raise ParameterError(f"{name} is empty, which selects nothing; pass None (or omit it) for all, or "
                             "name at least one.")
    bad = [v for v in values if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ParameterError(f"{name} must be non-empty strings, got {bad!r}.")
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ParameterError(f"{name} lists {dupes} more than once; name each once.")
    if available is not None:
        available = list(available)
        unknown = [v for v in values if v not in available]
        if unknown:
            raise ParameterError(f"unknown {name} {unknown}; choose from {available}.")
    return values


def check_dask_address(address, *, timeout: float = 5.0) -> str:
    """A dask.distributed scheduler address that answers a TCP connection within ``timeout`` seconds.

    Checked before any work is scheduled, so an unreachable scheduler fails in seconds with a clear message
    instead of after the client's own (30 s) timeout.

    Examples
    --------
    >>> check_dask_address("tcp://127.0.0.1:1")                         # doctest: +SKIP
    Traceback (most recent call last):
    ...
    mer_audiolime.exceptions.ParameterError: cannot reach the dask scheduler at 'tcp://127.0.0.1:1' ...
    """
    if not isinstance(address, str) or not address.strip():
        raise ParameterError(f"dask_scheduler must be an address like tcp://host:8786, got {address!r}.")
    text = address.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise ParameterError(f"dask_scheduler {address!r} is not a scheduler address; use tcp://host:port "
                             "(e.g. tcp://127.0.0.1:8786).")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ParameterError(
            f"cannot reach the dask scheduler at {address!r} ({reason}, waited up to {timeout:g} s); start "
            "it (`dask scheduler`) or check the address, or drop --dask-scheduler to run locally."
        ) from err
    return text
