"""Soundtracks loader (Eerola & Vuoskoski 2011): film-music excerpts rated on 8 emotion scales.

Set 1 has 360 excerpts (~15 s) and set 2 has 110; both are rated on valence, energy, tension, anger, fear,
happy, sad and tender, 1 (minimal) to 9 (maximal), and carry the intended ``TARGET`` emotion. Set 2 also has
beauty and liking and a ``link`` to the set-1 number. Track ids are ``set1_001`` … ``set2_110``.

Two published layouts are accepted (under ``data_home``):

* the OSF release (osf.io/p6vkg): ``mean_ratings_set1.csv``, ``mean_ratings_set2.csv`` and the unzipped
  ``Set1.zip`` / ``Set2.zip`` audio (``001.mp3`` …) inside folders whose names contain ``set1`` / ``set2``
  (e.g. ``Set1/001.mp3``);
* the original release of the University of Jyväskylä: ``mean_ratings_set1.xls`` / ``mean_ratings_set2.xls``
  (legacy Excel, read with pandas' ``xlrd`` engine) and the set-1 audio in ``mp3/Soundtrack360_mp3/``
  (``Soundtrack110`` for set 2).

The two sets reuse file names, so the folder tells them apart. A ratings CSV is preferred to an ``.xls`` of
the same set when both are present. See ``datasets/soundtracks/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from mirdata import core

from ..exceptions import DatasetError
from ._base import (
    EmotionDataset,
    EmotionTrack,
    LocalIndex,
    clean_id,
    load_audio,
    read_sheet,
    read_table,
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "EMOTIONS", "BIBTEX", "LICENSE_INFO"]

NAME = "soundtracks"
VERSION = "1.0"

#: The eight rating scales shared by both sets.
EMOTIONS = ("valence", "energy", "tension", "anger", "fear", "happy", "sad", "tender")
#: Rating files of each set, in order of preference (OSF CSV, then the original .xls).
SETS = {k: (f"mean_ratings_set{k}.csv", f"mean_ratings_set{k}.xls") for k in (1, 2)}
#: Audio folder names of each set: "set1"/"Set 1"-like names, or the original release's Soundtrack360_mp3
#: (set 1, 360 excerpts) and Soundtrack110 (set 2, 110 excerpts).
AUDIO_FOLDERS = {
    1: r".*(set[\s_-]*1(?!\d)|soundtrack[\s_-]*360).*",
    2: r".*(set[\s_-]*2(?!\d)|soundtrack[\s_-]*110).*",
}

#: Published size (Eerola & Vuoskoski 2011; osf.io/p6vkg): set 1 has 360 excerpts, set 2 has 110.
PUBLISHED = {"tracks": 470, "parts": {"set1": ("set1_", 360), "set2": ("set2_", 110)},
             "note": "set 1: 360 excerpts, set 2: 110"}

BIBTEX = """@article{eerola2011comparison,
  author  = {Eerola, Tuomas and Vuoskoski, Jonna K.},
  title   = {A comparison of the discrete and dimensional models of emotion in music},
  journal = {Psychology of Music},
  volume  = {39},
  number  = {1},
  pages   = {18--49},
  year    = {2011},
  doi     = {10.1177/0305735610362821}
}"""

LICENSE_INFO = (
    "Shared for academic research by the authors on OSF (https://osf.io/p6vkg/). The excerpts are taken from "
    "commercial film soundtracks: do not redistribute them."
)

DOWNLOAD_INFO = """
The Soundtracks stimuli, ratings and track lists are on OSF: https://osf.io/p6vkg/ (Set1.zip, Set2.zip,
mean_ratings_set1.csv, mean_ratings_set2.csv). Unzip each set into a folder whose name contains set1 / set2,
put the two CSV files next to them (copies of the original Jyvaskyla release, with mean_ratings_set1.xls and
mp3/Soundtrack360_mp3/, work as they are), then build the index:

    mer-audiolime datasets index soundtracks --data-home /path/to/soundtracks
"""

INDEXES = {"default": VERSION, VERSION: LocalIndex(f"{NAME}_index_{VERSION}.json")}


def _number(value) -> str:
    text = clean_id(value)
    return text.zfill(3) if text.isdigit() else text


class Track(EmotionTrack):
    """Soundtracks excerpt.

    Args:
        track_id (str): ``set<k>_<NNN>``

    Attributes:
        track_id (str): ``set<k>_<NNN>``
        audio_path (str): path to the MP3

    Cached Properties:
        set (int): 1 or 2
        number (str): stimulus number within its set (``"001"``)
        valence, energy, tension, anger, fear, happy, sad, tender (float): mean ratings, 1-9
        ratings (dict): the 8 ratings (plus beauty and liking for set 2)
        target_emotion (str): the intended emotion (``TARGET`` column)
        soundtrack (str or None): source album (set 2)
        link (str or None): the same excerpt's number in set 1 (set 2)
    """

    TARGET_NAMES = EMOTIONS

    def _row(self) -> dict:
        row = self._meta("ratings")
        if row is None:
            raise DatasetError(f"soundtracks track {self.track_id} has no ratings row; rebuild the index.")
        return row

    @core.cached_property
    def set(self) -> int:
        return int(self.track_id.split("_")[0][3:])

    @core.cached_property
    def number(self) -> str:
        return self.track_id.split("_", 1)[1]

    @core.cached_property
    def ratings(self) -> dict:
        return {k: v for k, v in self._row().items() if isinstance(v, float)}

    @core.cached_property
    def valence(self) -> float:
        return self.ratings["valence"]

    @core.cached_property
    def energy(self) -> float:
        return self.ratings["energy"]

    @core.cached_property
    def tension(self) -> float:
        return self.ratings["tension"]

    @core.cached_property
    def anger(self) -> float:
        return self.ratings["anger"]

    @core.cached_property
    def fear(self) -> float:
        return self.ratings["fear"]

    @core.cached_property
    def happy(self) -> float:
        return self.ratings["happy"]

    @core.cached_property
    def sad(self) -> float:
        return self.ratings["sad"]

    @core.cached_property
    def tender(self) -> float:
        return self.ratings["tender"]

    @core.cached_property
    def target_emotion(self) -> str:
        return self._row().get("target")

    @core.cached_property
    def soundtrack(self):
        return self._row().get("soundtrack")

    @core.cached_property
    def link(self):
        return self._row().get("link")


@core.docstring_inherit(core.Dataset)
class Dataset(EmotionDataset):
    """The Soundtracks dataset, sets 1 and 2."""

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    TARGET_RANGES = {e: (1.0, 9.0) for e in EMOTIONS}
    PUBLISHED = PUBLISHED

    def _load_metadata(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        for k in SETS:
            path = self._metadata_path(f"ratings_set{k}", required=False)
            if path is None:
                continue
            for number, row in _read_ratings(path, k).items():
                tid = f"set{k}_{number}"
                if tid in out:
                    out[tid]["ratings"] = row
        return out

    def get_set(self, k: int) -> list:
        """Track ids of set ``k`` (1 or 2)."""
        if k not in SETS:
            raise DatasetError(f"Soundtracks has sets 1 and 2, not {k!r}.")
        return [t for t in self.track_ids if t.startswith(f"set{k}_")]


def _read_rows(path, **kwargs):
    """``(header, rows)`` of a ratings file: CSV, or the first sheet of an .xls workbook."""
    if str(path).lower().endswith(".xls"):
        return read_sheet(path, **kwargs)
    return read_table(path, **kwargs)


def _read_ratings(path, k: int) -> dict:
    header, rows = _read_rows(path, normalize=lambda s: s.strip().lower(), required=("number",) + EMOTIONS)
    numeric = [c for c in EMOTIONS + ("beauty", "liking") if c in header]
    out = {}
    for line_no, row in rows:
        where = f"{path} line {line_no}"
        number = _number(row["number"])
        if not number.isdigit():
            raise DatasetError(f"{where}: column 'number' holds {row['number']!r}, not a stimulus number.")
        if number in out:
            raise DatasetError(f"{where}: duplicate stimulus number {number} in set {k}.")
        values: dict = {c: to_float(row[c], where=where, column=c) for c in numeric}
        for c in ("target", "soundtrack", "link"):
            if c in header:
                values[c] = row[c].strip() or None
        out[number] = values
    return out


def index_recipe(data_home) -> IndexRecipe:
    """Locate both rating files (CSV or the original .xls) and each set's audio (told apart by folder)."""
    recipe = IndexRecipe()
    found_any = False
    for k, names in SETS.items():
        found = (find_file(data_home, n, required=False) for n in names)
        rel = next((r for r in found if r is not None), None)
        recipe.metadata[f"ratings_set{k}"] = rel
        if rel is None:
            continue
        found_any = True
        audio = find_audio(data_home, within=AUDIO_FOLDERS[k], pattern=r"\d+")
        audio = {_number(stem): path for stem, path in audio.items()}
        _, rows = _read_rows(Path(data_home) / rel, normalize=lambda s: s.strip().lower(),
                             required=["number"])
        for _, row in rows:
            number = _number(row["number"])
            tid = f"set{k}_{number}"
            if number in audio:
                recipe.tracks[tid] = {"audio": audio[number]}
            else:
                recipe.excluded[tid] = f"no {number}.mp3 in a set{k} folder"
    if not found_any:
        raise DatasetError(
            f"no ratings file ({', '.join(n for names in SETS.values() for n in names)}) was found under "
            f"{str(data_home)!r}; see the dataset card for the expected layout."
        )
    return recipe
