"""CSV parsing shared by the loaders: tolerant of the datasets' quirks, strict about values.

Header cells are stripped (DEAM's column names start with a space), separators are explicit or sniffed, and a
cell that should be a number but is not raises :class:`DatasetError` naming the file, line and column — never
a NaN that would silently become a wrong training target.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from ..exceptions import DatasetError

__all__ = ["to_float", "read_table", "clean_id", "rows_by_id", "dynamic_from_wide", "merge_dynamic"]


def to_float(value, *, where: str, column: str, allow_missing: bool = False):
    """Parse one numeric cell; a non-number raises :class:`DatasetError` naming file, row and column."""
    text = "" if value is None else str(value).strip()
    if text == "" or text.lower() in ("nan", "na", "n/a"):
        if allow_missing:
            return None
        raise DatasetError(f"{where}: column {column!r} is empty; the file is malformed — re-extract it.")
    try:
        out = float(text)
    except ValueError:
        raise DatasetError(
            f"{where}: column {column!r} holds {text!r}, which is not a number; the file is malformed — "
            "re-extract it from the original archive."
        ) from None
    if not math.isfinite(out):
        raise DatasetError(f"{where}: column {column!r} is {text!r}, not a finite number.")
    return out


def read_table(
    path,
    *,
    delimiter: str | None = ",",
    required: Iterable[str] = (),
    normalize=None,
    allow_extra: bool = False,
):
    """Read a delimited text file into ``(header, rows)`` with clear errors.

    Parameters
    ----------
    path : str or path-like
    delimiter : str or None
        Field separator; ``None`` sniffs it among ``, ; \\t``.
    required : iterable of str
        Column names (after ``normalize``) that must be present.
    normalize : callable, optional
        Applied to each header cell; default strips surrounding whitespace (DEAM's columns start with a
        space).
    allow_extra : bool
        Accept rows with more cells than the header (ragged files such as MTG-Jamendo's tag lists) and drop
        the extra cells; otherwise such a row raises.

    Returns
    -------
    header : list of str
    rows : list of (line_number, dict)
        Each row as a dict keyed by the normalised header; ``line_number`` is 1-based in the file.

    Raises
    ------
    DatasetError
        Missing file, missing column, or a row with more fields than the header.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"annotation file {str(path)!r} not found; check data_home, or rebuild the index with "
            "`mer-audiolime datasets index <name> --data-home DIR`."
        )
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    norm = normalize or (lambda s: s.strip())
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header_raw = next(reader)
    except StopIteration:
        raise DatasetError(f"annotation file {str(path)!r} is empty; re-extract it.") from None
    header = [norm(h) for h in header_raw]
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(
            f"{str(path)!r} lacks column(s) {missing} (found {header}); is this the right file and separator "
            f"({delimiter!r})?"
        )
    rows = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            extra = cells[len(header):]
            if any(c.strip() for c in extra) and not allow_extra:
                raise DatasetError(
                    f"{str(path)!r} line {line_no}: {len(cells)} fields but the header has {len(header)}; "
                    "the "
                    "row is malformed."
                )
            cells = cells[: len(header)]
        cells = cells + [""] * (len(header) - len(cells))
        rows.append((line_no, dict(zip(header, cells))))
    return header, rows


def clean_id(value) -> str:
    """Canonical track id from a CSV cell: stripped, integer-like floats ('12.0') become '12'."""
    text = str(value).strip()
    try:
        f = float(text)
        if f.is_integer():
            return str(int(f))
    except ValueError:
        pass
    return text


def rows_by_id(rows, id_column: str) -> dict:
    """Index ``(line, row)`` pairs by their cleaned id; duplicate ids raise :class:`DatasetError`."""
    out = {}
    for line_no, row in rows:
        key = clean_id(row.get(id_column, ""))
        if not key:
            continue
        if key in out:
            raise DatasetError(f"duplicate id {key!r} at line {line_no} (column {id_column!r}).")
        out[key] = (line_no, row)
    return out


def dynamic_from_wide(path, *, id_column: str = "song_id") -> dict:
    """Parse a wide per-song time series (``song_id, sample_15000ms, sample_15500ms, ...``).

    Returns ``{track_id: (times_seconds, values)}``; empty trailing cells (shorter songs) are dropped, a
    non-numeric cell raises :class:`DatasetError`.
    """
    header, rows = read_table(path, required=[id_column])
    time_cols = []
    for col in header:
        if col == id_column:
            continue
        digits = "".join(ch for ch in col if ch.isdigit())
        if not col.startswith("sample_") or not digits:
            raise DatasetError(f"{str(path)!r}: unexpected column {col!r}; expected 'sample_<ms>ms' columns.")
        time_cols.append((col, int(digits) / 1000.0))
    out = {}
    for line_no, row in rows:
        times, values = [], []
        for col, t in time_cols:
            v = to_float(row[col], where=f"{path} line {line_no}", column=col, allow_missing=True)
            if v is not None:
                times.append(t)
                values.append(v)
        out[clean_id(row[id_column])] = (np.asarray(times, dtype=np.float64), np.asarray(values, np.float64))
    return out


def merge_dynamic(arousal: dict, valence: dict, track_id: str):
    """Combine per-dimension series into a :class:`DynamicEmotion`, or None when a dimension is absent."""
    if track_id not in arousal or track_id not in valence:
        return None
    (ta, a), (tv, v) = arousal[track_id], valence[track_id]
    n = min(len(ta), len(tv))
    if n == 0:
        return None
    if not np.allclose(ta[:n], tv[:n]):
        raise DatasetError(f"track {track_id}: arousal and valence series have different time stamps.")
    return _dynamic(ta[:n], a[:n], v[:n])




def _dynamic(times, arousal, valence):
    from ._base import DynamicEmotion

    return DynamicEmotion(times=times, arousal=arousal, valence=valence)
