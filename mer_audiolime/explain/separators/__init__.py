"""Separators shipped inside the package: a registry *as data*, one open-unmix model directory per name.

Each shipped separator is a folder ``mer_audiolime/explain/separators/<name>/`` in open-unmix's own local
format (``separator.json``, ``<target>.json``, ``<target>.pth``, loadable by
``openunmix.utils.load_separator``) plus a ``card.json``: targets, sample rate, training recipe, seeds, data
version, validation loss summary, test SDR, and the sha256 of every model file. The files are checked
against the card *before* open-unmix reads them; a mismatch raises
:class:`~mer_audiolime.exceptions.ChecksumError` and nothing is loaded.

:class:`~mer_audiolime.explain.openunmix_separator.OpenUnmixSeparator` resolves a registered name (e.g.
``"umx-synth"``) through :func:`separator_dir`; a local directory that holds a ``card.json`` is checked the
same way (:func:`verify_separator_dir`).

Examples
--------
>>> "umx-synth" in list_separators()
True
>>> separator_card("umx-synth")["sample_rate"]
22050
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from ...exceptions import ChecksumError, ParameterError, WeightsError
from ...models.checkpoint import sha256_file

__all__ = ["SEPARATORS_DIR", "CARD_NAME", "list_separators", "separator_card", "separator_dir",
           "read_card", "verify_separator_dir", "model_files"]

#: Folder holding one sub-folder per shipped separator.
SEPARATORS_DIR = Path(__file__).resolve().parent
#: Name of the card file inside a separator folder (not itself checksummed: it holds the checksums).
CARD_NAME = "card.json"


def list_separators() -> list[str]:
    """Names of the separators shipped with the package, sorted.

    Examples
    --------
    >>> isinstance(list_separators(), list)
    True
    """
    return sorted(p.name for p in SEPARATORS_DIR.iterdir() if p.is_dir() and (p / CARD_NAME).is_file())


def read_card(folder) -> dict:
    """The ``card.json`` of a separator folder as a dict.

    Parameters
    ----------
    folder : path-like
        An open-unmix model directory with a ``card.json``.

    Raises
    ------
    WeightsError
        No card, or a card that is not valid JSON or lacks ``files`` / ``targets``.
    """
    path = Path(folder) / CARD_NAME
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{str(folder)!r} has no {CARD_NAME}; it is not a checksummed separator folder.") from None
    except (OSError, json.JSONDecodeError) as err:
        raise WeightsError(f"separator card {str(path)!r} is unreadable ({err}); restore it.") from None
    missing = [k for k in ("files", "targets") if not card.get(k)]
    if missing:
        raise WeightsError(f"separator card {str(path)!r} lacks {missing}; restore it.")
    return card


def separator_card(name: str) -> dict:
    """The card of the shipped separator ``name`` (a copy).

    Raises
    ------
    ParameterError
        ``name`` is not a shipped separator (the message lists the available ones).
    """
    available = list_separators()
    if name not in available:
        raise ParameterError(f"no shipped separator named {name!r}; available: {available or 'none'}.")
    return copy.deepcopy(read_card(SEPARATORS_DIR / name))


def model_files(targets) -> list[str]:
    """The files of an open-unmix model directory for ``targets``: ``separator.json`` then, per target,
    ``<target>.json`` and ``<target>.pth``.

    Examples
    --------
    >>> model_files(["bass"])
    ['separator.json', 'bass.json', 'bass.pth']
    """
    out = ["separator.json"]
    for t in targets:
        out += [f"{t}.json", f"{t}.pth"]
    return out


def verify_separator_dir(folder) -> dict:
    """Check every model file of ``folder`` against the sha256 in its ``card.json``; return the card.

    Parameters
    ----------
    folder : path-like
        An open-unmix model directory with a ``card.json``.

    Returns
    -------
    dict
        The card.

    Raises
    ------
    WeightsError
        The card does not list a file open-unmix will read, or a listed file is missing.
    ChecksumError
        A file's sha256 differs from the card's (the message names the file and both hashes).

    Examples
    --------
    >>> verify_separator_dir(separator_dir("umx-synth", verify=False))["name"]
    'umx-synth'
    """
    folder = Path(folder)
    card = read_card(folder)
    files = card["files"]
    unlisted = [f for f in model_files(card["targets"]) if f not in files]
    if unlisted:
        raise WeightsError(f"the card of {str(folder)!r} lists no sha256 for {unlisted}; restore the card.")
    for filename, entry in sorted(files.items()):
        path = folder / filename
        if not path.is_file():
            raise WeightsError(f"separator file {str(path)!r} is missing; reinstall the package or restore it.")
        expected = str(entry.get("sha256", "") if isinstance(entry, dict) else entry).lower()
        actual = sha256_file(path)
        if actual != expected:
            raise ChecksumError(
                f"separator file {str(path)!r} has sha256 {actual}, but its card says {expected}: the file is "
                "corrupted or was replaced, so nothing was loaded. Reinstall the package or restore the file."
            )
    return card


def separator_dir(name: str, *, verify: bool = True) -> Path:
    """The folder of the shipped separator ``name``, its files checked against the card first.

    Parameters
    ----------
    name : str
        A name from :func:`list_separators`.
    verify : bool
        Check the sha256 of every model file (:func:`verify_separator_dir`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        Unknown name.
    ChecksumError
        A file differs from the card.
    """
    separator_card(name)  # raises for unknown names
    folder = SEPARATORS_DIR / name
    if verify:
        verify_separator_dir(folder)
    return folder
