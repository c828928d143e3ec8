"""PMEmo (2019) loader: 794 pop-song chorus clips with static and dynamic arousal/valence.

Zhang et al., "The PMEmo Dataset for Music Emotion Recognition", ICMR 2018. Ratings are means over
annotators, normalised to [0, 1]; 767 of the 794 songs have static ratings. Dynamic ratings are sampled every
0.5 s; the release drops the first 15 s of annotation, so the first frame is at 15.5 s into the clip.

Expected files (under ``data_home``, usually inside ``PMEmo2019/``): ``chorus/<musicId>.mp3``,
``annotations/static_annotations.csv`` (``musicId, Arousal(mean), Valence(mean)``),
``annotations/static_annotations_std.csv``, ``annotations/dynamic_annotations.csv`` (long format:
``musicId, frameTime, Arousal(mean), Valence(mean)``) and ``metadata.csv`` (``musicId, fileName, title,
artist, album, duration, chorus_start_time, chorus_end_time``; the chorus bounds are ``"mm:ss"`` strings such
as ``"02:50"``). Static ratings are the required targets; the standard deviations and dynamic ratings are read
only when asked for, and metadata.csv in a forgiving pass (a field that cannot be read is missing, with a
:class:`~mer_audiolime.datasets.MetadataWarning`). See ``datasets/pmemo/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mirdata import core

from ._base import (
    DynamicEmotion,
    EmotionDataset,
    EmotionTrack,
    LocalIndex,
    OptionalFields,
    clean_id,
    clean_text,
    load_audio,
    parse_clock,
    read_optional_table,
    read_table,
    rows_by_id,
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "BIBTEX", "LICENSE_INFO"]

NAME = "pmemo"
VERSION = "2019"

BIBTEX = """@inproceedings{zhang2018pmemo,
  author    = {Zhang, Kejun and Zhang, Hui and Li, Simeng and Yang, Changyuan and Sun, Lingyun},
  title     = {The PMEmo Dataset for Music Emotion Recognition},
  booktitle = {Proceedings of the 2018 ACM International Conference on Multimedia Retrieval (ICMR)},
  pages     = {135--142},
  year      = {2018},
  doi       = {10.1145/3206025.3206037}
}"""

LICENSE_INFO = (
    "Free for research use on request; see https://github.com/HuiZhangDB/PMEmo and http://pmemo.hellohui.cn/ "
    "for the terms. The chorus clips are excerpts of commercial recordings: do not redistribute them."
)

DOWNLOAD_INFO = """
PMEmo is distributed by its authors (https://github.com/HuiZhangDB/PMEmo, http://pmemo.hellohui.cn/) through a
shared drive; it cannot be downloaded automatically. Unpack PMEmo2019 into a folder and build the index:

    mer-audiolime datasets index pmemo --data-home /path/to/folder-containing-PMEmo2019
"""

INDEXES = {"default": VERSION, VERSION: LocalIndex(f"{NAME}_index_{VERSION}.json")}

#: Published size (github.com/HuiZhangDB/PMEmo, docs/data/overview.json): 794 songs, 767 with static ratings.
#: The index holds the statically annotated songs, so 767 is the complete count.
PUBLISHED = {"tracks": 767, "note": "767 of PMEmo's 794 songs have static ratings"}

_ID = "musicId"
_A, _V = "Arousal(mean)", "Valence(mean)"
_A_STD, _V_STD = "Arousal(std)", "Valence(std)"


class Track(EmotionTrack):
    """PMEmo track (a chorus clip).

    Args:
        track_id (str): PMEmo musicId

    Attributes:
        track_id (str): musicId
        audio_path (str): path to the chorus MP3

    Cached Properties:
        arousal, valence (float or None): static mean ratings in [0, 1] (None if the song has none)
        arousal_std, valence_std (float or None): their standard deviations
        dynamic (DynamicEmotion or None): ratings every 0.5 s, from 15.5 s into the clip
        title, artist, album (str or None): song metadata
        duration (float or None): the song's duration in seconds, as metadata.csv gives it
        chorus_start, chorus_end (float or None): chorus bounds in the full song, seconds (from "mm:ss")
    """

    TARGET_NAMES = ("arousal", "valence")

    @core.cached_property
    def arousal(self):
        return (self._meta("static") or {}).get("arousal")

    @core.cached_property
    def valence(self):
        return (self._meta("static") or {}).get("valence")

    @core.cached_property
    def arousal_std(self):
        return (self._annotation("static_std") or {}).get("arousal")

    @core.cached_property
    def valence_std(self):
        return (self._annotation("static_std") or {}).get("valence")

    @core.cached_property
    def dynamic(self):
        return self._annotation("dynamic")

    @core.cached_property
    def title(self):
        return self._info("title")

    @core.cached_property
    def artist(self):
        return self._info("artist")

    @core.cached_property
    def album(self):
        return self._info("album")

    @core.cached_property
    def duration(self):
        return self._info("duration")

    @core.cached_property
    def chorus_start(self):
        return self._info("chorus_start_time")

    @core.cached_property
    def chorus_end(self):
        return self._info("chorus_end_time")


@core.docstring_inherit(core.Dataset)
class Dataset(EmotionDataset):
    """The PMEmo 2019 dataset."""

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    TARGET_RANGES = {"arousal": (0.0, 1.0), "valence": (0.0, 1.0)}
    PUBLISHED = PUBLISHED

    def _load_metadata(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        for tid, val in _read_pair(self._metadata_path("static"), _A, _V).items():
            if tid in out:
                out[tid]["static"] = val
        return out

    def _load_annotations(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        std_path = self._optional_path("static_std")
        if std_path is not None:
            for tid, val in _read_pair(std_path, _A_STD, _V_STD).items():
                if tid in out:
                    out[tid]["static_std"] = val
        dyn_path = self._optional_path("dynamic")
        if dyn_path is not None:
            for tid, val in _read_dynamic(dyn_path).items():
                if tid in out:
                    out[tid]["dynamic"] = val
        return out

    def _load_info(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        path = self._optional_path("metadata")
        if path is None:
            return out
        fields = OptionalFields(path, dataset=NAME)
        out.update({tid: info for tid, info in _read_info(path, fields).items() if tid in out})
        fields.emit()
        return out


def _read_info(path, fields: OptionalFields) -> dict:
    """metadata.csv, forgivingly: chorus bounds are "mm:ss" strings, duration seconds (or mm:ss)."""
    header, rows = read_optional_table(path, delimiter=",", fields=fields)
    if header and _ID not in header:
        fields.file_problem(f"has no {_ID!r} column (header: {header})")
        return {}
    out = {}
    for line_no, row in rows:
        tid = clean_id(row.get(_ID, ""))
        if not tid:
            continue
        info = {k: clean_text(row.get(k)) for k in ("title", "artist", "album", "fileName")}
        for key in ("duration", "chorus_start_time", "chorus_end_time"):
            info[key] = fields.parse(row.get(key), parse_clock, line=line_no, field=key)
        out[tid] = info
    return out


def _read_pair(path, a_col, v_col) -> dict:
    _, rows = read_table(path, required=[_ID, a_col, v_col])
    out = {}
    for tid, (line_no, row) in rows_by_id(rows, _ID).items():
        where = f"{path} line {line_no}"
        out[tid] = {
            "arousal": to_float(row[a_col], where=where, column=a_col),
            "valence": to_float(row[v_col], where=where, column=v_col),
        }
    return out


def _read_dynamic(path) -> dict:
    _, rows = read_table(path, required=[_ID, "frameTime", _A, _V])
    series: dict = {}
    for line_no, row in rows:
        where = f"{path} line {line_no}"
        tid = clean_id(row[_ID])
        t = to_float(row["frameTime"], where=where, column="frameTime")
        a = to_float(row[_A], where=where, column=_A)
        v = to_float(row[_V], where=where, column=_V)
        series.setdefault(tid, []).append((t, a, v))
    out = {}
    for tid, triples in series.items():
        arr = np.asarray(sorted(triples), dtype=np.float64)
        out[tid] = DynamicEmotion(times=arr[:, 0], arousal=arr[:, 1], valence=arr[:, 2])
    return out


def index_recipe(data_home) -> IndexRecipe:
    """Locate PMEmo's annotation files and the chorus clip of every statically annotated song."""
    static = find_file(data_home, "static_annotations.csv")
    recipe = IndexRecipe(
        metadata={
            "static": static,
            "static_std": find_file(data_home, "static_annotations_std.csv", required=False),
            "dynamic": find_file(data_home, "dynamic_annotations.csv", required=False),
            "dynamic_std": find_file(data_home, "dynamic_annotations_std.csv", required=False),
            "metadata": find_file(data_home, "metadata.csv", required=False, prefer="PMEmo"),
        }
    )
    _, rows = read_table(Path(data_home) / static, required=[_ID])
    audio = find_audio(data_home, within="chorus", pattern=r"\d+")
    for tid in rows_by_id(rows, _ID):
        if tid in audio:
            recipe.tracks[tid] = {"audio": audio[tid]}
        else:
            recipe.excluded[tid] = "chorus audio file not found"
    return recipe
