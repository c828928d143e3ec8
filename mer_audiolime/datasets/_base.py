"""Shared machinery of the emotion-dataset loaders: index lookup, a base Dataset/Track, CSV parsing.

Every loader subclasses :class:`EmotionDataset` / :class:`EmotionTrack` (themselves ``mirdata.core``
subclasses), so mirdata's API (``track_ids``, ``load_tracks``, ``choice_track``, ``validate``, ``cite``,
``license``) works unchanged. What this module adds:

* **Local indexes.** The project cannot ship md5s of data it does not hold, so an index is built from the
  user's copy (``mer-audiolime datasets index <name> --data-home DIR``) and looked up, in order, at the
  ``index_path`` argument, ``<data_home>/<name>_index_<version>.json``, ``$MER_AUDIOLIME_INDEX_DIR`` and the
  package's ``indexes/`` folder. A missing index raises :class:`IndexMissingError` saying how to build one.
* **Annotation files are index entries.** Their relative paths (and md5s) live in the index's ``metadata``
  block, so ``validate()`` checks them and the loaders do not hard-code one unpacking layout.
* **Typed errors.** Missing files, malformed rows and non-numeric ratings raise :class:`DatasetError` naming
  the file, the row and the fix; audio goes through :func:`mer_audiolime.audio.load_audio`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from mirdata import core

from ..audio import load_audio as _load_audio
from ..exceptions import DatasetError, IndexMissingError

__all__ = [
    "INDEX_DIR_ENV",
    "PACKAGE_INDEX_DIR",
    "LocalIndex",
    "EmotionDataset",
    "EmotionTrack",
    "DynamicEmotion",
    "load_audio",
    "index_filename",
    "candidate_index_paths",
    "read_table",
    "to_float",
]

#: Environment variable naming a folder of user-built index files (searched after ``data_home``).
INDEX_DIR_ENV = "MER_AUDIOLIME_INDEX_DIR"
#: Package data folder for shipped indexes (only indexes built from data the project really holds).
PACKAGE_INDEX_DIR = Path(__file__).resolve().parent / "indexes"


def index_filename(name: str, version: str) -> str:
    """File name of a dataset index, mirdata-style: ``<name>_index_<version>.json``."""
    return f"{name}_index_{version}.json"


def candidate_index_paths(name: str, version: str, data_home, index_path=None) -> list[Path]:
    """Where an index is looked for, in order of precedence."""
    filename = index_filename(name, version)
    paths = []
    if index_path is not None:
        return [Path(index_path)]
    if data_home is not None:
        paths.append(Path(data_home) / filename)
    env_dir = os.environ.get(INDEX_DIR_ENV)
    if env_dir:
        paths.append(Path(env_dir) / filename)
    paths.append(PACKAGE_INDEX_DIR / filename)
    return paths


class LocalIndex(core.Index):
    """A ``core.Index`` for an index built locally (no URL, no shipped checksum).

    mirdata resolves a non-remote index to its own test folder; this subclass resolves it to the package's
    ``indexes/`` folder instead. :class:`EmotionDataset` then overrides the path with the first existing
    candidate of :func:`candidate_index_paths`.
    """

    def __init__(self, filename: str):
        super().__init__(filename=filename)
        self.indexes_dir = str(PACKAGE_INDEX_DIR)


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


def load_audio(fhandle) -> tuple[np.ndarray, float]:
    """Load a dataset audio file at its native rate.

    Parameters
    ----------
    fhandle : str or path-like
        Path of the audio file.

    Returns
    -------
    audio : np.ndarray, shape (channels, samples), float32
    sr : float
        Native sample rate in Hz.

    Raises
    ------
    AudioDecodeError
        The file is missing, truncated beyond decoding, or not audio.
    """
    if fhandle is None:
        raise DatasetError("this track has no audio file in the index; rebuild the index or pick another track.")
    audio, sr = _load_audio(fhandle)
    return audio, float(sr)


def to_float(value, *, where: str, column: str, allow_missing: bool = False):
    """Parse one numeric cell; raise :class:`DatasetError` naming the file/row/column when it is not a number."""
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
    path, *, delimiter: str | None = ",", required: Iterable[str] = (), normalize=None, allow_extra: bool = False
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
        Applied to each header cell; default strips surrounding whitespace (DEAM's columns start with a space).
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
                    f"{str(path)!r} line {line_no}: {len(cells)} fields but the header has {len(header)}; the "
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


class EmotionTrack(core.Track):
    """Base Track of the emotion loaders: audio through the package decoder, metadata from the dataset.

    Attributes
    ----------
    track_id : str
    audio_path : str
        Absolute path of the audio file.
    """

    def __init__(self, track_id, data_home, dataset_name, index, metadata):
        super().__init__(track_id, data_home, dataset_name, index, metadata)
        self.audio_path = self.get_path("audio")

    @property
    def audio(self) -> tuple[np.ndarray, float]:
        """The track's audio: ``(channels, samples)`` float32 at the native rate, and the rate in Hz."""
        return load_audio(self.audio_path)

    def _meta(self, key, default=None):
        meta = self._metadata() or {}
        return meta.get(self.track_id, {}).get(key, default)

    @property
    def static_targets(self) -> dict:
        """Per-track numeric targets (name -> float or None): what a training adapter regresses."""
        return {name: getattr(self, name) for name in type(self).TARGET_NAMES}

    TARGET_NAMES: tuple = ()


class EmotionDataset(core.Dataset):
    """Base Dataset of the emotion loaders (a ``mirdata.core.Dataset``).

    Subclasses set the class attributes ``NAME``, ``TRACK_CLASS``, ``BIBTEX``, ``LICENSE_INFO``,
    ``DOWNLOAD_INFO``, ``INDEXES``, ``REMOTES``, ``TARGET_RANGES`` and implement ``_load_metadata``.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder holding the dataset as unpacked from its archives. Default ``~/mir_datasets/<name>``.
    version : str
        Index version (``"default"`` is the only one for most datasets).
    index_path : str or path-like, optional
        Use this index file instead of looking for one (see :func:`candidate_index_paths`).
    """

    NAME = ""
    TRACK_CLASS = EmotionTrack
    BIBTEX = ""
    LICENSE_INFO = ""
    DOWNLOAD_INFO = ""
    REMOTES = None
    INDEXES: dict = {}
    #: target name -> (low, high) of the rating scale, used to scale targets for training.
    TARGET_RANGES: dict = {}

    def __init__(self, data_home=None, version="default", *, index_path=None):
        if data_home is not None:
            home = Path(data_home).expanduser()
            if not home.is_dir():
                raise DatasetError(
                    f"data_home {str(home)!r} for {self.NAME!r} does not exist or is not a folder; pass the "
                    "folder where the dataset was unpacked."
                )
            data_home = str(home.resolve())
        if version not in self.INDEXES:
            raise DatasetError(f"{self.NAME}: unknown version {version!r}; choose one of {sorted(self.INDEXES)}.")
        super().__init__(
            data_home,
            version,
            name=self.NAME,
            track_class=self.TRACK_CLASS,
            bibtex=self.BIBTEX,
            indexes=self.INDEXES,
            remotes=self.REMOTES,
            download_info=self.DOWNLOAD_INFO,
            license_info=self.LICENSE_INFO,
        )
        self._index_candidates = candidate_index_paths(self.NAME, self.version, self.data_home, index_path)
        found = next((p for p in self._index_candidates if p.is_file()), None)
        self.index_path = str(found if found is not None else self._index_candidates[0])
        self.readme = f"datasets/{self.NAME}/README.md (in the mer_audiolime repository)"

    @core.cached_property
    def _index(self):
        path = Path(self.index_path)
        if not path.is_file():
            looked = ", ".join(str(p) for p in self._index_candidates)
            raise IndexMissingError(
                f"no index for {self.NAME!r} (version {self.version}); looked at: {looked}. Build one from your "
                f"copy with `mer-audiolime datasets index {self.NAME} --data-home {self.data_home}` (or "
                f"mer_audiolime.datasets.build_index({self.NAME!r}, data_home=...)); see "
                f"datasets/{self.NAME}/README.md."
            )
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DatasetError(
                f"index {str(path)!r} is not valid JSON ({err}); delete it and rebuild it with "
                f"`mer-audiolime datasets index {self.NAME} --data-home DIR`."
            ) from None
        if not isinstance(index, dict) or not isinstance(index.get("tracks"), dict):
            raise DatasetError(f"index {str(path)!r} has no 'tracks' mapping; rebuild it.")
        return index

    def _metadata_path(self, key: str, *, required: bool = True):
        """Absolute path of an annotation file recorded under ``key`` in the index's metadata block."""
        entry = (self._index.get("metadata") or {}).get(key)
        if entry is None or entry[0] is None:
            if required:
                raise DatasetError(
                    f"the {self.NAME} index has no {key!r} file; rebuild the index from a complete copy."
                )
            return None
        return os.path.join(self.data_home, entry[0])

    @core.cached_property
    def _metadata(self):
        return self._load_metadata()

    def _load_metadata(self) -> dict:  # pragma: no cover - every loader overrides it
        raise NotImplementedError

    def _track(self, track_id):  # behind mirdata's ``dataset.track(track_id)``
        if str(track_id) not in self._index["tracks"]:
            raise DatasetError(f"{track_id!r} is not a track of {self.NAME}; see .track_ids for valid ids.")
        return super()._track(str(track_id))


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
    return DynamicEmotion(times=ta[:n], arousal=a[:n], valence=v[:n])


MetadataLoader = Callable[[], dict]
