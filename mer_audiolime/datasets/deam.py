"""DEAM (MediaEval Database for Emotional Analysis in Music) loader: 1802 songs with arousal/valence.

Aljanaki, Yang & Soleymani, "Developing a benchmark for emotional analysis of music", PLOS ONE 2017.
Static (per-song) ratings are on a 1–9 scale; dynamic ratings are in [-1, 1] at 2 Hz from 15 s on.

Expected files (under ``data_home``; the index records where they are): ``MEMD_audio/<song_id>.mp3``;
``static_annotations_averaged_songs_1_2000.csv`` and ``static_annotations_averaged_songs_2000_2058.csv``
(column names start with a space: ``song_id, valence_mean, valence_std, arousal_mean, arousal_std``);
``arousal.csv`` / ``valence.csv`` under ``annotations averaged per song/dynamic (per second annotations)/``;
optionally ``metadata_2013.csv``, ``metadata_2014.csv``, ``metadata_2015.csv``. See
``datasets/deam/README.md``.
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
    dynamic_from_wide,
    load_audio,
    merge_dynamic,
    read_table,
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "BIBTEX", "LICENSE_INFO"]

NAME = "deam"
VERSION = "1.0"

BIBTEX = """@article{aljanaki2017deam,
  author  = {Aljanaki, Anna and Yang, Yi-Hsuan and Soleymani, Mohammad},
  title   = {Developing a benchmark for emotional analysis of music},
  journal = {PLOS ONE},
  volume  = {12},
  number  = {3},
  pages   = {e0173392},
  year    = {2017},
  doi     = {10.1371/journal.pone.0173392}
}"""

LICENSE_INFO = (
    "Annotations: research use as stated on https://cvml.unige.ch/databases/DEAM/ . Audio: excerpts of "
    "Creative Commons-licensed songs (freemusicarchive.org, jamendo.com, medleyDB), each under its own CC "
    "license."
)

DOWNLOAD_INFO = """
DEAM is published at https://cvml.unige.ch/databases/DEAM/ (DEAM_audio.zip, DEAM_Annotations.zip,
metadata.zip). The archives have no published checksums, so they are not downloaded automatically: download
and unpack them into one folder, then build the index:

    mer-audiolime datasets index deam --data-home /path/to/deam
"""

INDEXES = {"default": VERSION, VERSION: LocalIndex(f"{NAME}_index_{VERSION}.json")}

STATIC_FILES = {
    "static_1_2000": "static_annotations_averaged_songs_1_2000.csv",
    "static_2000_2058": "static_annotations_averaged_songs_2000_2058.csv",
}
METADATA_FILES = {f"metadata_{y}": f"metadata_{y}.csv" for y in (2013, 2014, 2015)}


class Track(EmotionTrack):
    """DEAM track.

    Args:
        track_id (str): DEAM song id

    Attributes:
        track_id (str): song id
        audio_path (str): path to the MP3

    Cached Properties:
        arousal, valence (float): static mean ratings, 1-9
        arousal_std, valence_std (float or None): their standard deviations
        dynamic (DynamicEmotion or None): 2 Hz ratings in [-1, 1]
        annotation_file (str): which static file the song comes from
        genre, artist, title (str or None): from the metadata files, when present
    """

    TARGET_NAMES = ("arousal", "valence")

    def _static(self) -> dict:
        values = self._meta("static")
        if values is None:
            raise DatasetError(f"DEAM song {self.track_id} has no static annotation row; rebuild the index.")
        return values

    @core.cached_property
    def arousal(self) -> float:
        return self._static()["arousal"]

    @core.cached_property
    def valence(self) -> float:
        return self._static()["valence"]

    @core.cached_property
    def arousal_std(self):
        return self._static().get("arousal_std")

    @core.cached_property
    def valence_std(self):
        return self._static().get("valence_std")

    @core.cached_property
    def annotation_file(self) -> str:
        return self._static()["file"]

    @core.cached_property
    def dynamic(self):
        return self._meta("dynamic")

    @core.cached_property
    def genre(self):
        return (self._meta("info") or {}).get("genre")

    @core.cached_property
    def artist(self):
        return (self._meta("info") or {}).get("artist")

    @core.cached_property
    def title(self):
        return (self._meta("info") or {}).get("title")


@core.docstring_inherit(core.Dataset)
class Dataset(EmotionDataset):
    """The DEAM dataset."""

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    TARGET_RANGES = {"arousal": (1.0, 9.0), "valence": (1.0, 9.0)}

    def _load_metadata(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        for key in STATIC_FILES:
            path = self._metadata_path(key, required=(key == "static_1_2000"))
            if path is None:
                continue
            for tid, values in _read_static(path).items():
                if tid in out:
                    if "static" in out[tid]:
                        raise DatasetError(f"DEAM song {tid} appears in both static annotation files.")
                    out[tid]["static"] = values
        arousal_path = self._metadata_path("dynamic_arousal", required=False)
        valence_path = self._metadata_path("dynamic_valence", required=False)
        if arousal_path and valence_path:
            arousal, valence = dynamic_from_wide(arousal_path), dynamic_from_wide(valence_path)
            for tid in out:
                out[tid]["dynamic"] = merge_dynamic(arousal, valence, tid)
        for key in METADATA_FILES:
            path = self._metadata_path(key, required=False)
            if path is not None:
                for tid, info in _read_info(path).items():
                    if tid in out:
                        out[tid]["info"] = info
        return out


def _read_static(path) -> dict:
    """Read one static file; DEAM's header cells start with a space, which read_table strips."""
    cols = ["song_id", "valence_mean", "arousal_mean"]
    header, rows = read_table(path, required=cols)
    out = {}
    for line_no, row in rows:
        where = f"{path} line {line_no}"
        tid = clean_id(row["song_id"])
        if tid in out:
            raise DatasetError(f"{where}: duplicate song_id {tid}.")
        values = {
            "arousal": to_float(row["arousal_mean"], where=where, column="arousal_mean"),
            "valence": to_float(row["valence_mean"], where=where, column="valence_mean"),
            "file": Path(path).name,
        }
        for dim in ("arousal", "valence"):
            if f"{dim}_std" in header:
                values[f"{dim}_std"] = to_float(row[f"{dim}_std"], where=where, column=f"{dim}_std",
                                                allow_missing=True)
        out[tid] = values
    return out


def _read_info(path) -> dict:
    """Genre/artist/title from a DEAM metadata file (the three years use different column sets)."""
    header, rows = read_table(path, delimiter=None, normalize=lambda s: s.strip().lower())
    id_col = next((c for c in ("song_id", "id") if c in header), None)
    if id_col is None:
        raise DatasetError(f"{path!r}: no song_id column (header: {header}).")
    pick = {
        "genre": next((c for c in header if c.startswith("genre")), None),
        "artist": next((c for c in header if c.startswith("artist")), None),
        "title": next((c for c in header if c in ("title", "song title", "track")), None),
    }
    out = {}
    for _, row in rows:
        out[clean_id(row[id_col])] = {
            k: (row[c].strip() or None) if c else None for k, c in pick.items()
        }
    return out


def index_recipe(data_home) -> IndexRecipe:
    """Locate DEAM's annotation files and the audio of every statically annotated song."""
    metadata = {
        "static_1_2000": find_file(data_home, STATIC_FILES["static_1_2000"]),
        "static_2000_2058": find_file(data_home, STATIC_FILES["static_2000_2058"], required=False),
        "dynamic_arousal": find_file(data_home, "arousal.csv", required=False, prefer="averaged"),
        "dynamic_valence": find_file(data_home, "valence.csv", required=False, prefer="averaged"),
        "dynamic_arousal_std": find_file(data_home, "arousal_std.csv", required=False, prefer="averaged"),
        "dynamic_valence_std": find_file(data_home, "valence_std.csv", required=False, prefer="averaged"),
    }
    for key, filename in METADATA_FILES.items():
        metadata[key] = find_file(data_home, filename, required=False)
    recipe = IndexRecipe(metadata=metadata)
    audio = find_audio(data_home, within="MEMD_audio|audio", pattern=r"\d+")
    ids = []
    for key in STATIC_FILES:
        if metadata[key] is not None:
            _, rows = read_table(Path(data_home) / metadata[key], required=["song_id"])
            ids.extend(clean_id(r["song_id"]) for _, r in rows)
    for tid in ids:
        if tid in audio:
            recipe.tracks[tid] = {"audio": audio[tid]}
        else:
            recipe.excluded[tid] = "audio file not found"
    return recipe
