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

The readers live in :mod:`._targets` (target tables, cells and ids), :mod:`._metadata` (optional metadata)
and :mod:`._dynamic` (time-varying ratings); every name is re-exported here.
"""

from __future__ import annotations

from ._dynamic import DynamicEmotion, dynamic_from_wide, merge_dynamic
from ._metadata import EXTRA, MetadataWarning, OptionalFields, clean_text, parse_clock, read_optional_table
from ._targets import clean_id, read_sheet, read_table, rows_by_id, to_float

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
