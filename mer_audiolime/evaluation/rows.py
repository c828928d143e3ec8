"""The tidy row format of the harness: its columns, how a table of rows is read, and the per-track files.

Each track of a run writes its rows to ``<out>/tracks/<track_id>.csv``, closed by a trailer line with the row
count and the sha256 of the rows, so a resumed run can tell a finished file from a cut or altered one. The
runner writes these files and the results module collects them; both take the format from here.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from ..exceptions import IntegrityError
from ..fileio import atomic_write_text

__all__ = ["ROW_COLUMNS", "TRACK_TRAILER", "read_rows", "write_track_file", "read_track_file"]

#: Columns of the tidy per-example rows (one measured number each). ``source`` names the attribution a row
#: measures (``"lime"``, ``"chain:lime"`` ...; see :meth:`~mer_audiolime.explain.Explanation.attribution`),
#: empty for rows about the model alone (predictions, errors, reconstruction gap, model calls).
ROW_COLUMNS = ["track_id", "model", "target", "metric", "value", "component", "step", "seed", "num_samples",
               "k_components", "suite", "version", "source"]


#: First characters of the line that closes every per-track file: ``# mer_audiolime track rows=N sha256=H``.
TRACK_TRAILER = "# mer_audiolime track"


def read_rows(path) -> pd.DataFrame:
    """Tidy rows from a CSV written by the harness (empty strings stay empty strings)."""
    return pd.read_csv(path, dtype={"track_id": str, "component": str, "target": str, "source": str},
                       keep_default_na=False)


def write_track_file(path, frame: pd.DataFrame) -> Path:
    """Write a track's rows as CSV closed by a trailer ``# mer_audiolime track rows=N sha256=H`` (atomically).

    The trailer proves the file complete and unaltered: :func:`read_track_file` checks both.
    """
    body = frame.to_csv(index=False)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return atomic_write_text(path, f"{body}{TRACK_TRAILER} rows={len(frame)} sha256={digest}\n")


def read_track_file(path) -> pd.DataFrame:
    """Read a per-track file and verify its trailer.

    Raises
    ------
    IntegrityError
        The file is unreadable, lacks its trailer (cut short, or written by an older version), does not match
        its checksum or row count, or does not hold the row columns. The message names the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise IntegrityError(f"{path}: unreadable ({type(err).__name__}: {err}).") from err
    body, sep, last = text.rstrip("\n").rpartition("\n")
    if not sep or not last.startswith(TRACK_TRAILER + " "):
        raise IntegrityError(f"{path}: no completeness trailer (the file was cut short, altered, or written "
                             "by an older version).")
    try:
        fields = dict(part.split("=", 1) for part in last[len(TRACK_TRAILER) + 1:].split())
        n_rows, digest = int(fields["rows"]), fields["sha256"]
    except (KeyError, ValueError) as err:
        raise IntegrityError(f"{path}: malformed trailer {last!r}.") from err
    body += "\n"
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != digest:
        raise IntegrityError(f"{path}: its rows do not match the checksum in its trailer (the file was "
                             "altered).")
    try:
        frame = read_rows(io.StringIO(body))
    except Exception as err:  # pandas raises several types on malformed CSV
        raise IntegrityError(f"{path}: not a table of rows ({type(err).__name__}: {err}).") from err
    if list(frame.columns) != ROW_COLUMNS or len(frame) != n_rows:
        raise IntegrityError(f"{path}: expected {n_rows} rows with columns {ROW_COLUMNS}, found {len(frame)} "
                             f"rows with {list(frame.columns)}.")
    return frame
