"""emoMusic ("1000 Songs for Emotional Analysis of Music") loader: 744 clips of 45 s.

Soleymani et al., CrowdMM 2013 (MediaEval 2013 Emotion in Music task). Static ratings are on a 1–9 scale;
continuous ratings are in [-1, 1] at 2 Hz from 15 s to 45 s. The MediaEval 2013 set (``development`` /
``evaluation``) is the official split, exposed as ``track.split`` and ``Dataset.get_track_splits()``.

Expected files (under ``data_home``): ``clips_45seconds/<song_id>.mp3``;
``annotations/static_annotations.csv`` (``song_id, mean_arousal, std_arousal, mean_valence, std_valence``);
``arousal_cont_average.csv`` and ``valence_cont_average.csv``; ``songs_info.csv`` (``song_id,
file_name, Artist, Song title, start of the segment (min.sec), end of the segment (min.sec), Genre,
Mediaeval 2013 set``).
See ``datasets/emomusic/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from mirdata import core

from ..exceptions import DatasetError
from ._base import (
    EmotionDataset,
    EmotionTrack,
    LocalIndex,
    dynamic_from_wide,
    load_audio,
    merge_dynamic,
    read_table,
    rows_by_id,
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "BIBTEX", "LICENSE_INFO"]

NAME = "emomusic"
VERSION = "1.0"

BIBTEX = """@inproceedings{soleymani2013emomusic,
  author    = {Soleymani, Mohammad and Caro, Micheal N. and Schmidt, Erik M. and Sha, Cheng-Ya
               and Yang, Yi-Hsuan},
  title     = {1000 Songs for Emotional Analysis of Music},
  booktitle = {Proceedings of the 2nd ACM International Workshop on Crowdsourcing for Multimedia (CrowdMM)},
  pages     = {1--6},
  year      = {2013},
  doi       = {10.1145/2506364.2506365}
}"""

LICENSE_INFO = (
    "Research use as stated on https://cvml.unige.ch/databases/emoMusic/ . The clips are excerpts of songs "
    "from the Free Music Archive, each under its own Creative Commons license."
)

DOWNLOAD_INFO = """
emoMusic is published at https://cvml.unige.ch/databases/emoMusic/ (clips_45sec archive and annotations). The
archives have no published checksums, so they are not downloaded automatically: unpack them into one folder
and build the index:

    mer-audiolime datasets index emomusic --data-home /path/to/emomusic
"""

INDEXES = {"default": VERSION, VERSION: LocalIndex(f"{NAME}_index_{VERSION}.json")}

_STATIC_COLS = ("song_id", "mean_arousal", "mean_valence")
_SPLIT_COL = "Mediaeval 2013 set"


def _clean(text):
    """songs_info.csv cells carry stray tabs and spaces; strip them (None for empty)."""
    text = str(text).replace("\t", " ").strip()
    return text or None


class Track(EmotionTrack):
    """emoMusic clip.

    Args:
        track_id (str): song id

    Attributes:
        track_id (str): song id
        audio_path (str): path to the 45-s MP3 clip

    Cached Properties:
        arousal, valence (float): static mean ratings, 1-9
        arousal_std, valence_std (float or None): their standard deviations
        dynamic (DynamicEmotion or None): 2 Hz ratings in [-1, 1]
        split (str or None): MediaEval 2013 set, ``development`` or ``evaluation``
        artist, title, genre (str or None): song metadata
        segment_start, segment_end (float or None): where the clip was cut from the song, seconds
    """

    TARGET_NAMES = ("arousal", "valence")

    def _static(self) -> dict:
        values = self._meta("static")
        if values is None:
            raise DatasetError(
                f"emoMusic song {self.track_id} has no static annotation row; rebuild the index."
            )
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
    def dynamic(self):
        return self._meta("dynamic")

    @core.cached_property
    def split(self):
        return (self._meta("info") or {}).get("split")

    @core.cached_property
    def artist(self):
        return (self._meta("info") or {}).get("artist")

    @core.cached_property
    def title(self):
        return (self._meta("info") or {}).get("title")

    @core.cached_property
    def genre(self):
        return (self._meta("info") or {}).get("genre")

    @core.cached_property
    def segment_start(self):
        return (self._meta("info") or {}).get("segment_start")

    @core.cached_property
    def segment_end(self):
        return (self._meta("info") or {}).get("segment_end")


@core.docstring_inherit(core.Dataset)
class Dataset(EmotionDataset):
    """The emoMusic (1000 songs) dataset."""

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    TARGET_RANGES = {"arousal": (1.0, 9.0), "valence": (1.0, 9.0)}

    def _load_metadata(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        path = self._metadata_path("static")
        header, rows = read_table(path, required=_STATIC_COLS)
        for tid, (line_no, row) in rows_by_id(rows, "song_id").items():
            if tid not in out:
                continue
            where = f"{path} line {line_no}"
            values = {
                "arousal": to_float(row["mean_arousal"], where=where, column="mean_arousal"),
                "valence": to_float(row["mean_valence"], where=where, column="mean_valence"),
            }
            for dim in ("arousal", "valence"):
                if f"std_{dim}" in header:
                    values[f"{dim}_std"] = to_float(row[f"std_{dim}"], where=where, column=f"std_{dim}",
                                                    allow_missing=True)
            out[tid]["static"] = values
        a_path = self._metadata_path("arousal_cont", required=False)
        v_path = self._metadata_path("valence_cont", required=False)
        if a_path and v_path:
            arousal, valence = dynamic_from_wide(a_path), dynamic_from_wide(v_path)
            for tid in out:
                out[tid]["dynamic"] = merge_dynamic(arousal, valence, tid)
        info_path = self._metadata_path("songs_info", required=False)
        if info_path is not None:
            _, rows = read_table(info_path, required=["song_id"])
            for tid, (line_no, row) in rows_by_id(rows, "song_id").items():
                if tid in out:
                    out[tid]["info"] = _info(row, where=f"{info_path} line {line_no}")
        return out


def _minsec(text, *, where, column):
    """'1.30' (minutes.seconds) -> 90.0 seconds."""
    value = _clean(text)
    if value is None:
        return None
    minutes, _, seconds = value.partition(".")
    try:
        return 60.0 * int(minutes) + (float(seconds.ljust(2, "0")) if seconds else 0.0)
    except ValueError:
        raise DatasetError(f"{where}: {column!r} is {value!r}, not a min.sec time.") from None


def _info(row: dict, *, where: str) -> dict:
    split = _clean(row.get(_SPLIT_COL, ""))
    if split is not None and split not in ("development", "evaluation"):
        raise DatasetError(f"{where}: {_SPLIT_COL!r} is {split!r}; expected development or evaluation.")
    return {
        "split": split,
        "artist": _clean(row.get("Artist", "")),
        "title": _clean(row.get("Song title", "")),
        "genre": _clean(row.get("Genre", "")),
        "segment_start": _minsec(row.get("start of the segment (min.sec)", ""), where=where, column="start"),
        "segment_end": _minsec(row.get("end of the segment (min.sec)", ""), where=where, column="end"),
    }


def index_recipe(data_home) -> IndexRecipe:
    """Locate emoMusic's annotation files and the clip of every statically annotated song."""
    static = find_file(data_home, "static_annotations.csv")
    recipe = IndexRecipe(
        metadata={
            "static": static,
            "arousal_cont": find_file(data_home, "arousal_cont_average.csv", required=False),
            "valence_cont": find_file(data_home, "valence_cont_average.csv", required=False),
            "arousal_cont_std": find_file(data_home, "arousal_cont_std.csv", required=False),
            "valence_cont_std": find_file(data_home, "valence_cont_std.csv", required=False),
            "songs_info": find_file(data_home, "songs_info.csv", required=False),
        }
    )
    _, rows = read_table(Path(data_home) / static, required=["song_id"])
    audio = find_audio(data_home, within="clips.*", pattern=r"\d+")
    for tid in rows_by_id(rows, "song_id"):
        if tid in audio:
            recipe.tracks[tid] = {"audio": audio[tid]}
        else:
            recipe.excluded[tid] = "clip not found"
    return recipe
