"""Model cards and checkpoints: one file holds the weights *and* the card that says how to rebuild them.

A checkpoint is ``torch.save`` of a plain dict ``{"format": "mer_audiolime.checkpoint", "format_version": 2,
"card": {...}, "state_dict": {...}, "digest": {"algorithm": "sha256", "value": ...}}`` containing only
tensors, strings, numbers, lists and dicts, so it loads with ``torch.load(weights_only=True)``: no pickled
code runs when a checkpoint is opened.

The digest (:func:`state_digest`: sha256 of the card's canonical JSON and of every tensor's name, dtype,
shape and bytes) is verified on every load, so a file whose weights or card were altered is refused even
when no published sha256 of the file is at hand. Format-1 files (no digest; the shipped zoo weights, whose
cards hold the file's sha256) still load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path


from ..exceptions import ChecksumError, MerAudioLimeWarning, ParameterError, WeightsError
from ..fileio import atomic_write_bytes, file_digest

__all__ = ["ModelCard", "save_checkpoint", "load_checkpoint", "sha256_file", "state_digest"]

CHECKPOINT_FORMAT = "mer_audiolime.checkpoint"
CHECKPOINT_VERSION = 2


@dataclass
class ModelCard:
    """Everything needed to rebuild, use, and judge a trained model.

    Attributes
    ----------
    name : str
    architecture, head : str
        Builder names (``"cp_resnet"``/``"vggish"``, ``"a2mid2e"``/``"a2e"``).
    backbone_kwargs, frontend_kwargs : dict
        Builder arguments (e.g. reduced width).
    head_kwargs : dict
        Head options (``{"hidden": H}`` for a hidden layer after pooling; empty for the paper's heads).
    sample_rate : int
        Input rate in Hz (mono).
    clip_seconds : float or None
        Clip length used in training (the network accepts any length >= about 1 s).
    midlevel_names, emotion_names : list of str
        Output names, in output order (``midlevel_names`` empty for A2E).
    target_scaling : dict
        ``{target: {"mean": m, "std": s}}``: outputs are z-scores, ``value = z * std + mean``.
    dataset : dict
        Name, variant, index version, split sizes.
    metrics : dict
        ``{split: {target: {"r2": ..., "pearson_r": ...}}}``.
    seed : int or None
    package_versions : dict
    training : dict
        The training configuration.
    weights : dict
        ``{"uri", "sha256", "filename", "size_bytes"}`` (zoo entries only).
    description : str
    domain : dict
        The training domain: ``{"description", "datasets", "input_check"}``. ``input_check`` holds the
        threshold of the spectral-profile distance above which an input counts as out of domain (see
        :func:`~mer_audiolime.models.frontend.spectral_profile_distance`); empty when unknown.
    """

    name: str
    architecture: str
    head: str
    sample_rate: int = 22050
    clip_seconds: float | None = None
    midlevel_names: list = field(default_factory=list)
    emotion_names: list = field(default_factory=list)
    backbone_kwargs: dict = field(default_factory=dict)
    frontend_kwargs: dict = field(default_factory=dict)
    head_kwargs: dict = field(default_factory=dict)
    target_scaling: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    seed: int | None = None
    package_versions: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    description: str = ""
    domain: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "ModelCard":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError(f"unknown model-card fields {unknown}; known fields: {sorted(known)}.")
        for key in ("name", "architecture", "head"):
            if not data.get(key):
                raise ParameterError(f"model card lacks {key!r}.")
        return cls(**copy_plain(data))

    @property
    def output_names(self) -> list:
        return list(self.midlevel_names) + list(self.emotion_names)

    def build(self):
        """A freshly initialised :class:`~mer_audiolime.models.heads.MERModel` with this card's layout."""
        from .heads import build_model

        return build_model(self.architecture, head=self.head, emotion_names=self.emotion_names,
                           midlevel_names=self.midlevel_names or ("m",),
                           backbone_kwargs=self.backbone_kwargs, frontend_kwargs=self.frontend_kwargs,
                           head_kwargs=self.head_kwargs)


def copy_plain(obj):
    return _plain(obj)


def _plain(obj):
    """Deep copy into JSON-like builtins (tuples become lists, numpy scalars become Python numbers)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, str):
        return str(obj)  # also str subclasses such as torch's TorchVersion (not weights_only-loadable)
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if hasattr(obj, "item"):
        return _plain(obj.item())
    raise ParameterError(f"model-card values must be JSON-like (str, number, list, dict), got {type(obj)}.")


def sha256_file(path) -> str:
    """Hex sha256 of a file (:func:`mer_audiolime.fileio.file_digest`)."""
    return file_digest(path, "sha256")


def state_digest(card: dict, state_dict) -> str:
    """sha256 of a checkpoint's content: the card's canonical JSON, then each tensor (sorted by name) as
    name, dtype, shape and raw bytes. Independent of the file's container layout.

    Examples
    --------
    >>> import torch
    >>> len(state_digest({"name": "m"}, {"w": torch.zeros(2)}))
    64
    """
    import torch

    digest = hashlib.sha256()
    digest.update(json.dumps(_plain(card), sort_keys=True, separators=(",", ":")).encode())
    for key in sorted(state_dict):
        tensor = state_dict[key]
        if not torch.is_tensor(tensor):
            raise WeightsError(f"state_dict entry {key!r} is a {type(tensor).__name__}, not a tensor.")
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"|{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def save_checkpoint(path, model, card: ModelCard) -> str:
    """Write ``model``'s weights with ``card`` and their digest to ``path``; return the file's sha256.

    Parameters
    ----------
    path : path-like
        Destination (``.pt``); parent folders are created. Written atomically (temporary file + rename).
    model : MERModel
    card : ModelCard
        Stored without its ``weights`` entry (a file cannot contain its own hash).

    Returns
    -------
    str
        sha256 of the written file (record it beside results; the zoo puts it in the card).
    """
    import torch

    path = Path(path)
    card_dict = card.to_dict()
    card_dict["weights"] = {}
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    digest = {"algorithm": "sha256", "value": state_digest(card_dict, state)}
    payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "card": card_dict,
               "state_dict": state, "digest": digest}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return sha256_file(path)


def load_checkpoint(path, *, sha256: str | None = None):
    """Load a checkpoint written by :func:`save_checkpoint` (or by training).

    Parameters
    ----------
    path : path-like
    sha256 : str, optional
        Expected hash of the file; verified *before* the file is deserialised.

    Returns
    -------
    model : MERModel
        In eval mode, with ``model.card`` set.
    card : ModelCard

    Raises
    ------
    ChecksumError
        ``sha256`` given and different from the file's, or the embedded digest does not match the stored
        card and tensors (the file was altered after it was written).
    WeightsError
        Missing file, or not a mer_audiolime checkpoint.

    Warns
    -----
    MerAudioLimeWarning
        A format-1 checkpoint (no embedded digest) loaded without ``sha256``: its integrity is unchecked.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} does not exist.")
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256.lower():
            raise ChecksumError(
                f"checkpoint {path} has sha256 {actual}, expected {sha256}; nothing was loaded."
            )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for bad / unsafe files
        raise WeightsError(
            f"cannot load {path} as a weights-only checkpoint: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise WeightsError(f"{path} is not a mer_audiolime checkpoint (no 'format': {CHECKPOINT_FORMAT!r}).")
    if not isinstance(payload.get("card"), dict) or not isinstance(payload.get("state_dict"), dict):
        raise WeightsError(f"{path} lacks its card or state_dict; it is damaged or was not written by "
                           "save_checkpoint.")
    version = payload.get("format_version", 1)
    if version >= 2:
        stored = (payload.get("digest") or {}).get("value")
        actual = state_digest(payload["card"], payload["state_dict"])
        if stored != actual:
            raise ChecksumError(
                f"checkpoint {path} was altered after it was written: its embedded digest is {stored} but "
                f"its card and weights hash to {actual}; nothing was loaded. Retrain or restore the original "
                "file."
            )
    elif sha256 is None:
        warnings.warn(f"checkpoint {path} has no embedded digest (format 1), so its integrity cannot be "
                      "checked; load it with sha256=... or re-save it with save_checkpoint.",
                      MerAudioLimeWarning, stacklevel=2)
    card = ModelCard.from_dict(payload["card"])
    model = card.build()
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise WeightsError(f"weights in {path} do not fit the architecture in its card: {err}") from err
    model.card = card
    model.spec["name"] = card.name
    return model.eval(), card
