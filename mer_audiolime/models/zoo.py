"""The model zoo: a registry *as data* (one JSON model card per model) plus safe weight loading.

Each card in ``mer_audiolime/models/cards/*.json`` names the builder (architecture, head and their
arguments), the input (sample rate, clip length), the outputs and their scaling, the training data
(dataset, variant, index version, splits), held-out metrics, the seed, package versions, and the weights
(``uri``, ``sha256``, ``filename``).

Loading looks for ``filename`` in ``weights_dir`` (if given), in the package's ``models/weights/`` folder
and in ``$TORCH_HOME/hub/checkpoints/``; if it is nowhere, it downloads ``uri`` (``http(s)://`` or
``file://``) into the torch hub folder. The sha256 is always verified *before* ``torch.load(...,
weights_only=True)`` touches the file: a mismatch raises :class:`~mer_audiolime.exceptions.ChecksumError` and
nothing is loaded; a missing file that cannot be fetched raises
:class:`~mer_audiolime.exceptions.WeightsError` saying where to put it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..exceptions import ChecksumError, ModelError, ParameterError, WeightsError
from .checkpoint import ModelCard, load_checkpoint, save_checkpoint, sha256_file

__all__ = [
    "ModelCard",
    "CARDS_DIR",
    "WEIGHTS_DIR",
    "list_models",
    "model_card",
    "register_model",
    "resolve_weights",
    "load_model",
    "pretrained_predictor",
    "hub_checkpoint_dir",
    "publish_checkpoint",
]

CARDS_DIR = Path(__file__).resolve().parent / "cards"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

_REGISTRY: dict | None = None


def _registry() -> dict:
    global _REGISTRY
    if _REGISTRY is None:
        reg = {}
        for path in sorted(CARDS_DIR.glob("*.json")):
            try:
                card = ModelCard.from_dict(json.loads(path.read_text()))
            except (ValueError, TypeError, KeyError) as err:
                raise ModelError(f"model card {path} is malformed: {err}") from err
            reg[card.name] = card
        _REGISTRY = reg
    return _REGISTRY


def list_models() -> list[str]:
    """Names of the registered models, sorted.

    Examples
    --------
    >>> isinstance(list_models(), list)
    True
    """
    return sorted(_registry())


def model_card(name: str) -> ModelCard:
    """The :class:`ModelCard` registered under ``name`` (a copy)."""
    reg = _registry()
    if name not in reg:
        raise ModelError(f"no model named {name!r} in the zoo; available: {sorted(reg) or 'none'}.")
    return copy.deepcopy(reg[name])


def register_model(card, *, overwrite: bool = False) -> ModelCard:
    """Add a model to the in-memory registry (e.g. your own weights on a server or a local ``file://``).

    Parameters
    ----------
    card : ModelCard or dict
        Must carry ``weights = {"uri": ..., "sha256": ..., "filename": ...}``.
    overwrite : bool
        Replace an existing entry of the same name.
    """
    card = card if isinstance(card, ModelCard) else ModelCard.from_dict(card)
    weights = card.weights or {}
    missing = [k for k in ("uri", "sha256", "filename") if not weights.get(k)]
    if missing:
        raise ParameterError(f"model card {card.name!r} lacks weights {missing}; every zoo entry needs them.")
    reg = _registry()
    if card.name in reg and not overwrite:
        raise ParameterError(f"a model named {card.name!r} is already registered; pass overwrite=True.")
    reg[card.name] = copy.deepcopy(card)
    return card


def hub_checkpoint_dir() -> Path:
    """``$TORCH_HOME/hub/checkpoints`` (where downloaded weights are cached).

    Without torch imported yet, the folder is found the way ``torch.hub.get_dir`` finds it (``$TORCH_HOME``,
    else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``), so listing the zoo does not load torch.
    """
    if "torch" in sys.modules:  # respects torch.hub.set_dir(...)
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def resolve_weights(name: str, *, weights_dir=None, download: bool = True) -> Path:
    """Find (or fetch) the weights file of ``name`` and verify its sha256.

    Parameters
    ----------
    name : str
        Registered model name.
    weights_dir : path, optional
        Extra folder searched first.
    download : bool
        Fetch ``uri`` when the file is not found locally.

    Returns
    -------
    Path
        A file whose sha256 matches the card.

    Raises
    ------
    WeightsError
        The file is missing and could not be fetched (the message says where to put it).
    ChecksumError
        A file was found or downloaded but its sha256 differs from the card's.
    """
    card = model_card(name)
    weights = card.weights or {}
    filename, expected, uri = weights.get("filename"), weights.get("sha256"), weights.get("uri", "")
    if not filename or not expected:
        raise WeightsError(f"model {name!r} has no weights filename/sha256 in its card.")
    candidates = ([Path(weights_dir) / filename] if weights_dir is not None else []) + [
        WEIGHTS_DIR / filename,
        hub_checkpoint_dir() / filename,
    ]
    for path in candidates:
        if path.is_file():
            _verify(path, expected, name)
            return path
    target = hub_checkpoint_dir() / filename
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if download and scheme in ("http", "https", "file"):
        _download(uri, target, expected, name)
        return target
    where = "\n  ".join(str(p) for p in candidates)
    raise WeightsError(
        f"weights for {name!r} ({filename}, sha256 {expected}) were not found in:\n  {where}\n"
        + (f"and could not be downloaded from {uri!r}. " if scheme in ("http", "https", "file") else "")
        + f"Put the file at {target} (or pass weights_dir=...)."
    )


def _verify(path: Path, expected: str, name: str) -> None:
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"weights file {path} for {name!r} has sha256 {actual}, but the model card says {expected}: the "
            "file is corrupted or was replaced, so nothing was loaded. Delete it and fetch it again."
        )


def _download(uri: str, target: Path, expected: str, name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            with urllib.request.urlopen(uri, timeout=60) as response, open(tmp, "wb") as out:
                digest = hashlib.sha256()
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise WeightsError(
                f"could not download weights for {name!r} from {uri} ({err}). If you are offline, put the "
                f"file {target.name} (sha256 {expected}) at {target} (or pass weights_dir=...)."
            ) from err
        if digest.hexdigest() != expected.lower():
            raise ChecksumError(
                f"the download of {uri} for {name!r} has sha256 {digest.hexdigest()}, expected {expected}; "
                "it was discarded and nothing was loaded."
            )
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_model(name: str, *, weights_dir=None, download: bool = True, device: str = "cpu"):
    """Load a zoo model (weights verified by sha256, then ``torch.load(weights_only=True)``).

    Returns
    -------
    MERModel
        In eval mode, with its :class:`ModelCard` as ``model.card``.

    Examples
    --------
    >>> model = load_model("a2mid2e_synth_clean")                     # doctest: +SKIP
    >>> model(torch.zeros(1, 22050 * 10))["midlevel"].shape           # doctest: +SKIP
    torch.Size([1, 7])
    """
    card = model_card(name)
    path = resolve_weights(name, weights_dir=weights_dir, download=download)
    model, stored = load_checkpoint(path, sha256=card.weights["sha256"])
    model.card = card
    model.spec["name"] = name
    return model.to(device).eval()


def pretrained_predictor(name: str, *, weights_dir=None, download: bool = True, device: str = "cpu"):
    """A :class:`~mer_audiolime.models.predictor.TorchPredictor` for a zoo model (see :func:`to_predictor`).

    Also reachable as a ``module:factory`` string: ``"mer_audiolime.models.zoo:<model name>"``.
    """
    from .heads import to_predictor  # torch: imported only when a model is built

    model = load_model(name, weights_dir=weights_dir, download=download, device=device)
    return to_predictor(model, device=device, name=name)


def publish_checkpoint(checkpoint, name: str, *, description: str = "", uri: str | None = None,
                       metrics: dict | None = None, weights_dir=None, cards_dir=None) -> ModelCard:
    """Turn a training checkpoint into a zoo entry: weights file + JSON card with its sha256.

    The card stored in the checkpoint is renamed to ``name``, the weights are re-saved as
    ``<weights_dir>/<name>.pt`` and the card (with ``weights = {uri, sha256, filename, size_bytes}``) is
    written to ``<cards_dir>/<name>.json``. Defaults are the package folders (used to ship models); the
    default ``uri`` ``package://mer_audiolime/models/weights/<name>.pt`` means "bundled, never downloaded".

    Returns
    -------
    ModelCard
        The registered card (also added to the in-memory registry).
    """
    model, card = load_checkpoint(checkpoint)
    card.name = name
    card.description = description or card.description
    if metrics:
        card.metrics = {**card.metrics, **metrics}
    weights_dir = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    cards_dir = Path(cards_dir) if cards_dir is not None else CARDS_DIR
    target = weights_dir / f"{name}.pt"
    digest = save_checkpoint(target, model, card)
    card.weights = {"uri": uri or f"package://mer_audiolime/models/weights/{name}.pt", "sha256": digest,
                    "filename": target.name, "size_bytes": target.stat().st_size}
    cards_dir.mkdir(parents=True, exist_ok=True)
    (cards_dir / f"{name}.json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    return register_model(card, overwrite=True)


def __getattr__(attr: str):
    """``mer_audiolime.models.zoo:<name>`` factories for :func:`~mer_audiolime.models.load_predictor`."""
    if not attr.startswith("__") and attr in _registry():
        def factory(**kwargs):
            return pretrained_predictor(attr, **kwargs)

        factory.__name__ = attr
        return factory
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
