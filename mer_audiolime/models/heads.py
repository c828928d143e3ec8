"""Heads and the full waveform -> outputs model (A2Mid2E and A2E), plus its Predictor adapter.

* **A2Mid2E** (Chowdhury et al., ISMIR 2019 / SMC 2021): pooled embedding -> ``Linear(D -> 7, bias=False)``
  (mid-level features) -> ``Linear(7 -> E, bias=False)`` (emotions). Because the emotion layer is linear and
  bias-free on the mid-level outputs, the effect of mid-level feature j on emotion i is ``W[i, j] * m[j]``.
* **A2E**: the same backbone with ``Linear(D -> E, bias=False)`` straight to the emotions.

Both heads take ``hidden=H`` (default 0: none): one ``Linear(D -> H) + ReLU`` between the pooled embedding and
the first linear layer. Without it the outputs are linear in the time-frequency average of the backbone's
features, so a rule that combines two cues which never share a receptive field (fire when cue A *or* cue B
sounds, or only when both do) cannot be represented; the hidden layer makes such rules learnable. The
emotion layer stays linear on the mid-level outputs either way, so the chain is unchanged.

Targets are modelled in standardised units (z-scores with the training set's mean and std, recorded in the
model card), which is why no bias is needed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..exceptions import ModelError, ParameterError
from ..names import EMOTION_NAMES, MIDLEVEL_NAMES
from ..validation import check_int
from .architectures import build_backbone, min_input_frames
from .frontend import Frontend
from .inference import optimize_for_inference
from .predictor import TorchPredictor

__all__ = [
    "MIDLEVEL_NAMES",
    "MidLevelEmotionHead",
    "DirectEmotionHead",
    "MERModel",
    "build_model",
    "to_predictor",
    "HEADS",
]



class MidLevelEmotionHead(nn.Module):
    """A2Mid2E head: ``m = M e``, ``y = W m`` (both bias-free).

    Parameters
    ----------
    in_features : int
        Embedding width D (512 for the paper's ResNet).
    n_midlevel : int
        Mid-level outputs (7).
    n_emotions : int
        Emotion outputs E.
    hidden : int
        Width H of an optional ``Linear(D -> H) + ReLU`` before the mid-level layer (0: none, the paper's
        head): ``m = M relu(A e + a)``.

    Shapes
    ------
    ``(B, D) -> {"midlevel": (B, 7), "emotion": (B, E)}``

    Examples
    --------
    >>> head = MidLevelEmotionHead(16, hidden=8)
    >>> {k: tuple(v.shape) for k, v in head(torch.zeros(3, 16)).items()}
    {'midlevel': (3, 7), 'emotion': (3, 2)}
    """

    kind = "a2mid2e"

    def __init__(self, in_features: int, *, n_midlevel: int = 7, n_emotions: int = 2, hidden: int = 0):
        super().__init__()
        self.hidden = _hidden_layer(in_features, hidden)
        width = int(hidden) or in_features
        self.midlevel = nn.Linear(width, n_midlevel, bias=False)
        self.emotion = nn.Linear(n_midlevel, n_emotions, bias=False)

    def forward(self, embedding: torch.Tensor) -> dict:
        mid = self.midlevel(self.hidden(embedding))
        return {"midlevel": mid, "emotion": self.emotion(mid)}


class DirectEmotionHead(nn.Module):
    """A2E head: ``y = W e`` (bias-free), ``(B, D) -> {"emotion": (B, E)}``; ``hidden=H`` puts a
    ``Linear(D -> H) + ReLU`` before it (see :class:`MidLevelEmotionHead`)."""

    kind = "a2e"

    def __init__(self, in_features: int, *, n_emotions: int = 2, hidden: int = 0, **_ignored):
        super().__init__()
        self.hidden = _hidden_layer(in_features, hidden)
        self.emotion = nn.Linear(int(hidden) or in_features, n_emotions, bias=False)

    def forward(self, embedding: torch.Tensor) -> dict:
        return {"emotion": self.emotion(self.hidden(embedding))}


def _hidden_layer(in_features: int, hidden) -> nn.Module:
    """``Linear(D -> H) + ReLU`` for ``hidden = H > 0``; the identity for 0 (no parameters, so checkpoints of
    heads without it keep their layout)."""
    hidden = check_int(hidden, "hidden", minimum=0)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU()) if hidden else nn.Identity()


HEADS = {"a2mid2e": MidLevelEmotionHead, "a2e": DirectEmotionHead}


class MERModel(nn.Module):
    """Waveform -> spectrogram -> backbone -> global average pool -> head.

    ``forward(waveform)`` takes ``(B, L)`` or ``(B, C, L)`` float32 at ``frontend.sample_rate`` (channels are
    averaged) and returns a dict with ``"embedding"`` ``(B, D)``, ``"emotion"`` ``(B, E)`` and, for A2Mid2E,
    ``"midlevel"`` ``(B, 7)``. :meth:`forward_features` does the same from a precomputed spectrogram.

    Attributes
    ----------
    midlevel_names, emotion_names : list of str
        Output names (``midlevel_names`` is empty for A2E).
    spec : dict
        Everything :func:`build_model` needs to rebuild the module (stored in model cards).
    """

    def __init__(self, frontend: Frontend, backbone: nn.Module, head: nn.Module, *,
                 midlevel_names: Sequence[str], emotion_names: Sequence[str], spec: dict | None = None):
        super().__init__()
        self.frontend = frontend
        self.backbone = backbone
        self.head = head
        self.midlevel_names = list(midlevel_names)
        self.emotion_names = list(emotion_names)
        self.spec = dict(spec or {})

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def kind(self) -> str:
        return self.head.kind

    @property
    def min_input_samples(self) -> int:
        """Shortest waveform (samples) the network accepts: its frontend frames must cover the backbone's
        smallest input (``1 + L // hop_length >= min_input_frames``); shorter input makes torch raise."""
        frames = min_input_frames(self.backbone)
        return max(1, (frames - 1) * self.frontend.hop_length)

    def forward_features(self, spectrogram: torch.Tensor) -> dict:
        """``(B, 1, F, T)`` spectrogram -> output dict."""
        fmap = self.backbone(spectrogram)
        embedding = fmap.mean(dim=(2, 3))
        out = self.head(embedding)
        out["embedding"] = embedding
        return out

    def forward(self, waveform: torch.Tensor) -> dict:
        return self.forward_features(self.frontend(waveform))


def build_model(architecture: str = "cp_resnet", *, head: str = "a2mid2e",
                emotion_names: Sequence[str] = EMOTION_NAMES,
                midlevel_names: Sequence[str] = MIDLEVEL_NAMES, backbone_kwargs: dict | None = None,
                frontend_kwargs: dict | None = None, head_kwargs: dict | None = None,
                seed: int | None = 0) -> MERModel:
    """Build a waveform-to-outputs model.

    Parameters
    ----------
    architecture : {"cp_resnet", "vggish"}
        Backbone (see :mod:`mer_audiolime.models.architectures`).
    head : {"a2mid2e", "a2e"}
    emotion_names, midlevel_names : sequence of str
        Output names; their lengths set E and the mid-level width (``midlevel_names`` unused for A2E).
    backbone_kwargs, frontend_kwargs : dict, optional
        E.g. ``{"base_channels": 32}``, ``{"scale": "mel"}``.
    head_kwargs : dict, optional
        E.g. ``{"hidden": 64}`` (a hidden ReLU layer after pooling; see :class:`MidLevelEmotionHead`).
    seed : int or None
        Seed of the weight initialisation (the global torch RNG state is restored afterwards).

    Returns
    -------
    MERModel

    Examples
    --------
    >>> m = build_model("cp_resnet", backbone_kwargs={"base_channels": 8})
    >>> sorted(m(torch.zeros(1, 22050)))
    ['embedding', 'emotion', 'midlevel']
    """
    if head not in HEADS:
        raise ParameterError(f"unknown head {head!r}; choose one of {sorted(HEADS)}.")
    emotion_names = _names(emotion_names, "emotion_names")
    midlevel_names = _names(midlevel_names, "midlevel_names") if head == "a2mid2e" else []
    backbone_kwargs = dict(backbone_kwargs or {})
    frontend_kwargs = dict(frontend_kwargs or {})
    head_kwargs = dict(head_kwargs or {})
    unknown = sorted(set(head_kwargs) - {"hidden"})
    if unknown:
        raise ParameterError(f"unknown head option(s) {unknown}; the heads take 'hidden' (an integer >= 0).")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        frontend = Frontend(**frontend_kwargs)
        backbone = build_backbone(architecture, **backbone_kwargs)
        head_module = HEADS[head](backbone.out_channels, n_midlevel=len(midlevel_names) or 7,
                                  n_emotions=len(emotion_names), **head_kwargs)
    spec = {"architecture": architecture, "head": head, "emotion_names": emotion_names,
            "midlevel_names": midlevel_names, "backbone_kwargs": backbone_kwargs,
            "frontend_kwargs": frontend.config, "head_kwargs": head_kwargs}
    return MERModel(frontend, backbone, head_module, midlevel_names=midlevel_names,
                    emotion_names=emotion_names, spec=spec)


def _names(names, what: str) -> list:
    if isinstance(names, str) or len(names) == 0:
        raise ParameterError(f"{what} must be a non-empty sequence of names, got {names!r}.")
    return [str(n) for n in names]


def to_predictor(model: MERModel, *, device: str = "cpu", name: str | None = None,
                 optimize: bool = True, threads: int | None = None) -> TorchPredictor:
    """Wrap a :class:`MERModel` as a :class:`~mer_audiolime.models.predictor.TorchPredictor`.

    Output columns are ``midlevel_names + emotion_names`` (A2Mid2E) or ``emotion_names`` (A2E). For A2Mid2E
    the predictor also declares ``midlevel_names``, ``emotion_names`` and ``emotion_weights`` (the emotion
    layer's ``(E, 7)`` weight matrix), which lets the explainer compute mid-level effects and the chain.
    A trained model's ``card`` and its ``clip_seconds`` are attached as attributes too.

    With ``optimize=True`` (default) the predictor runs an eval-only copy built by
    :func:`~mer_audiolime.models.inference.optimize_for_inference` (same outputs to float32 rounding, faster);
    ``model`` itself is left as it is. ``device`` is any torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``);
    ``threads`` sets torch's CPU threads while predicting (see :class:`TorchPredictor`).

    Examples
    --------
    >>> p = to_predictor(build_model(backbone_kwargs={"base_channels": 8}))
    >>> p(np.zeros((2, 1, 22050), np.float32)).shape, p.emotion_weights.shape
    ((2, 9), (2, 7))
    """
    if not isinstance(model, MERModel):
        raise ModelError(
            f"to_predictor expects a MERModel, got {type(model).__name__}; wrap other modules with "
            "TorchPredictor(module, sample_rate=..., output_names=[...])."
        )
    common = dict(sample_rate=model.sample_rate, channels=1, device=device, threads=threads,
                  name=name or model.spec.get("name") or f"{model.spec.get('architecture')}-{model.kind}")
    card = getattr(model, "card", None)
    min_samples = model.min_input_samples  # of the network as built (optimising keeps its layers)
    if optimize:
        model = optimize_for_inference(model, device=device)
    if model.kind == "a2mid2e":
        weights = model.head.emotion.weight.detach().to("cpu", torch.float64).numpy().copy()
        pred = TorchPredictor(model, output_names=model.midlevel_names + model.emotion_names,
                              output_keys=("midlevel", "emotion"), midlevel_names=model.midlevel_names,
                              emotion_names=model.emotion_names, emotion_weights=weights, **common)
    else:
        pred = TorchPredictor(model, output_names=model.emotion_names, output_keys=("emotion",),
                              emotion_names=model.emotion_names, **common)
    pred.min_input_samples = min_samples  # explain() refuses shorter audio before any model call
    pred.card = card  # the model card (None for an untrained model)
    pred.target_scaling = dict(getattr(card, "target_scaling", None) or {})  # z-score -> annotation scale
    pred.clip_seconds = getattr(card, "clip_seconds", None)  # training clip length, e.g. for TrackDataset
    return pred


def emotion_weight_matrix(model: MERModel) -> np.ndarray:
    """The ``(E, 7)`` emotion-from-mid-level weights of an A2Mid2E model."""
    if model.kind != "a2mid2e":
        raise ModelError("only A2Mid2E models have an emotion-from-mid-level weight matrix.")
    return model.head.emotion.weight.detach().to("cpu", torch.float64).numpy().copy()
