"""Building mirdata index files from a user's local copy of a dataset.

Each loader module defines ``index_recipe(data_home) -> IndexRecipe``: which track ids exist, the relative
path of each track's audio, and the relative paths of the annotation files. :func:`write_index` turns a
recipe into an index JSON by hashing every file, with a progress bar::

    {"version": ..., "tracks": {id: {"audio": [relpath, md5]}}, "metadata": {key: [relpath, md5]}}

Paths are relative to ``data_home`` so the copy can move.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..exceptions import DatasetError
from ..fileio import file_digest

__all__ = [
    "IndexRecipe",
    "data_files",
    "write_index",
    "index_dict",
    "write_json_atomic",
    "md5",
    "find_file",
    "find_audio",
    "AUDIO_EXTENSIONS",
]

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aiff", ".aif")
_IGNORED_PARTS = ("__MACOSX",)


@dataclass
class IndexRecipe:
    """What an index will contain, before hashing.

    Attributes
    ----------
    tracks : dict
        ``{track_id: {"audio": relpath}}``.
    metadata : dict
        ``{key: relpath}`` of annotation/metadata files (``None`` for an optional file that is absent).
    excluded : dict
        ``{track_id: reason}`` for annotated tracks left out (e.g. their audio file is missing).
    """

    tracks: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    excluded: dict = field(default_factory=dict)


def md5(path) -> str:
    """md5 hex digest of a file (mirdata's checksum)."""
    return file_digest(path, "md5")


def data_files(data_home: Path):
    """Every file under ``data_home``, sorted, without archive debris (``__MACOSX`` folders, ``._*`` files).

    Parameters
    ----------
    data_home : Path
        The dataset's root folder.

    Yields
    ------
    Path
        Each file, in sorted order.

    Examples
    --------
    >>> [p.name for p in data_files(Path("DEAM"))]                       # doctest: +SKIP
    ['static_annotations_averaged_songs_1_2000.csv', ...]
    """
    for p in sorted(data_home.rglob("*")):
        ignored = any(part in _IGNORED_PARTS for part in p.parts) or p.name.startswith("._")
        if p.is_file() and not ignored:
            yield p


def find_file(data_home, filename: str, *, required: bool = True, prefer: str | None = None):
    """Relative path (POSIX) of the one file named ``filename`` under ``data_home``.

    Parameters
    ----------
    data_home : path-like
    filename : str
        Exact file name (case-insensitive).
    required : bool
        Raise :class:`DatasetError` when absent; otherwise return None.
    prefer : str, optional
        Substring of the relative path that breaks ties between several matches.
    """
    data_home = Path(data_home)
    hits = [p for p in data_files(data_home) if p.name.lower() == filename.lower()]
    if prefer is not None and len(hits) > 1:
        preferred = [p for p in hits if prefer.lower() in p.relative_to(data_home).as_posix().lower()]
        hits = preferred or hits
    if not hits:
        if required:
            raise DatasetError(
                f"{filename!r} was not found anywhere under {str(data_home)!r}; "
                "is data_home the folder where "
                "the dataset archives were unpacked? See the dataset card for the expected layout."
            )
        return None
    if len(hits) > 1:
        listed = ", ".join(p.relative_to(data_home).as_posix() for p in hits)
        raise DatasetError(
            f"{filename!r} appears {len(hits)} times under {str(data_home)!r} ({listed}); "
            "remove the duplicate "
            "copies so the index is unambiguous."
        )
    return hits[0].relative_to(data_home).as_posix()


def find_audio(data_home, *, within: str | None = None, pattern: str | None = None) -> dict:
    """Map audio file stems to relative paths.

    Parameters
    ----------
    data_home : path-like
    within : str, optional
        Regular expression that some folder of the relative path must match (case-insensitive), e.g.
        ``r"set\\s*1"`` to separate Soundtracks set 1 from set 2.
    pattern : str, optional
        Regular expression the file stem must fully match.

    Raises
    ------
    DatasetError
        Two audio files with the same stem (the id would be ambiguous).
    """
    data_home = Path(data_home)
    out, where = {}, {}
    within_re = re.compile(within, re.IGNORECASE) if within else None
    stem_re = re.compile(pattern) if pattern else None
    for p in data_files(data_home):
        if p.suffix.lower() not in AUDIO_EXTENSIONS:
            continue
        rel = p.relative_to(data_home)
        if within_re is not None and not any(within_re.fullmatch(part) for part in rel.parts[:-1]):
            continue
        if stem_re is not None and not stem_re.fullmatch(p.stem):
            continue
        if p.stem in out:
            raise DatasetError(
                f"two audio files share the id {p.stem!r}: {where[p.stem]} and {rel.as_posix()}; keep one."
            )
        out[p.stem] = rel.as_posix()
        where[p.stem] = rel.as_posix()
    return out


def index_dict(recipe: IndexRecipe, *, version: str, data_home=None, progress: bool = False,
               name: str = "") -> dict:
    """The index of ``recipe`` as a dict; with ``data_home`` every file is md5-hashed, else md5s are None.

    Returns
    -------
    dict
        ``{"version", "tracks": {id: {key: [relpath, md5]}}, "metadata": {key: [relpath, md5]}, "built_by",
        "excluded"}``.
    """
    from tqdm.auto import tqdm

    def digest(rel):
        return md5(Path(data_home) / rel) if data_home is not None else None

    tracks = {}
    items = sorted(recipe.tracks.items(), key=lambda kv: _sort_key(kv[0]))
    for track_id, files in tqdm(items, desc=f"hashing {name}", unit="track",
                                disable=not progress or data_home is None):
        tracks[track_id] = {k: [rel, digest(rel)] for k, rel in sorted(files.items())}
    metadata = {
        k: ([rel, digest(rel)] if rel is not None else [None, None])
        for k, rel in sorted(recipe.metadata.items())
    }
    return {
        "version": version,
        "tracks": tracks,
        "metadata": metadata,
        "built_by": f"mer_audiolime {__version__}",
        "excluded": dict(sorted(recipe.excluded.items(), key=lambda kv: _sort_key(kv[0]))),
    }


def write_json_atomic(payload: dict, out) -> Path:
    """Write ``payload`` as JSON to ``out`` via a temporary file in the same folder (removed on failure)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(payload, indent=1, sort_keys=False) + "\n")
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_index(
    recipe: IndexRecipe, *, name: str, version: str, data_home, out, progress: bool = True
) -> Path:
    """Hash every file of ``recipe`` and write the index JSON to ``out`` (atomically).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    data_home = Path(data_home)
    if not recipe.tracks:
        raise DatasetError(
            f"no {name} track with both annotations and audio was found under {str(data_home)!r}; check "
            "data_home and the layout described in the dataset card."
        )
    index = index_dict(recipe, version=version, data_home=data_home, progress=progress, name=name)
    return write_json_atomic(index, out)


def _sort_key(track_id: str):
    return (0, int(track_id), "") if track_id.isdigit() else (1, 0, track_id)
