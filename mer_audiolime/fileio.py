"""Crash-safe file writing shared by every layer that writes results.

A result file is written to a temporary file in the same folder and renamed over the destination, so a
reader (or a resumed run) sees either the old complete file or the new complete file, never a truncated one.
Files are created with the permissions the user's umask gives a normally created file (``0644`` under the
usual ``022``), not the ``0600`` of :func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "file_digest", "remove_owned", "removing_if_unused"]


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (read in chunks, so any size fits in memory).

    Parameters
    ----------
    path : path-like
    algorithm : str
        A :mod:`hashlib` name: ``"sha256"`` for the package's own checksums, ``"md5"`` for mirdata indexes.

    Returns
    -------
    str

    Examples
    --------
    >>> file_digest("model.pt")                                        # doctest: +SKIP
    '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``); parents are created.

    Parameters
    ----------
    path : path-like
        Destination file.
    data : bytes

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> atomic_write_bytes("out/x.bin", b"123")                         # doctest: +SKIP
    PosixPath('out/x.bin')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # O_EXCL + mode 0o666: the process umask applies, as for any file the user creates
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path, text: str, *, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` for text.

    Examples
    --------
    >>> atomic_write_text("out/run.json", "{}")                         # doctest: +SKIP
    PosixPath('out/run.json')
    """
    return atomic_write_bytes(path, text.encode(encoding))


def remove_owned(folder, names) -> list:
    """Delete the files and folders ``names`` inside ``folder`` that exist (what a command owns there).

    Used before a command rewrites its output set, so a rerun never leaves a stale member of an earlier set
    beside the new ones. Nothing outside ``names`` is touched.

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    removed = []
    for name in names:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
            removed.append(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
            removed.append(target)
    return removed


class removing_if_unused:
    """Context manager: if the block fails and ``folder`` did not exist before it and is still empty, remove
    it, so a command refused during its checks leaves no trace.

    Examples
    --------
    >>> with removing_if_unused("out/run"):                             # doctest: +SKIP
    ...     check_everything()
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.existed = self.folder.exists()

    def __enter__(self):
        return self.folder

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and not self.existed and self.folder.is_dir():
            try:
                self.folder.rmdir()  # only succeeds when empty
            except OSError:
                pass
        return False
