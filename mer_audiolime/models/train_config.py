"""Training settings as a plain dataclass: no torch import, so the command line can show their defaults fast.

:func:`mer_audiolime.models.training.train` takes a :class:`TrainConfig`; it is re-exported there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..exceptions import ParameterError
from ..validation import check_int

__all__ = ["TrainConfig", "ARCHITECTURE_NAMES", "HEAD_NAMES"]

#: Names of the registered backbones (the keys of :data:`mer_audiolime.models.architectures.ARCHITECTURES`)
#: and heads (the keys of :data:`mer_audiolime.models.heads.HEADS`). The registries import torch; these
#: names do not, so the command line offers them as choices without slowing ``--help``. A test keeps them
#: equal to the registries' keys: a new architecture is added here and in its registry.
ARCHITECTURE_NAMES = ("cp_resnet", "vggish")
HEAD_NAMES = ("a2mid2e", "a2e")


@dataclass
class TrainConfig:
    """Training settings (the defaults are the small CPU recipe used for the shipped models).

    Attributes
    ----------
    architecture, head : str
        ``"cp_resnet"``/``"vggish"`` and ``"a2mid2e"``/``"a2e"``.
    backbone_kwargs, frontend_kwargs : dict
        Builder arguments; the default ``base_channels=16`` is a reduced-width ``cp_field_shallow_m2``.
    head_kwargs : dict
        Head options: ``{"hidden": H}`` adds a ``Linear + ReLU`` layer of width H after pooling (default none,
        the paper's linear heads).
    epochs, batch_size, learning_rate, weight_decay : training schedule (Adam).
    midlevel_weight, emotion_weight : float
        Weights of the two MSE terms (the mid-level term is ignored for A2E).
    patience : int
        Early stopping: epochs without validation improvement before stopping. The default (= epochs) runs
        the whole cosine schedule and keeps the best validation epoch, which worked best on the synthetic set.
    valid_fraction : float
        Share of the training set held out for early stopping when no ``valid_set`` is given.
    clip_seconds : float or None
        Crop / pad length; None = length of the first item.
    crop_seconds : float or None
        Augmentation: train on random crops of this length (one offset per example per step, drawn from the
        seeded generator); validation and test always see the whole clip. None = no cropping.
    seed : int
        Initialisation, hold-out split and batch order.
    num_threads : int or None
        torch CPU threads during training (restored afterwards).
    """

    architecture: str = "cp_resnet"
    head: str = "a2mid2e"
    backbone_kwargs: dict = field(default_factory=lambda: {"base_channels": 16})
    frontend_kwargs: dict = field(default_factory=dict)
    head_kwargs: dict = field(default_factory=dict)
    epochs: int = 100
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3
    midlevel_weight: float = 1.0
    emotion_weight: float = 1.0
    patience: int = 100
    valid_fraction: float = 0.15
    clip_seconds: float | None = None
    crop_seconds: float | None = 5.0
    seed: int = 0
    num_threads: int | None = 2

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience"):
            setattr(self, name, check_int(getattr(self, name), name, minimum=1))
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise ParameterError("learning_rate must be > 0 and weight_decay >= 0.")
        weights = (self.midlevel_weight, self.emotion_weight)
        if min(weights) < 0 or sum(weights) == 0:
            raise ParameterError("loss weights must be >= 0 and not both zero.")
        if self.crop_seconds is not None and self.crop_seconds <= 0:
            raise ParameterError(f"crop_seconds must be > 0 or None, got {self.crop_seconds!r}.")
        if not 0 < self.valid_fraction < 1:
            raise ParameterError(f"valid_fraction must be in (0, 1), got {self.valid_fraction!r}.")
