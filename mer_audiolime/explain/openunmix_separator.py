"""The open-unmix separator (pretrained, shipped or local weights), which never downloads behind your back.

:class:`OpenUnmixSeparator` resolves a model name, a shipped separator or a local model directory, checks
that its weights are on this machine (and, with a card, their sha256) before loading them, and separates
audio in chunks at the model's rate and channel count. :func:`mer_audiolime.explain.separation.get_separator`
builds it from a name.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from ..audio import as_channels_first, conform
from ..exceptions import ParameterError, SeparationError, WeightsError
from .fetch import FETCH_COMMAND, PRETRAINED_SEPARATORS, checkpoint_dir, weight_paths
from .separators import CARD_NAME, list_separators, separator_card, separator_dir, verify_separator_dir

__all__ = ["OpenUnmixSeparator"]


_UMX_MODELS = PRETRAINED_SEPARATORS


class OpenUnmixSeparator:
    """open-unmix (Stöter et al. 2019) as a separator that never downloads behind your back.

    Parameters
    ----------
    model : str
        ``"umxhq"``, ``"umxl"``, ``"umx"`` (pretrained weights from ``$TORCH_HOME/hub/checkpoints``), a
        separator shipped with the package (``"umx-synth"``, see
        :func:`~mer_audiolime.explain.separators.list_separators`; its files are sha256-checked against its
        card before loading), or a path to a local directory holding ``separator.json``, ``<target>.json``
        and ``<target>.pth`` files (checked the same way when it holds a ``card.json``). A shipped name wins
        over a folder of the same name in the working directory; write ``./name`` for the folder.
    pretrained : bool
        ``False`` builds the architecture with random weights (real compute, meaningless stems: tests only).
    targets : sequence of str, optional
        Stems to estimate (default: the model's four, vocals/drums/bass/other).
    niter : int
        Wiener-filter iterations (open-unmix default 1).
    device : str
    seed : int
        Seeds the random initialisation when ``pretrained=False``.
    show_progress : bool
        tqdm bar over chunks while separating.
    chunk_seconds : float
        Separate long audio in chunks of this many seconds to bound memory.
    """

    sample_rate = 44100

    def __init__(
        self,
        model: str = "umxhq",
        *,
        pretrained: bool = True,
        targets=None,
        niter: int = 1,
        device: str = "cpu",
        seed: int = 0,
        show_progress: bool = True,
        chunk_seconds: float = 30.0,
    ):
        self.model = str(model)
        self.pretrained = bool(pretrained)
        self.targets = None if targets is None else [str(t) for t in targets]
        self.niter = int(niter)
        self.device = device
        self.seed = int(seed)
        self.show_progress = show_progress
        if chunk_seconds <= 0:
            raise ParameterError(f"chunk_seconds must be > 0, got {chunk_seconds}.")
        self.chunk_seconds = float(chunk_seconds)
        self._separator = None
        self._identity = None
        if self.model in list_separators():  # declare the true rate before the weights are loaded
            self.sample_rate = int(separator_card(self.model)["sample_rate"])

    # -- construction -------------------------------------------------------------------------------
    def _build(self):
        import torch

        try:
            import openunmix
            from openunmix import utils as umx_utils
        except ImportError as err:  # pragma: no cover - hard dependency
            raise SeparationError(f"open-unmix is not installed ({err}); pip install openunmix.") from err
        except OSError as err:  # torchaudio's compiled extension does not load beside this torch
            raise SeparationError(
                f"open-unmix cannot load torchaudio ({err}). torchaudio must be the same major.minor.patch "
                f"release as torch (installed: torch {torch.__version__}); install the pair from the project's "
                "requirements/lock.txt, e.g. pip install torch==2.11.0 torchaudio==2.11.0."
            ) from err
        local, card = Path(self.model), None
        if self.model in list_separators():
            local = separator_dir(self.model)  # sha256 of every file checked against the card first
            card = separator_card(self.model)
        elif local.is_dir() and (local / CARD_NAME).is_file():
            card = verify_separator_dir(local)
        if local.is_dir():
            if not (local / "separator.json").exists():
                raise WeightsError(
                    f"{str(local)!r} is not an open-unmix model directory: it needs separator.json plus "
                    "<target>.json and <target>.pth for each target."
                )
            targets = self.targets or (card["targets"] if card else None)
            if not targets:
                raise ParameterError(
                    f"open-unmix cannot tell the targets of {str(local)!r}: pass targets=[...] (the names of "
                    "its <target>.pth files), or add a card.json listing them."
                )
            sep = umx_utils.load_separator(str(local), targets=targets, niter=self.niter, device=self.device,
                                           pretrained=True)
        elif self.model in _UMX_MODELS:
            if self.pretrained:
                self._check_weights_present()
            gen_state = torch.random.get_rng_state()
            torch.manual_seed(self.seed)  # deterministic random init for pretrained=False; state restored below
            try:
                factory = getattr(openunmix, self.model)
                sep = factory(targets=self.targets, niter=self.niter, device=self.device,
                              pretrained=self.pretrained)
            except Exception as err:
                raise WeightsError(self._missing_message(f"{type(err).__name__}: {err}")) from err
            finally:
                torch.random.set_rng_state(gen_state)
        else:
            raise ParameterError(
                f"unknown open-unmix model {self.model!r}; use one of {list(_UMX_MODELS)}, a shipped separator "
                f"{list_separators()} or a local model dir."
            )
        sep.freeze()
        sep.eval()
        self.sample_rate = int(round(float(sep.sample_rate)))
        self._separator = sep

    def _check_weights_present(self) -> None:
        missing = [p.name for p in weight_paths(self.model, targets=self.targets).values() if not p.is_file()]
        # MER_AUDIOLIME_ALLOW_DOWNLOAD=1 lets torch.hub fetch them silently (kept for old scripts; the
        # documented way is `mer-audiolime separators fetch <name>`)
        if missing and os.environ.get("MER_AUDIOLIME_ALLOW_DOWNLOAD", "0") != "1":
            raise WeightsError(self._missing_message(f"missing: {', '.join(missing)}"))

    def _missing_message(self, detail: str) -> str:
        return (
            f"open-unmix '{self.model}' weights are not on this machine ({detail}; looked in "
            f"{checkpoint_dir()}, i.e. $TORCH_HOME/hub/checkpoints). Nothing is downloaded without asking. "
            f"Fetch them once with:\n    {FETCH_COMMAND.format(name=self.model)}\n"
            "or use a local open-unmix model directory (separator.json, <target>.json, <target>.pth): "
            "--separator path/to/dir (Python: separator='path/to/dir').\n"
            "Offline alternatives: --stems DIR (oracle stems, one audio file per stem) or --separator "
            "tf-grid (time x frequency cells, no separation)."
        )

    @property
    def separator(self):
        if self._separator is None:
            self._build()
        return self._separator

    def descriptor(self) -> str:
        """Everything the weights depend on, read without building the network (a cheap cache-key stand-in).

        The model name or resolved directory, ``pretrained``/``seed``, targets, ``niter``, the open-unmix and
        torch versions, and the name, size and modification time of every weight file it would load (for a
        shipped separator, its card, which holds the sha256 of every file).
        :class:`~mer_audiolime.explain.separation_cache.CachedSeparator` maps this to :attr:`identity` on
        disk, so a cache hit never builds the model.
        """
        def installed(package):
            try:
                return metadata.version(package)
            except metadata.PackageNotFoundError:
                return None

        local = Path(self.model)
        files, card = [], None
        if self.model in list_separators():
            name, card = self.model, separator_card(self.model)
        elif local.is_dir():
            files = sorted(p for p in local.iterdir() if p.suffix in (".json", ".pth"))
            name = str(local.resolve())
        else:
            name = self.model
            if self.pretrained and self.model in _UMX_MODELS:
                files = list(weight_paths(self.model, targets=self.targets).values())
        stats = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] if p.exists() else [p.name, None, None]
                 for p in files]
        return json.dumps({"model": name, "pretrained": self.pretrained,
                           "seed": None if self.pretrained else self.seed, "targets": self.targets,
                           "niter": self.niter, "openunmix": installed("openunmix"),
                           "torch": installed("torch"), "files": stats, "card": card}, sort_keys=True)

    @property
    def identity(self) -> str:
        """``openunmix:<model>:<weights sha256[:16]>:niter=<n>:targets=<...>`` — stable across processes."""
        if self._identity is None:
            sep = self.separator
            h = hashlib.sha256()
            for key, tensor in sorted(sep.state_dict().items()):
                h.update(key.encode())
                h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            targets = ",".join(sep.target_models.keys())
            name = Path(self.model).name if Path(self.model).is_dir() else self.model
            self._identity = f"openunmix:{name}:{h.hexdigest()[:16]}:niter={self.niter}:targets={targets}"
        return self._identity

    # -- separation ---------------------------------------------------------------------------------
    def separate(self, audio: np.ndarray, *, sr: int) -> dict:
        """Separate ``audio (C, L)`` at ``sr`` into stems of the same shape and rate.

        The audio is resampled to the model's rate (:attr:`sample_rate`: 44.1 kHz for umxhq/umxl, 22.05 kHz
        for ``umx-synth``) and the model's channel count (stereo, or mono for a mono model such as
        ``umx-synth``) for open-unmix, and the stems are brought back; these conversions are linear, so the
        residual of the explainer stays exact.
        """
        import torch
        from tqdm.auto import tqdm

        audio = as_channels_first(audio)
        sep = self.separator
        # a mono model (open-unmix nb_channels=1, e.g. umx-synth) gets mono audio: fed two identical channels,
        # its Wiener EM step inverts a singular 2x2 spatial covariance and returns NaN
        channels = 1 if getattr(sep.complexnorm, "mono", False) else 2
        x = conform(audio, sr=sr, target_sr=self.sample_rate, channels=channels)
        chunk = int(self.chunk_seconds * self.sample_rate)
        starts = list(range(0, x.shape[1], chunk))
        pieces = []
        with torch.inference_mode():
            for a in tqdm(starts, desc="separating", unit="chunk", disable=not self.show_progress, leave=False):
                est = sep(torch.from_numpy(x[np.newaxis, :, a : a + chunk]).to(self.device))
                pieces.append(est[0].cpu().numpy())  # (targets, 2, L)
        est = np.concatenate(pieces, axis=-1)
        names = list(sep.target_models.keys())
        out = {}
        for i, name in enumerate(names):
            stem = conform(est[i], sr=self.sample_rate, target_sr=sr, channels=audio.shape[0])
            out[name] = _fit_length(stem, audio.shape[1])
        return out


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return np.ascontiguousarray(x[:, :n])
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))
