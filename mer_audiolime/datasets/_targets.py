"""Target tables: strict reading of the files that hold the ratings a model is trained on.

:func:`read_table` (delimited text) and :func:`read_sheet` (``.xls``) return ``(header, rows)``, and
:func:`to_float` parses a numeric cell: a cell that should be a number but is not raises
:class:`~mer_audiolime.exceptions.DatasetError` naming the file, line and column. Also here: the text
decoding, separator sniffing and header cleaning that the optional-metadata reader shares, and track ids
(:func:`clean_id`, :func:`rows_by_id`). The loaders import all of it through :mod:`._tables`.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path
from typing import Iterable

from ..exceptions import DatasetError

__all__ = ["MISSING_CELLS", "to_float", "decode_text", "sniff_delimiter", "clean_header", "read_table",
           "read_sheet", "clean_id", "rows_by_id"]

#: Cell texts (lower-cased, stripped) that mean "no value".
MISSING_CELLS = ("", "nan", "na", "n/a", "none", "null")


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
    if text.lower() in MISSING_CELLS:
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


def decode_text(path: Path) -> str:
    """The text of a table file: UTF-8 (a byte-order mark dropped), else cp1252.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        Undecodable cp1252 bytes become U+FFFD.

    Examples
    --------
    >>> decode_text(Path("static_annotations.csv"))[:7]   # doctest: +SKIP
    'song_id'
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older releases were written on Windows machines: fall back to cp1252 rather than mangling names.
        return raw.decode("cp1252", errors="replace")


def sniff_delimiter(text: str, delimiter):
    """``delimiter`` when given, else the separator sniffed among ``, ; \\t`` in the first 4 KiB of ``text``
    (``","`` when sniffing fails).

    Examples
    --------
    >>> sniff_delimiter("a;b\\n1;2\\n", None)
    ';'
    """
    if delimiter is not None:
        return delimiter
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def clean_header(cells, norm) -> list:
    """Header cells passed through ``norm``, with trailing empty cells (a line ending in a comma) dropped.

    Examples
    --------
    >>> clean_header([" a", "b ", ""], str.strip)
    ['a', 'b']
    """
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
    text = decode_text(path)
    delimiter = sniff_delimiter(text, delimiter)
    norm = normalize or (lambda s: s.strip())
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = clean_header(next(reader), norm)
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
    header = clean_header(grid[0], norm)
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
