"""Table parsing shared by the loaders: strict about targets, forgiving about optional metadata.

Two kinds of file are read, in separate passes:

* **Targets** (the ratings a model is trained on) go through :func:`read_table` and :func:`to_float`: a cell
  that should be a number but is not raises :class:`DatasetError` naming the file, line and column — never a
  NaN that would silently become a wrong training target.
* **Optional metadata** (artist, genre, chorus times, ...) goes through :func:`read_optional_table` and an
  :class:`OptionalFields` collector: a row with extra or missing fields, or a field that does not parse,
  becomes a missing value and one :class:`MetadataWarning` per file and field (naming the first bad line),
  never a failure of the targets.

Header cells are stripped (DEAM's column names start with a space), empty header cells at the end of a line
(a trailing comma) are dropped, separators are explicit or sniffed, and ``.xls`` sheets (the Soundtracks
release of the University of Jyväskylä) are read through pandas with the ``xlrd`` engine.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..exceptions import DatasetError

__all__ = [
    "DynamicEmotion",
    "MetadataWarning",
    "OptionalFields",
    "EXTRA",
    "to_float",
    "read_table",
    "read_optional_table",
    "read_sheet",
    "clean_id",
    "clean_text",
    "rows_by_id",
    "parse_clock",
    "dynamic_from_wide",
    "merge_dynamic",
]

#: Key under which :func:`read_optional_table` keeps the cells of a row beyond the named header columns.
EXTRA = "__extra__"

_MISSING = ("", "nan", "na", "n/a", "none", "null")


class MetadataWarning(UserWarning):
    """An optional metadata field could not be read and was set to missing (the targets are unaffected)."""


@dataclass(frozen=True)
class DynamicEmotion:
    """Continuous (time-varying) arousal/valence ratings of one track.

    Attributes
    ----------
    times : np.ndarray, shape (T,)
        Frame times in seconds from the start of the audio file.
    arousal, valence : np.ndarray, shape (T,)
        Mean ratings at those times, on the dataset's own scale (see the dataset card).
    """

    times: np.ndarray
    arousal: np.ndarray
    valence: np.ndarray

    def __len__(self) -> int:
        return int(self.times.shape[0])


def to_float(value, *, where: str, column: str, allow_missing: bool = False):
    """Parse one numeric cell; a non-number raises :class:`DatasetError` naming file, row and column.

    Parameters
    ----------
    value : str, float or None
        The cell.
    where : str
        ``"<file> line <n>"``, used in the message.
    column : str
        Column name, used in the message.
    allow_missing : bool
        Return None for an empty cell instead of raising.

    Returns
    -------
    float or None

    Examples
    --------
    >>> to_float(" 3.5 ", where="a.csv line 2", column="valence_mean")
    3.5
    """
    text = "" if value is None else str(value).strip()
    if text.lower() in _MISSING:
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


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older releases were written on Windows machines: fall back to cp1252 rather than mangling names.
        return raw.decode("cp1252", errors="replace")


def _sniff(text: str, delimiter):
    if delimiter is not None:
        return delimiter
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _header(cells, norm) -> list:
    header = [norm(h) for h in cells]
    while header and header[-1] == "":  # a trailing comma: an unnamed, empty last column
        header.pop()
    return header


def read_table(
    path,
    *,
    delimiter: str | None = ",",
    required: Iterable[str] = (),
    normalize=None,
    allow_extra: bool = False,
):
    """Read a delimited text file of *targets* into ``(header, rows)`` with clear errors.

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
        Accept rows with more non-empty cells than the header (ragged files such as MTG-Jamendo's tag lists)
        and drop the extra cells; otherwise such a row raises.

    Returns
    -------
    header : list of str
        Trailing empty header cells (a line ending in a comma) are dropped.
    rows : list of (line_number, dict)
        Each row as a dict keyed by the normalised header; ``line_number`` is 1-based in the file. Short rows
        are padded with empty strings (a required cell that is empty then fails in :func:`to_float`).

    Raises
    ------
    DatasetError
        Missing or empty file, missing column, or a row with more fields than the header.

    Examples
    --------
    >>> header, rows = read_table("static_annotations.csv", required=["musicId"])  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"annotation file {str(path)!r} not found; check data_home, or rebuild the index with "
            "`mer-audiolime datasets index <name> --data-home DIR`."
        )
    text = _decode(path)
    delimiter = _sniff(text, delimiter)
    norm = normalize or (lambda s: s.strip())
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = _header(next(reader), norm)
    except StopIteration:
        raise DatasetError(f"annotation file {str(path)!r} is empty; re-extract it.") from None
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
                    "the row is malformed."
                )
            cells = cells[: len(header)]
        cells = cells + [""] * (len(header) - len(cells))
        rows.append((line_no, dict(zip(header, cells))))
    return header, rows


def read_optional_table(path, *, delimiter: str | None = None, normalize=None, fields=None):
    """Read a delimited file of *optional metadata*: ragged rows are kept, nothing raises.

    Parameters
    ----------
    path : str or path-like
    delimiter : str or None
        Field separator; ``None`` (default) sniffs it among ``, ; \\t``.
    normalize : callable, optional
        Applied to each header cell (default: strip).
    fields : OptionalFields, optional
        Collector that records an unreadable file as a warning.

    Returns
    -------
    header : list of str
        Named columns; empty header cells (trailing commas) are dropped. Empty when the file is unreadable.
    rows : list of (line_number, dict)
        Named cells by column; cells beyond the named columns are kept as a list under :data:`EXTRA`; short
        rows are padded with empty strings.
    """
    path = Path(path)
    try:
        text = _decode(path)
    except OSError as err:
        if fields is not None:
            fields.file_problem(f"cannot be read ({err.strerror or err})")
        return [], []
    delimiter = _sniff(text, delimiter)
    norm = normalize or (lambda s: s.strip())
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = _header(next(reader), norm)
    except StopIteration:
        if fields is not None:
            fields.file_problem("is empty")
        return [], []
    named = [(i, h) for i, h in enumerate(header) if h]
    rows = []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        padded = cells + [""] * (len(header) - len(cells))
        row = {h: padded[i] for i, h in named}
        unnamed = [padded[i] for i, h in enumerate(header) if not h]
        row[EXTRA] = [c for c in unnamed + cells[len(header):] if c.strip()]
        rows.append((line_no, row))
    return header, rows


def read_sheet(path, *, normalize=None, required: Iterable[str] = ()):
    """Read the first sheet of an ``.xls`` workbook into ``(header, rows)`` like :func:`read_table`.

    Read with ``pandas.read_excel(engine="xlrd")`` (xlrd reads the legacy BIFF ``.xls`` format). Row numbers
    are the spreadsheet's (header = row 1); numbers arrive as text (``"3.67"``, integer-valued cells as
    ``"1"``), empty cells as ``""``; empty columns at the right edge are dropped.

    Raises
    ------
    DatasetError
        Missing, unreadable or empty workbook, or a missing column.
    """
    import pandas as pd  # imported here: pandas is heavy and the CLI imports this module

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"annotation file {str(path)!r} not found; check data_home or rebuild the index.")
    try:
        with warnings.catch_warnings():
            # pandas 3 marks its xlrd engine deprecated in favour of calamine, which is not a dependency;
            # xlrd reads legacy .xls and is pinned in the lock, so the notice is not the user's to act on.
            warnings.filterwarnings("ignore", message="The xlrd engine is deprecated")
            frame = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="xlrd")
    except Exception as err:  # xlrd raises its own XLRDError/CompDocError for a damaged workbook
        raise DatasetError(
            f"{str(path)!r} is not a readable .xls workbook ({type(err).__name__}: {err}); re-extract it."
        ) from None
    if frame.empty:
        raise DatasetError(f"workbook {str(path)!r} has no cells; re-extract it.")

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    norm = normalize or (lambda s: s.strip())
    grid = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    header = _header(grid[0], norm)
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(
            f"{str(path)!r} lacks column(s) {missing} (found {header}); is this the right file?"
        )
    rows = []
    for line_no, cells in enumerate(grid[1:], start=2):
        if all(not c.strip() for c in cells):
            continue
        extra = cells[len(header):]
        if any(c.strip() for c in extra):
            raise DatasetError(
                f"{str(path)!r} row {line_no}: a value lies right of the last named column "
                f"({len(header)}); the sheet is malformed."
            )
        rows.append((line_no, dict(zip(header, cells[: len(header)]))))
    return header, rows


class OptionalFields:
    """Collect problems with the optional metadata of one file; one :class:`MetadataWarning` per field.

    Parameters
    ----------
    path : str or path-like
        The file being read (named in the warnings).
    dataset : str
        Dataset name (named in the warnings).

    Examples
    --------
    >>> fields = OptionalFields("metadata.csv", dataset="pmemo")
    >>> fields.parse("02:50", parse_clock, line=2, field="chorus_start_time")
    170.0
    >>> fields.parse("soon", parse_clock, line=3, field="chorus_end_time") is None
    True
    >>> fields.emit()  # doctest: +SKIP
    """

    def __init__(self, path, *, dataset: str):
        self.path, self.dataset = str(path), dataset
        self._problems: dict = {}

    def bad(self, *, line: int, field: str, value, reason: str) -> None:
        """Record that ``field`` on ``line`` was set to missing because of ``reason``."""
        first = self._problems.setdefault(field, {"line": line, "value": value, "reason": reason, "n": 0})
        first["n"] += 1

    def file_problem(self, reason: str) -> None:
        """Record that the whole file could not be used."""
        self._problems.setdefault("(file)", {"line": None, "value": None, "reason": reason, "n": 1})

    def parse(self, value, parser, *, line: int, field: str):
        """``parser(value)``; an empty cell gives None, a ``ValueError`` is recorded and gives None."""
        text = "" if value is None else str(value).strip()
        if text.lower() in _MISSING:
            return None
        try:
            return parser(text)
        except (ValueError, TypeError) as err:
            self.bad(line=line, field=field, value=text, reason=str(err) or "unreadable")
            return None

    @property
    def problems(self) -> dict:
        """``{field: {"line", "value", "reason", "n"}}`` recorded so far."""
        return {k: dict(v) for k, v in self._problems.items()}

    def emit(self) -> None:
        """Issue one :class:`MetadataWarning` per field with problems (call once, after reading the file).

        The warning points at the caller's line (the first frame outside the loaders and mirdata), so it reads
        as coming from ``track.genre`` rather than from this module.
        """
        stacklevel = _caller_stacklevel()
        for field, p in self._problems.items():
            if field == "(file)":
                msg = (f"{self.dataset}: optional metadata file {self.path!r} {p['reason']}; its fields are "
                       "missing.")
            else:
                more = f" ({p['n'] - 1} more row(s) of this field alike)" if p["n"] > 1 else ""
                msg = (f"{self.dataset}: {self.path} line {p['line']}, field {field!r}: {p['value']!r} — "
                       f"{p['reason']}. Set to missing{more}; the targets are not affected.")
            warnings.warn(msg, MetadataWarning, stacklevel=stacklevel)


def _caller_stacklevel() -> int:
    """stacklevel of the first frame outside this package's dataset loaders and mirdata."""
    mirdata_dir = Path(sys.modules["mirdata"].__file__).resolve().parent
    inside = (str(Path(__file__).resolve().parent), str(mirdata_dir))
    level, frame = 2, sys._getframe(2)  # 1 = emit, 2 = its caller
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def clean_text(value):
    """A cleaned text cell: tabs, runs of spaces and surrounding quotes removed; None for an empty cell or a
    placeholder (``n/a``, ``nan``, ``none``, ...).

    Examples
    --------
    >>> clean_text('"Blues\t"'), clean_text("N/A")
    ('Blues', None)
    """
    text = "" if value is None else re.sub(r"\s+", " ", str(value)).strip().strip('"').strip()
    return None if text.lower() in _MISSING else text


def parse_clock(text: str) -> float:
    """A time as seconds: ``"02:50"`` (mm:ss), ``"1:02:50"`` (h:mm:ss) or plain seconds ``"170.5"``.

    Examples
    --------
    >>> parse_clock("02:50"), parse_clock("1:00:01.5"), parse_clock("95")
    (170.0, 3601.5, 95.0)
    """
    parts = str(text).strip().split(":")
    if len(parts) > 3 or any(p.strip() == "" for p in parts):
        raise ValueError("not a time (expected mm:ss, h:mm:ss or seconds)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError("not a time (expected mm:ss, h:mm:ss or seconds)") from None
    if any(v < 0 or not math.isfinite(v) for v in values) or any(v >= 60 for v in values[1:]):
        raise ValueError("not a valid time (minutes and seconds must lie in [0, 60))")
    seconds = 0.0
    for v in values:
        seconds = seconds * 60.0 + v
    return seconds


def clean_id(value) -> str:
    """Canonical track id from a cell: stripped, integer-like floats ('12.0') become '12'."""
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

    Returns ``{track_id: (times_seconds, values)}``. Empty cells (shorter songs end early; a trailing comma
    gives an empty, unnamed last column) are dropped; a non-numeric cell raises :class:`DatasetError` naming
    file, line and column.
    """
    header, rows = read_table(path, required=[id_column])
    time_cols = []
    for col in header:
        if col == id_column or col == "":
            continue
        match = re.fullmatch(r"sample_(\d+)ms", col)
        if match is None:
            raise DatasetError(f"{str(path)!r}: unexpected column {col!r}; expected 'sample_<ms>ms' columns.")
        time_cols.append((col, int(match.group(1)) / 1000.0))
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
    return DynamicEmotion(times=times, arousal=arousal, valence=valence)
