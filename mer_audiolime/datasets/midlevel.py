"""Mid-level Perceptual Features dataset loader (Aljanaki & Soleymani, ISMIR 2018).

5000 music clips rated by musicians on seven mid-level perceptual qualities: melodiousness, articulation,
rhythm complexity, rhythm stability, dissonance, tonal stability and minorness (modality). Ratings were
derived from pairwise comparisons and are published as per-clip means; the files hold values on roughly a
1–10 scale. Part of the clips come from the Soundtracks dataset (Eerola & Vuoskoski), flagged by the
metadata's ``Source`` column.

Expected files (any folder depth under ``data_home``; the index records where they are):
``metadata_annotations/annotations.csv`` (comma-separated: ``song_id`` + the 7 features),
``metadata_annotations/metadata.csv`` (*semicolon*-separated: ``song id``, ``Source``, ``Artist``, ...),
``audio/<song_id>.mp3``. Some copies of annotations.csv put a space after every comma of the header and name
the features ``melody``, ``atonality`` (tonal stability) and ``mode`` (minorness): these spellings are
accepted as aliases and the values used as they are. The metadata file is read in a forgiving pass (a field
that cannot be read is missing, with a :class:`~mer_audiolime.datasets.MetadataWarning`). See
``datasets/midlevel/README.md``.
"""

from __future__ import annotations

from pathlib import Path

from mirdata import core

from ..exceptions import DatasetError
from ..names import MIDLEVEL_NAMES
from ._base import (
    EmotionDataset,
    EmotionTrack,
    LocalIndex,
    OptionalFields,
    clean_id,
    clean_text,
    load_audio,
    read_optional_table,
    read_table,
    rows_by_id,
    to_float,
)
from ._index import IndexRecipe, find_audio, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "FEATURES", "BIBTEX", "LICENSE_INFO"]

NAME = "midlevel"
VERSION = "1.0"

#: The seven mid-level features, in the order the paper uses them.
FEATURES = MIDLEVEL_NAMES
# Header spellings seen in copies of annotations.csv -> canonical feature name (after stripping, lower-casing
# and turning inner spaces into underscores). "atonality" and "mode" name the last two columns in copies read
# by public loaders (e.g. columns renamed to [..., 'dissonance', 'atonality', 'mode'] next to
# `pd.read_csv('annotations.csv')`); they hold the tonal-stability and minorness ratings unchanged.
_ALIASES = {
    "melody": "melodiousness",
    "melodious": "melodiousness",
    "melodiousness": "melodiousness",
    "articulation": "articulation",
    "rhythm_complexity": "rhythm_complexity",
    "rhythmic_complexity": "rhythm_complexity",
    "rhythm_stability": "rhythm_stability",
    "rhythmic_stability": "rhythm_stability",
    "dissonance": "dissonance",
    "tonal_stability": "tonal_stability",
    "atonality": "tonal_stability",
    "tonality": "tonal_stability",
    "minorness": "minorness",
    "modality": "minorness",
    "mode": "minorness",
}

#: Published size (Aljanaki & Soleymani 2018; osf.io/5aupt): 5000 clips.
PUBLISHED = {"tracks": 5000, "note": "5000 clips"}

BIBTEX = """@inproceedings{aljanaki2018midlevel,
  author    = {Aljanaki, Anna and Soleymani, Mohammad},
  title     = {A Data-driven Approach to Mid-level Perceptual Musical Feature Modeling},
  booktitle = {Proceedings of the 19th International Society for Music Information Retrieval Conference
               (ISMIR)},
  pages     = {615--621},
  year      = {2018},
  address   = {Paris, France}
}"""

LICENSE_INFO = (
    "Research use. The annotations are distributed on OSF (https://osf.io/5aupt/); the audio clips come from "
    "third-party sources (e.g. Jamendo, Magnatagatune, the Soundtracks set) under their own terms. Check the "
    "OSF page before redistributing anything."
)

DOWNLOAD_INFO = """
The Mid-level Perceptual Features dataset is not downloaded automatically (its archives carry no published
checksums the project could verify). Download annotations and audio from https://osf.io/5aupt/, unpack them
into one folder so that it contains metadata_annotations/annotations.csv,
metadata_annotations/metadata.csv and audio/<song_id>.mp3, then build the index:

    mer-audiolime datasets index midlevel --data-home /path/to/midlevel
"""

INDEXES = {"default": VERSION, VERSION: LocalIndex(f"{NAME}_index_{VERSION}.json")}

_META_ID = "song id"


class Track(EmotionTrack):
    """Mid-level features track.

    Args:
        track_id (str): song id (the audio file stem)

    Attributes:
        track_id (str): song id
        audio_path (str): path to the MP3 clip

    Cached Properties:
        melodiousness, articulation, rhythm_complexity, rhythm_stability, dissonance, tonal_stability,
        minorness (float): mean rating (about 1-10)
        midlevel (dict): the seven features by name
        source (str or None): where the clip comes from (metadata ``Source``)
        artist (str or None): performing artist
        in_soundtracks (bool): whether the clip is one of the Soundtracks-dataset excerpts
        metadata (dict): the raw metadata row (all columns, as strings)
    """

    TARGET_NAMES = FEATURES

    @core.cached_property
    def midlevel(self) -> dict:
        values = self._meta("midlevel")
        if values is None:
            raise DatasetError(
                f"midlevel track {self.track_id} has no row in annotations.csv; rebuild the index."
            )
        return dict(values)

    @core.cached_property
    def melodiousness(self) -> float:
        return self.midlevel["melodiousness"]

    @core.cached_property
    def articulation(self) -> float:
        return self.midlevel["articulation"]

    @core.cached_property
    def rhythm_complexity(self) -> float:
        return self.midlevel["rhythm_complexity"]

    @core.cached_property
    def rhythm_stability(self) -> float:
        return self.midlevel["rhythm_stability"]

    @core.cached_property
    def dissonance(self) -> float:
        return self.midlevel["dissonance"]

    @core.cached_property
    def tonal_stability(self) -> float:
        return self.midlevel["tonal_stability"]

    @core.cached_property
    def minorness(self) -> float:
        return self.midlevel["minorness"]

    @core.cached_property
    def metadata(self) -> dict:
        return dict(self._info("row") or {})

    @core.cached_property
    def source(self):
        return self.metadata.get("Source") or None

    @core.cached_property
    def artist(self):
        return self.metadata.get("Artist") or None

    @core.cached_property
    def in_soundtracks(self) -> bool:
        return "soundtrack" in (self.source or "").lower()


@core.docstring_inherit(core.Dataset)
class Dataset(EmotionDataset):
    """The Mid-level Perceptual Features dataset (Aljanaki & Soleymani 2018)."""

    NAME = NAME
    TRACK_CLASS = Track
    BIBTEX = BIBTEX
    LICENSE_INFO = LICENSE_INFO
    DOWNLOAD_INFO = DOWNLOAD_INFO
    INDEXES = INDEXES
    TARGET_RANGES = {f: (1.0, 10.0) for f in FEATURES}

    PUBLISHED = PUBLISHED

    def _load_metadata(self) -> dict:
        annotations = _read_annotations(self._metadata_path("annotations"))
        return {track_id: {"midlevel": values} for track_id, values in annotations.items()}

    def _load_info(self) -> dict:
        path = self._optional_path("metadata")
        if path is None:
            return {}
        fields = OptionalFields(path, dataset=NAME)
        header, rows = read_optional_table(path, delimiter=";", fields=fields)
        out = {}
        if header and _META_ID not in header:
            fields.file_problem(
                f"has no {_META_ID!r} column (header: {header}); it should be separated by semicolons"
            )
            rows = []
        for line_no, row in rows:
            key = clean_id(row.get(_META_ID, ""))
            if key:
                cells = {c: clean_text(v) or "" for c, v in row.items() if isinstance(v, str)}
                out[key] = {"row": cells}
        fields.emit()
        return out


def _read_annotations(path) -> dict:
    header, rows = read_table(path, delimiter=",", required=["song_id"])
    columns: dict = {}
    for col in header:
        key = "_".join(col.strip().lower().split())
        if key in _ALIASES:
            feature = _ALIASES[key]
            if feature in columns:
                raise DatasetError(
                    f"{path!r}: columns {columns[feature]!r} and {col!r} both name {feature!r}; keep one."
                )
            columns[feature] = col
    missing = [f for f in FEATURES if f not in columns]
    if missing:
        raise DatasetError(f"{path!r} lacks mid-level column(s) {missing} (header: {header}).")
    out = {}
    for track_id, (line_no, row) in rows_by_id(rows, "song_id").items():
        where = f"{path} line {line_no}"
        out[track_id] = {f: to_float(row[columns[f]], where=where, column=columns[f]) for f in FEATURES}
    return out


def index_recipe(data_home) -> IndexRecipe:
    """Locate the annotation files and the audio of every annotated clip under ``data_home``."""
    ann = find_file(data_home, "annotations.csv", prefer="metadata_annotations")
    meta = find_file(data_home, "metadata.csv", required=False, prefer="metadata_annotations")
    _, rows = read_table(Path(data_home) / ann, delimiter=",", required=["song_id"])
    ids = [clean_id(r["song_id"]) for _, r in rows]
    audio = find_audio(data_home, within="audio.*", pattern=r"\d+")
    recipe = IndexRecipe(metadata={"annotations": ann, "metadata": meta})
    for track_id in ids:
        if track_id in audio:
            recipe.tracks[track_id] = {"audio": audio[track_id]}
        else:
            recipe.excluded[track_id] = "audio file not found"
    return recipe
