"""DEAM (MediaEval Database for Emotional Analysis in Music) loader: 1802 songs with arousal/valence.

Aljanaki, Yang & Soleymani, "Developing a benchmark for emotional analysis of music", PLOS ONE 2017.
Static (per-song) ratings are on a 1–9 scale; dynamic ratings are in [-1, 1] at 2 Hz from 15 s on.

Expected files (under ``data_home``; the index records where they are): ``MEMD_audio/<song_id>.mp3``;
``static_annotations_averaged_songs_1_2000.csv`` (1744 excerpts) and
``static_annotations_averaged_songs_2000_2058.csv`` (58 full songs; some copies name it
``..._2001_2058.csv``), whose column names start with a space (``song_id, valence_mean, valence_std,
arousal_mean, arousal_std``, the second file with extra min/max columns); ``arousal.csv`` / ``valence.csv``
under ``annotations averaged per song/dynamic (per second annotations)/``; optionally ``metadata_2013.csv``,
``metadata_2014.csv``, ``metadata_2015.csv`` (artist, title, genre). The metadata files are ragged — 2014 rows
carry a variable number of trailing tag fields, 2015 rows extra genre tokens and some shifted fields — so they
are read in a separate, forgiving pass: a field that cannot be read is missing (with a
:class:`~mer_audiolime.datasets.MetadataWarning`) and never stops the targets. See
``datasets/deam/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mirdata import core

from ..exceptions import DatasetError
from ._base import (
    EXTRA,
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
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "split_genres", "BIBTEX", "LICENSE_INFO"]

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
    "static_1_2000": ("static_annotations_averaged_songs_1_2000.csv",),
    # The published name is ..._2000_2058.csv; copies passed around (e.g. the SMC-2021 authors' paths.py)
    # name it ..._2001_2058.csv. Either is accepted; both at once is ambiguous.
    "static_2000_2058": (
        "static_annotations_averaged_songs_2000_2058.csv",
        "static_annotations_averaged_songs_2001_2058.csv",
    ),
}
METADATA_FILES = {f"metadata_{y}": f"metadata_{y}.csv" for y in (2013, 2014, 2015)}

#: Published size (Aljanaki et al. 2017; cvml.unige.ch/databases/DEAM): 1744 excerpts + 58 full songs.
PUBLISHED = {"tracks": 1802, "note": "1744 45-s excerpts (2013-2014 sets) + 58 full songs (2015 set)"}

# DEAM joins several genres with '-' ("Rock-Pop"); these hyphenated genre names are kept whole.
_GENRE_COMPOUNDS = ("hip-hop", "trip-hop", "lo-fi", "avant-garde", "post-rock", "singer-songwriter",
                    "new-age", "old-time", "nu-jazz", "drum-and-bass", "drum-n-bass", "r-n-b")


def split_genres(genre) -> list:
    """Split a DEAM genre field into genre names.

    DEAM's 2014 metadata joins several genres with hyphens (``"Rock-Pop"``) and the 2015 rows may carry extra
    genre tokens; genre names that contain a hyphen themselves (``Hip-Hop``, ``Trip-Hop``, ``Lo-Fi`` ...) are
    kept whole. Returns ``[]`` for None.

    Examples
    --------
    >>> split_genres("Rock-Hip-Hop-Electronic")
    ['Rock', 'Hip-Hop', 'Electronic']
    >>> split_genres("Singer-Songwriter")
    ['Singer-Songwriter']
    """
    if not genre:
        return []
    parts = [p.strip() for p in re.split(r"[-/,]", str(genre))]
    out, i = [], 0
    while i < len(parts):
        merged = False
        for size in (3, 2):
            chunk = parts[i:i + size]
            if len(chunk) == size and "-".join(chunk).lower() in _GENRE_COMPOUNDS:
                out.append("-".join(chunk))
                i += size
                merged = True
                break
        if not merged:
            if parts[i]:
                out.append(parts[i])
            i += 1
    return out


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
        annotation_file (str): which static file the song comes from
        dynamic (DynamicEmotion or None): 2 Hz ratings in [-1, 1]
        genre, artist, title, album (str or None): from the metadata files, when present and readable
        genres (list of str): the genre field split into genre names (see split_genres)
        tags (list of str): the free tags that follow a 2014 metadata row
        metadata_file (str or None): which metadata file describes the song
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
        return self._annotation("dynamic")

    @core.cached_property
    def genre(self):
        return self._info("genre")

    @core.cached_property
    def genres(self) -> list:
        return split_genres(self.genre)

    @core.cached_property
    def artist(self):
        return self._info("artist")

    @core.cached_property
    def title(self):
        return self._info("title")

    @core.cached_property
    def album(self):
        return self._info("album")

    @core.cached_property
    def tags(self) -> list:
        return list(self._info("tags") or [])

    @core.cached_property
    def metadata_file(self):
        return self._info("file")


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
    PUBLISHED = PUBLISHED

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
        return out

    def _load_annotations(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        arousal_path = self._optional_path("dynamic_arousal")
        valence_path = self._optional_path("dynamic_valence")
        if arousal_path and valence_path:
            arousal, valence = dynamic_from_wide(arousal_path), dynamic_from_wide(valence_path)
            for tid in out:
                out[tid]["dynamic"] = merge_dynamic(arousal, valence, tid)
        return out

    def _load_info(self) -> dict:
        out: dict = {tid: {} for tid in self._index["tracks"]}
        for key in METADATA_FILES:
            path = self._optional_path(key)
            if path is None:
                continue
            fields = OptionalFields(path, dataset=NAME)
            for tid, info in _read_info(path, fields, extra_is_genre=key.endswith("2015")).items():
                if tid in out:
                    out[tid] = info
            fields.emit()
        return out


def _read_static(path) -> dict:
    """Read one static file; DEAM's header cells start with a space, which read_table strips."""
    cols = ["song_id", "valence_mean", "arousal_mean"]
    header, rows = read_table(path, required=cols)
    out = {}
    for line_no, row in rows:
        where = f"{path} line {line_no}"
        tid = clean_id(row["song_id"])
        if not tid.isdigit():
            raise DatasetError(f"{where}: column 'song_id' holds {row['song_id']!r}, not a song number.")
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


# A bare number or an audio file name in a title/genre slot means the row's fields are shifted.
_SHIFTED = re.compile(r"[-+]?\d+(\.\d+)?|\d+\.(mp3|wav)", re.IGNORECASE)


def _read_info(path, fields: OptionalFields, *, extra_is_genre: bool = False) -> dict:
    """Artist/title/album/genre from one DEAM metadata file, forgivingly.

    The three years use different headers (2013: ``song_id, file_name, Artist, Song title, ..., Genre``; 2014:
    ``Id, Artist, Album, Track, Genre, ...`` followed by free tags; 2015: ``id, ..., title, artist, album,
    genre`` followed by extra genre tokens) and are matched by name. A row whose title or genre slot holds a
    bare number or a file name has shifted fields: its descriptive fields are all set to missing.
    """
    header, rows = read_optional_table(path, delimiter=",", normalize=lambda s: s.strip().lower(),
                                       fields=fields)
    if not header:
        return {}
    id_col = next((c for c in ("song_id", "id") if c in header), None)
    if id_col is None:
        fields.file_problem(f"has no song_id/id column (header: {header})")
        return {}
    pick = {
        "artist": next((c for c in header if c.startswith("artist")), None),
        "title": next((c for c in header if c in ("title", "song title", "track")), None),
        "album": next((c for c in header if c.startswith("album")), None),
        "genre": next((c for c in header if c.startswith("genre")), None),
    }
    out = {}
    for line_no, row in rows:
        tid = clean_id(row.get(id_col, ""))
        if not tid.isdigit():
            fields.bad(line=line_no, field=id_col, value=row.get(id_col),
                       reason="not a song number (the row is skipped)")
            continue
        info = {k: (clean_text(row[c]) if c else None) for k, c in pick.items()}
        extra = [c for c in (clean_text(x) for x in row[EXTRA]) if c]
        odd = next((pick[k] for k in ("title", "genre") if info[k] and _SHIFTED.fullmatch(info[k])), None)
        if odd is not None:
            fields.bad(line=line_no, field=odd, value=info[[k for k in pick if pick[k] == odd][0]],
                       reason="a number or file name where text belongs (shifted fields: the row's artist, "
                              "title, album and genre are all dropped)")
            info = {k: None for k in pick}
            extra = []
        if extra_is_genre and extra:
            info["genre"] = "-".join([info["genre"], *extra] if info["genre"] else extra)
            extra = []
        info["tags"] = extra
        info["file"] = Path(path).name
        out[tid] = info
    return out


def index_recipe(data_home) -> IndexRecipe:
    """Locate DEAM's annotation files and the audio of every statically annotated song."""
    metadata = {"static_1_2000": find_file(data_home, STATIC_FILES["static_1_2000"][0])}
    candidates = [(n, find_file(data_home, n, required=False)) for n in STATIC_FILES["static_2000_2058"]]
    found = [(n, rel) for n, rel in candidates if rel is not None]
    if len(found) > 1:
        raise DatasetError(
            f"both {found[0][1]!r} and {found[1][1]!r} are under {str(data_home)!r}: two copies of DEAM's "
            "full-song annotations; keep one so the index is unambiguous."
        )
    metadata["static_2000_2058"] = found[0][1] if found else None
    metadata.update({
        "dynamic_arousal": find_file(data_home, "arousal.csv", required=False, prefer="averaged"),
        "dynamic_valence": find_file(data_home, "valence.csv", required=False, prefer="averaged"),
        "dynamic_arousal_std": find_file(data_home, "arousal_std.csv", required=False, prefer="averaged"),
        "dynamic_valence_std": find_file(data_home, "valence_std.csv", required=False, prefer="averaged"),
    })
    for key, filename in METADATA_FILES.items():
        metadata[key] = find_file(data_home, filename, required=False, prefer="metadata")
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
