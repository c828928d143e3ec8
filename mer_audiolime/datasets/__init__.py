"""mirdata-style loaders for the music-emotion and mid-level datasets, and their registry.

Indexes are built from the user's own copy (the project holds none of the data):
``mer-audiolime datasets index deam --data-home /data/deam`` or :func:`build_index`. Loader modules are
imported lazily, so ``import mer_audiolime.datasets`` stays light.

Examples
--------
>>> from mer_audiolime import datasets
>>> datasets.list_datasets()[:3]
['midlevel', 'pmemo', 'deam']
>>> deam = datasets.load("deam", data_home="/data/deam")            # doctest: +SKIP
>>> track = deam.choice_track(); track.arousal, track.audio[1]      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import tempfile
from functools import lru_cache
from pathlib import Path

from ..exceptions import DatasetError, ParameterError
from ..validation import check_writable_dir
from ._index import index_dict, write_index

__all__ = [
    "list_datasets",
    "load",
    "load_cached",
    "dataset_module",
    "dataset_info",
    "build_index",
    "check_recipe",
    "default_index_path",
    "MetadataWarning",
    "TrackDataset",
    "single_artist_split",
    "random_split",
    "official_split",
]

# Lazily imported conveniences (torch is only imported when TrackDataset is asked for).
_LAZY = {
    "TrackDataset": "mer_audiolime.datasets.torch_data",
    "single_artist_split": "mer_audiolime.datasets.splits",
    "random_split": "mer_audiolime.datasets.splits",
    "official_split": "mer_audiolime.datasets.splits",
    "MetadataWarning": "mer_audiolime.datasets._metadata",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mer_audiolime.datasets' has no attribute {name!r}")

#: Registry: dataset name -> module path. Modules expose ``Dataset`` (and, except synthetic,
#: ``index_recipe``).
_REGISTRY = {
    "midlevel": "mer_audiolime.datasets.midlevel",
    "pmemo": "mer_audiolime.datasets.pmemo",
    "deam": "mer_audiolime.datasets.deam",
    "soundtracks": "mer_audiolime.datasets.soundtracks",
    "emomusic": "mer_audiolime.datasets.emomusic",
    "mtg_jamendo_autotagging_moodtheme": "mer_audiolime.datasets.mtg_jamendo",
    "synthetic": "mer_audiolime.datasets.synthetic",
}


def list_datasets() -> list:
    """Names of every supported dataset, in registry order.

    Returns
    -------
    list of str
        ``['midlevel', 'pmemo', 'deam', 'soundtracks', 'emomusic', 'mtg_jamendo_autotagging_moodtheme',
        'synthetic']``
    """
    return list(_REGISTRY)


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ParameterError(f"unknown dataset {name!r}; choose one of {list_datasets()}.")
    return name


def dataset_module(name: str):
    """Import and return the loader module of dataset ``name``.

    Raises
    ------
    ParameterError
        Unknown name.
    DatasetError
        The module is not part of this installation (e.g. the synthetic benchmark is not built yet).
    """
    module_name = _REGISTRY[_check_name(name)]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise DatasetError(
                f"the {name!r} loader ({module_name}) is not available in this installation."
            ) from None
        raise


def _dataset_class(name: str):
    module = dataset_module(name)
    cls = getattr(module, "Dataset", None)
    if cls is None:
        raise DatasetError(
            f"the {name!r} loader ({module.__name__}) has no Dataset class yet in this installation."
        )
    return module, cls


def load(name: str, data_home=None, *, version: str = "default", index_path=None):
    """Initialise a dataset loader by name (the mirdata ``initialize`` of this package).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    data_home : str or path-like, optional
        Folder of the unpacked dataset. Default: mirdata's ``~/mir_datasets/<name>``.
    version : str
        Index version; ``"default"`` picks the dataset's current one.
    index_path : str or path-like, optional
        Use this index file instead of searching ``data_home``, ``$MER_AUDIOLIME_INDEX_DIR`` and the package.

    Returns
    -------
    mirdata.core.Dataset

    Examples
    --------
    >>> ds = load("pmemo", data_home="/data/PMEmo")                     # doctest: +SKIP
    >>> ds.validate()                                                   # doctest: +SKIP
    """
    _, cls = _dataset_class(name)
    kwargs = {"data_home": data_home, "version": version}
    if index_path is not None:
        kwargs["index_path"] = index_path
    return cls(**kwargs)


@lru_cache(maxsize=8)
def load_cached(name: str, data_home: str | None = None, version: str = "default"):
    """:func:`load`, once per process for each ``(name, data_home, version)``.

    The evaluation harness reads a dataset's tracks, their audio and its index through one loader object per
    run; the arguments must be hashable (pass ``data_home`` as a string).

    Returns
    -------
    mirdata.core.Dataset
        The same object for the same arguments.

    Examples
    --------
    >>> load_cached("deam", "/data/DEAM") is load_cached("deam", "/data/DEAM")  # doctest: +SKIP
    True
    """
    return load(name, data_home=data_home, version=version)


def default_index_path(name: str, data_home, *, version: str = "default") -> Path:
    """Where :func:`build_index` writes by default: ``<data_home>/<name>_index_<version>.json``."""
    resolved = _resolve_version(dataset_module(name), version)
    return Path(data_home).expanduser() / f"{name}_index_{resolved}.json"


def build_index(name: str, data_home, *, out=None, version: str = "default", progress: bool = True) -> Path:
    """Build a dataset's index (paths + md5 of every audio and annotation file) from a local copy.

    Before anything is hashed or written, the required targets of every track (and the optional numeric
    annotations) are parsed exactly as :func:`load` will parse them, so a short or non-numeric row fails here,
    naming the file, line and column, instead of at training time. The index is written atomically (a
    temporary file in the same folder, removed on failure).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    data_home : str or path-like
        Folder where the dataset's archives were unpacked.
    out : str or path-like, optional
        Index file to write, or an existing folder to write ``<name>_index_<version>.json`` into. Default
        :func:`default_index_path` (inside ``data_home``, where :func:`load` finds it); for a read-only copy
        write elsewhere and pass ``index_path=`` to :func:`load` or put the file in
        ``$MER_AUDIOLIME_INDEX_DIR``.
    version : str
        Index version to write.
    progress : bool
        Show a tqdm progress bar while hashing.

    Returns
    -------
    pathlib.Path
        The written index.

    Raises
    ------
    DatasetError
        ``data_home`` is missing, a required file is absent or ambiguous, a target row is malformed, or no
        track has audio.
    ParameterError
        ``out`` cannot be written.

    Examples
    --------
    >>> build_index("deam", "~/data/DEAM")                       # doctest: +SKIP
    PosixPath('/home/me/data/DEAM/deam_index_1.0.json')
    """
    module = dataset_module(name)
    home = Path(data_home).expanduser()
    if not home.is_dir():
        raise DatasetError(f"data_home {str(home)!r} does not exist or is not a folder.")
    home = home.resolve()
    if not hasattr(module, "index_recipe"):
        builder = getattr(module, "build_index", None)
        if builder is None:
            raise DatasetError(f"{name!r} writes its own index when it is generated; nothing to build.")
        return Path(builder(home, out=out))
    resolved = _resolve_version(module, version)
    target = _index_target(name, home, out, version=version)
    if target.exists() and not target.is_file():
        raise ParameterError(f"cannot write the index to {str(target)!r}: it exists and is not a file.")
    check_writable_dir(target.parent, "index folder")
    recipe = module.index_recipe(home)
    if recipe.tracks:
        check_recipe(name, recipe, data_home=home, version=version)
    return write_index(recipe, name=name, version=resolved, data_home=home, out=target, progress=progress)


def _index_target(name: str, home: Path, out, *, version: str) -> Path:
    if out is None:
        return default_index_path(name, home, version=version)
    target = Path(out).expanduser()
    if target.is_dir() or str(out).endswith(("/", "\\")):
        return default_index_path(name, target, version=version)
    return target


def check_recipe(name: str, recipe, *, data_home, version: str = "default") -> None:
    """Parse what an index of ``recipe`` would load — every track's required targets and the optional numeric
    annotations — without hashing or writing anything.

    Raises
    ------
    DatasetError
        A target or annotation row that :func:`load` could not read (the message names file, line and column).
    """
    from ._base import EmotionDataset

    _, cls = _dataset_class(name)
    if not issubclass(cls, EmotionDataset):
        return
    index = index_dict(recipe, version=_resolve_version(dataset_module(name), version))
    with tempfile.TemporaryDirectory(prefix="mer_audiolime_index_check_") as tmp:
        path = Path(tmp) / "index.json"
        path.write_text(json.dumps(index), encoding="utf-8")
        ds = cls(data_home=data_home, version=version, index_path=path)
        try:
            for track_id in ds.track_ids:
                ds.track(track_id).static_targets
            ds._dataset_section("annotations")
        except DatasetError as err:
            raise DatasetError(
                f"{err} The index was not written: fix or re-extract that file first."
            ) from None


def _resolve_version(module, version: str) -> str:
    indexes = getattr(module, "INDEXES", {})
    if version not in indexes:
        raise ParameterError(f"unknown version {version!r}; choose one of {sorted(indexes)}.")
    value = indexes[version]
    return value if isinstance(value, str) else version


def dataset_info(name: str) -> dict:
    """What the package knows about a dataset, without touching any data.

    Returns
    -------
    dict
        ``name``, ``module``, ``version``, ``targets`` (name -> rating range), ``license``, ``bibtex``,
        ``download_info``, ``index_file`` (the file name looked for), ``card`` (repository path of the card),
        ``published`` (the documented number of tracks, or None) and ``published_note``.
    """
    module, cls = _dataset_class(name)
    version = None
    indexes = getattr(module, "INDEXES", None)
    if isinstance(indexes, dict) and "default" in indexes:
        version = indexes["default"] if isinstance(indexes["default"], str) else "default"
    return {
        "name": name,
        "module": module.__name__,
        "version": version,
        "targets": dict(getattr(cls, "TARGET_RANGES", {}) or {}),
        "license": getattr(module, "LICENSE_INFO", None),
        "bibtex": getattr(module, "BIBTEX", None),
        "download_info": (getattr(module, "DOWNLOAD_INFO", None) or "").strip() or None,
        "index_file": f"{name}_index_{version}.json" if version else None,
        "card": f"datasets/{name}/README.md",
        "published": (getattr(cls, "PUBLISHED", None) or {}).get("tracks"),
        "published_note": (getattr(cls, "PUBLISHED", None) or {}).get("note"),
    }
