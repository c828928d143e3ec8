"""emoMusic ("1000 Songs for Emotional Analysis of Music") loader: 744 clips of 45 s.

Soleymani et al., CrowdMM 2013 (MediaEval 2013 Emotion in Music task). Static ratings are on a 1–9 scale;
continuous ratings are in [-1, 1] at 2 Hz from 15 s to 45 s. The MediaEval 2013 set (``development`` /
``evaluation``) is the official split, exposed as ``track.split`` and ``Dataset.get_track_splits()``.

Expected files (under ``data_home``): ``clips_45seconds/<song_id>.mp3``;
``annotations/static_annotations.csv`` (``song_id, mean_arousal, std_arousal, mean_valence, std_valence``);
``arousal_cont_average.csv`` and ``valence_cont_average.csv``; ``songs_info.csv`` (``song_id,
file_name, Artist, Song title, start of the segment (min.sec), end of the segment (min.sec), Genre,
Mediaeval 2013 set``).
Static ratings are the required targets; the continuous ratings are read only when asked for, and
songs_info.csv in a forgiving pass (a field that cannot be read is missing, with a
:class:`~mer_audiolime.datasets.MetadataWarning`). See ``datasets/emomusic/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from mirdata import core

from ..exceptions import DatasetError
from ._base import (
    EmotionDataset,
    EmotionTrack,
    LocalIndex,
    OptionalFields,
    clean_id,
    clean_text,
    dynamic_from_wide,
    load_audio,
    merge_dynamic,
    read_optional_table,
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

#: Published size (cvml.unige.ch/databases/emoMusic): 1000 songs reduced to 744 after removing redundancies
#: (619 development + 125 evaluation).
PUBLISHED = {"tracks": 744, "note": "619 development + 125 evaluation clips (MediaEval 2013)"}

_STATIC_COLS = ("song_id", "mean_arousal", "mean_valence")
_SPLIT_COL = "Mediaeval 2013 set"
_START, _END = "start of the segment (min.sec)", "end of the segment (min.sec)"


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
        return self._annotation("dynamic")

    @core.cached_property
    def split(self):
        return self._info("split")

    @core.cached_property
    def artist(self):
        return self._info("artist")

    @core.cached_property
    def title(self):
        return self._info("title")

    @core.cached_property
    def genre(self):
        return self._info("genre")

    @core.cached_property
    def segment_start(self):
        return self._info("segment_start")

    @core.cached_property
    def segment_end(self):
        return self._info("segment_end")


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

    PUBLISHED = PUBLISHED

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
        return out

    def _load_annotations(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        a_path = self._optional_path("arousal_cont")
        v_path = self._optional_path("valence_cont")
        if a_path and v_path:
            arousal, valence = dynamic_from_wide(a_path), dynamic_from_wide(v_path)
            for tid in out:
                out[tid]["dynamic"] = merge_dynamic(arousal, valence, tid)
        return out

    def _load_info(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        path = self._optional_path("songs_info")
        if path is None:
            return out
        fields = OptionalFields(path, dataset=NAME)
        header, rows = read_optional_table(path, delimiter=",", fields=fields)
        if header and "song_id" not in header:
            fields.file_problem(f"has no 'song_id' column (header: {header})")
            rows = []
        for line_no, row in rows:
            tid = clean_id(row.get("song_id", ""))
            if tid in out:
                out[tid] = _info(row, line=line_no, fields=fields)
        fields.emit()
        return out


def _minsec(text) -> float:
    """'1.30' (minutes.seconds) -> 90.0 seconds."""
    minutes, _, seconds = str(text).partition(".")
    seconds = seconds.ljust(2, "0") if seconds else "0"
    if not minutes.isdigit() or not seconds.isdigit() or int(seconds) >= 60:
        raise ValueError("not a min.sec time")
    return 60.0 * int(minutes) + float(seconds)


def _split(text) -> str:
    if text not in ("development", "evaluation"):
        raise ValueError("expected development or evaluation")
    return text


def _info(row: dict, *, line: int, fields: OptionalFields) -> dict:
    def field(name):
        return clean_text(row.get(name))

    return {
        "split": fields.parse(field(_SPLIT_COL), _split, line=line, field=_SPLIT_COL),
        "artist": field("Artist"),
        "title": field("Song title"),
        "genre": field("Genre"),
        "segment_start": fields.parse(field(_START), _minsec, line=line, field=_START),
        "segment_end": fields.parse(field(_END), _minsec, line=line, field=_END),
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
