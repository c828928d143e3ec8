"""Pass-through to mirdata's own ``mtg_jamendo_autotagging_moodtheme`` loader.

MTG-Jamendo mood/theme (Bogdanov et al., 2019) is the only mood dataset mirdata ships. This module keeps
mirdata's Track/Dataset (tags, artist/album ids, the five official splits) and changes two things only:

* **Index lookup works offline.** mirdata 1.0 downloads this dataset's index from Zenodo on ``.download()``.
  When that file is absent, the index is looked for where the other loaders look
  (``<data_home>/mtg_jamendo_autotagging_moodtheme_index_1.0.json``, ``$MER_AUDIOLIME_INDEX_DIR``), and
  :func:`index_recipe` builds one from a local copy; a missing index raises :class:`IndexMissingError`.
* **Audio goes through** :func:`mer_audiolime.audio.load_audio` (typed errors, ``(channels, samples)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mirdata import core
from mirdata.datasets import mtg_jamendo_autotagging_moodtheme as _mirdata_mtg

from ..exceptions import DatasetError, IndexMissingError
from ._base import candidate_index_paths, load_audio, read_table
from ._index import IndexRecipe, data_files, find_file

__all__ = ["Dataset", "Track", "load_audio", "index_recipe", "BIBTEX", "LICENSE_INFO", "NAME"]

NAME = "mtg_jamendo_autotagging_moodtheme"
BIBTEX = _mirdata_mtg.BIBTEX
LICENSE_INFO = (
    "Creative Commons Attribution NonCommercial Share Alike 4.0 International (audio: per-track CC)."
)
DOWNLOAD_INFO = _mirdata_mtg.DOWNLOAD_INFO
REMOTES = _mirdata_mtg.REMOTES
INDEXES = _mirdata_mtg.INDEXES
SPLIT_PARTS = ("train", "validation", "test")


class Track(_mirdata_mtg.Track):
    """MTG-Jamendo mood/theme track (mirdata's Track; audio decoded by mer_audiolime).

    Args:
        track_id (str): Jamendo track id, e.g. ``track_0000948``

    Attributes:
        audio_path (str): path to the MP3

    Cached Properties:
        artist_id, album_id (str): Jamendo ids
        duration (float): seconds
        tags (list of str): mood/theme tags
    """

    TARGET_NAMES: tuple = ()

    @property
    def audio(self) -> tuple[np.ndarray, float]:
        """The track's audio: ``(channels, samples)`` float32 at the native rate, and the rate in Hz."""
        return load_audio(self.audio_path)

    @property
    def static_targets(self) -> dict:
        """Tags are categorical: there are no numeric static targets."""
        return {}


@core.docstring_inherit(core.Dataset)
class Dataset(_mirdata_mtg.Dataset):
    """mirdata's MTG-Jamendo mood/theme dataset with an offline-friendly index lookup."""

    NAME = NAME
    TARGET_RANGES: dict = {}

    def __init__(self, data_home=None, version="default", *, index_path=None):
        if data_home is not None:
            home = Path(data_home).expanduser()
            if not home.is_dir():
                raise DatasetError(f"data_home {str(home)!r} for {NAME!r} does not exist or is not a folder.")
            data_home = str(home.resolve())
        if version not in INDEXES:
            raise DatasetError(f"{NAME}: unknown version {version!r}; choose one of {sorted(INDEXES)}.")
        super().__init__(data_home=data_home, version=version)
        self._track_class = Track
        mirdata_path = Path(self.index_path)
        self._index_candidates = [mirdata_path] if index_path is None else []
        self._index_candidates += candidate_index_paths(NAME, self.version, self.data_home, index_path)
        found = next((p for p in self._index_candidates if p.is_file()), None)
        self.index_path = str(found if found is not None else self._index_candidates[0])

    @core.cached_property
    def _index(self):
        path = Path(self.index_path)
        if not path.is_file():
            looked = ", ".join(str(p) for p in self._index_candidates)
            raise IndexMissingError(
                f"no index for {NAME!r} (version {self.version}); looked at: {looked}. "
                "Either fetch mirdata's "
                f"official index with mirdata.initialize({NAME!r}).download(['metadata']) (needs network) or "
                "build one from your copy with "
                f"`mer-audiolime datasets index {NAME} --data-home {self.data_home}`."
            )
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DatasetError(f"index {str(path)!r} is not valid JSON ({err}); rebuild it.") from None
        if not isinstance(index, dict) or not isinstance(index.get("tracks"), dict):
            raise DatasetError(f"index {str(path)!r} has no 'tracks' mapping; rebuild it.")
        return index

    @core.cached_property
    def _metadata(self):
        try:
            return super()._metadata
        except FileNotFoundError as err:
            raise DatasetError(
                f"MTG-Jamendo metadata missing under {self.data_home!r} ({err}); it needs "
                "data/autotagging_moodtheme.tsv and data/splits/split-<k>/autotagging_moodtheme-<part>.tsv."
            ) from None

    def _track(self, track_id):
        if str(track_id) not in self._index["tracks"]:
            raise DatasetError(f"{track_id!r} is not a track of {NAME}; see .track_ids for valid ids.")
        return super()._track(str(track_id))


def index_recipe(data_home) -> IndexRecipe:
    """Index a local copy: ``data/autotagging_moodtheme.tsv``, the split files, and ``audios/<PATH>``."""
    data_home = Path(data_home)
    tsv = find_file(data_home, "autotagging_moodtheme.tsv", prefer="data")
    metadata = {"autotagging_moodtheme": tsv}
    for k in range(5):
        for part in SPLIT_PARTS:
            rel = Path("data") / "splits" / f"split-{k}" / f"autotagging_moodtheme-{part}.tsv"
            metadata[f"split_{k}_{part}"] = rel.as_posix() if (data_home / rel).is_file() else None
    # Audio files are addressed by the TSV's PATH column ("48/948.mp3"): match on the last two path parts.
    by_suffix = {}
    for p in data_files(data_home):
        if p.suffix.lower() == ".mp3":
            by_suffix.setdefault("/".join(p.parts[-2:]), p.relative_to(data_home).as_posix())
    recipe = IndexRecipe(metadata=metadata)
    # Rows are ragged (one cell per tag), so read with a wide-enough header: only the first 5 cells matter.
    _, rows = read_table(data_home / tsv, delimiter="\t", required=["TRACK_ID", "PATH"],
                         normalize=str.strip, allow_extra=True)
    for _, row in rows:
        tid, rel = row["TRACK_ID"].strip(), row["PATH"].strip()
        if rel in by_suffix:
            recipe.tracks[tid] = {"audio": by_suffix[rel]}
        else:
            recipe.excluded[tid] = f"audio {rel} not found"
    return recipe
