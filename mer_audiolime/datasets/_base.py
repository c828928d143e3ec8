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
* **Three separate passes.** Required targets (``_load_metadata``: strict, a malformed cell raises
  :class:`DatasetError` naming file, line and column), optional numeric annotations such as dynamic ratings
  (``_load_annotations``: strict, but only when they are asked for) and optional descriptive metadata
  (``_load_info``: artist, genre, chorus times ..., where a bad field becomes a missing value and one
  :class:`MetadataWarning`). A bad genre never stops ``track.valence``.
* **Counts against the published size.** :meth:`EmotionDataset.coverage` (printed by ``validate()`` and
  ``mer-audiolime datasets info/validate``) says how many tracks of the published total the index holds, so an
  incomplete copy or a misread layout shows at once.
* Audio goes through :func:`mer_audiolime.audio_decode.load_audio`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from mirdata import core

from ..audio_decode import load_audio as _load_audio
from ..exceptions import AudioDecodeError, DatasetError, IndexMissingError
# The table readers (collected in ._tables) are re-exported for the loader modules.
from ._dynamic import DynamicEmotion, dynamic_from_wide, merge_dynamic  # noqa: F401
from ._metadata import (  # noqa: F401
    EXTRA,
    MetadataWarning,
    OptionalFields,
    clean_text,
    parse_clock,
    read_optional_table,
)
from ._targets import clean_id, read_sheet, read_table, rows_by_id, to_float  # noqa: F401

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
    "MetadataWarning",
    "describe_coverage",
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
        The file is missing, not audio, or an MP3 shorter than its header announces (truncated).
    """
    if fhandle is None:
        raise DatasetError(
            "this track has no audio file in the index; rebuild the index or pick another track."
        )
    audio, sr = _load_audio(fhandle)
    declared = _declared_frames(fhandle)
    if declared is not None and declared[1] == sr:
        frames = declared[0]
        # An MP3 whose Xing/Info header announces more audio than the stream holds was cut short: decoding
        # it would silently hand back a shorter clip. Allow two MPEG frames of encoder/decoder slack.
        if audio.shape[1] < frames - max(2 * 1152, int(0.005 * frames)):
            raise AudioDecodeError(
                f"{str(fhandle)!r} is truncated: its header announces {frames / sr:.2f} s but only "
                f"{audio.shape[1] / sr:.2f} s decode; re-extract the file (validate() lists changed files)."
            )
    return audio, float(sr)


def _declared_frames(path):
    """``(frames, samplerate)`` from the file header (no decoding), or None when libsndfile cannot say."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # not readable by libsndfile (e.g. m4a through audioread): nothing to compare
        return None
    return (int(info.frames), int(info.samplerate)) if info.frames > 0 else None


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
        """A value of the required-targets pass (``Dataset._load_metadata``)."""
        meta = self._metadata() or {}
        return meta.get(self.track_id, {}).get(key, default)

    def _section(self, name: str) -> dict:
        getter = getattr(self, "_dataset_section", None)
        if getter is None:  # a Track built by hand, outside its Dataset: no optional sections
            return {}
        return getter(name).get(self.track_id) or {}

    def _annotation(self, key, default=None):
        """A value of the optional-annotations pass (``Dataset._load_annotations``; strict when asked for)."""
        return self._section("annotations").get(key, default)

    def _info(self, key, default=None):
        """A value of the optional-metadata pass (``Dataset._load_info``; bad fields are None + a warning)."""
        return self._section("info").get(key, default)

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
            raise DatasetError(
                f"{self.NAME}: unknown version {version!r}; choose one of {sorted(self.INDEXES)}."
            )
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
                f"no index for {self.NAME!r} (version {self.version}); looked at: {looked}. "
                "Build one from your "
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
        """Required targets: ``{track_id: {key: value}}``; a malformed cell raises :class:`DatasetError`."""
        raise NotImplementedError

    def _load_annotations(self) -> dict:
        """Optional numeric annotations (dynamic ratings, standard deviations): ``{track_id: {key: value}}``.

        Parsed only when a track asks for one; a malformed cell raises when it is asked for, never earlier.
        """
        return {}

    def _load_info(self) -> dict:
        """Optional descriptive metadata (artist, genre, ...): ``{track_id: {key: value}}``.

        A field that cannot be read is None and reported once per file and field as a
        :class:`MetadataWarning` (see :class:`~mer_audiolime.datasets._metadata.OptionalFields`).
        """
        return {}

    def _dataset_section(self, name: str) -> dict:
        cache = self.__dict__.setdefault("_section_cache", {})
        if name not in cache:
            loader = {"annotations": self._load_annotations, "info": self._load_info}[name]
            cache[name] = loader()
        return cache[name]

    def _optional_path(self, key: str):
        """Path of an optional file of the index, or None; one listed but gone: a warning, not an error."""
        path = self._metadata_path(key, required=False)
        if path is not None and not os.path.isfile(path):
            fields = OptionalFields(path, dataset=self.NAME)
            fields.file_problem("is listed in the index but missing (validate() lists every missing file)")
            fields.emit()
            return None
        return path

    def _track(self, track_id):  # behind mirdata's ``dataset.track(track_id)``
        if str(track_id) not in self._index["tracks"]:
            raise DatasetError(f"{track_id!r} is not a track of {self.NAME}; see .track_ids for valid ids.")
        track = super()._track(str(track_id))
        track._dataset_section = self._dataset_section
        return track

    #: Published size: ``{"tracks": n}`` plus dataset-specific detail; see :meth:`coverage`.
    PUBLISHED: dict = {}

    def coverage(self) -> dict:
        """How many tracks of the published total this copy's index holds.

        Returns
        -------
        dict
            ``dataset``, ``found`` (tracks in the index), ``published`` (the dataset's documented size, or
            None), ``excluded`` (annotated tracks left out because their audio is missing), ``complete``
            (found == published), ``parts`` (per-part counts where the dataset has parts, e.g. Soundtracks'
            sets) and ``note`` (how the published number is defined).

        Examples
        --------
        >>> datasets.load("deam", data_home="/data/DEAM").coverage()["found"]   # doctest: +SKIP
        1802
        """
        tracks = list(self._index["tracks"])
        published = self.PUBLISHED.get("tracks")
        out = {
            "dataset": self.NAME,
            "found": len(tracks),
            "published": published,
            "excluded": len(self._index.get("excluded") or {}),
            "complete": published is not None and len(tracks) >= published,
            "parts": {},
            "note": self.PUBLISHED.get("note", ""),
        }
        for part, (prefix, n) in (self.PUBLISHED.get("parts") or {}).items():
            found = sum(t.startswith(prefix) for t in tracks)
            out["parts"][part] = {"found": found, "published": n}
        return out

    def coverage_line(self) -> str:
        """:meth:`coverage` as one sentence, e.g. ``deam: 1802 of 1802 published tracks indexed``."""
        return describe_coverage(self.coverage())

    def validate(self, verbose: bool = True):
        """md5-check every file of the index (mirdata's validate) and report the found/published count.

        Parameters
        ----------
        verbose : bool
            Print the missing/changed files (mirdata logs them) and the coverage line.

        Returns
        -------
        missing : dict
            ``{"tracks": {id: [paths]}, "metadata": {key: [paths]}}`` of files in the index but not on disk.
        invalid : dict
            Same layout, files whose md5 differs from the index.
        """
        missing, invalid = super().validate(verbose=verbose)
        if verbose:
            print(self.coverage_line())
        return missing, invalid


def describe_coverage(cov: dict) -> str:
    """One sentence for a :meth:`EmotionDataset.coverage` dict (used by ``validate()`` and the CLI)."""
    found, published = cov["found"], cov["published"]
    if published is None:
        text = f"{cov['dataset']}: {found} tracks indexed (published size not recorded)"
    else:
        text = f"{cov['dataset']}: {found} of {published} published tracks indexed"
    parts = cov.get("parts") or {}
    if parts:
        text += " (" + ", ".join(f"{p} {v['found']}/{v['published']}" for p, v in parts.items()) + ")"
    if cov.get("excluded"):
        text += f"; {cov['excluded']} annotated tracks left out for missing audio"
    if cov.get("note"):
        text += f"; {cov['note']}"
    if published is not None and found < published:
        text += (". This copy is incomplete or its layout was misread: see 'excluded' in the index and the "
                 "expected layout on the dataset card")
    return text + "."
