"""Optional metadata (artist, genre, chorus times, ...): read forgivingly, problems become warnings.

:func:`read_optional_table` keeps ragged rows and never raises; an :class:`OptionalFields` collector turns a
field that does not parse into a missing value and one :class:`MetadataWarning` per file and field (naming the
first bad line), never a failure of the targets. :func:`clean_text` and :func:`parse_clock` read its cells.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
import warnings
from pathlib import Path

from ._targets import MISSING_CELLS, clean_header, decode_text, sniff_delimiter

__all__ = ["EXTRA", "MetadataWarning", "OptionalFields", "read_optional_table", "clean_text", "parse_clock"]

#: Key under which :func:`read_optional_table` keeps the cells of a row beyond the named header columns.
EXTRA = "__extra__"


class MetadataWarning(UserWarning):
    """An optional metadata field could not be read and was set to missing (the targets are unaffected)."""


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
        text = decode_text(path)
    except OSError as err:
        if fields is not None:
            fields.file_problem(f"cannot be read ({err.strerror or err})")
        return [], []
    delimiter = sniff_delimiter(text, delimiter)
    norm = normalize or (lambda s: s.strip())
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = clean_header(next(reader), norm)
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
        if text.lower() in MISSING_CELLS:
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
    return None if text.lower() in MISSING_CELLS else text


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
