"""Source separators (open-unmix, oracle stems) and an on-disk separation cache.

A separator has a stable ``identity`` (name + weights hash + settings: the cache key), a ``sample_rate`` and
``separate(audio (C, L), sr=...) -> {stem: (C, L)}`` returning stems at the input's rate and shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Mapping, Protocol, runtime_checkable

import numpy as np

from ..audio import as_channels_first, audio_fingerprint, conform
from ..exceptions import ParameterError, SeparationError, WeightsError
from .fetch import FETCH_COMMAND, PRETRAINED_SEPARATORS, checkpoint_dir, weight_paths
from .separators import CARD_NAME, list_separators, separator_card, separator_dir, verify_separator_dir

__all__ = [
    "Separator",
    "OracleSeparator",
    "OpenUnmixSeparator",
    "CachedSeparator",
    "get_separator",
    "default_cache_dir",
]


@runtime_checkable
class Separator(Protocol):
    """What the explainer needs of a source separator."""

    identity: str
    sample_rate: int | None

    def separate(self, audio: np.ndarray, *, sr: int) -> dict:  # (C, L) -> {name: (C, L)}
        ...


class OracleSeparator:
    """Stems supplied by the caller (e.g. a multitrack dataset): "separation" returns them.

    Parameters
    ----------
    stems : mapping of str to np.ndarray, shape (C, L) or (L,)
        The true sources.
    sr : int
        Their sample rate.
    name : str
        Used in :attr:`identity`.

    Examples
    --------
    >>> sep = OracleSeparator({"a": np.ones(4), "b": np.zeros(4)}, sr=10)
    >>> sorted(sep.separate(np.ones((1, 4)), sr=10))
    ['a', 'b']
    """

    def __init__(self, stems: Mapping[str, np.ndarray], *, sr: int, name: str = "oracle"):
        if not stems:
            raise ParameterError("OracleSeparator needs at least one stem.")
        self.stems = {str(k): as_channels_first(v, name=f"stem {k!r}") for k, v in stems.items()}
        shapes = {v.shape[1] for v in self.stems.values()}
        if len(shapes) != 1:
            raise ParameterError(f"oracle stems must all have the same length, got lengths {sorted(shapes)}.")
        self.sample_rate = int(sr)
        h = hashlib.sha256()
        for k, v in self.stems.items():
            h.update(k.encode())
            h.update(memoryview(np.ascontiguousarray(v)).cast("B"))  # the bytes, without a copy
        self.identity = f"{name}:{h.hexdigest()[:16]}"

    def separate(self, audio: np.ndarray, *, sr: int) -> dict:
        """The stems at ``sr`` with ``audio``'s channels; refuses stems that do not belong to ``audio``.

        Raises
        ------
        SeparationError
            A stem has another length than the audio, or one of several stems *is* the audio (the mix was
            passed as a stem, e.g. a ``mix.wav`` lying among the stem files).
        """
        audio = as_channels_first(audio)
        out = {}
        for name, stem in self.stems.items():
            conv = conform(stem, sr=self.sample_rate, target_sr=sr, channels=audio.shape[0])
            if conv.shape[1] != audio.shape[1]:
                raise SeparationError(
                    f"oracle stem {name!r} has {conv.shape[1]} samples at {sr} Hz but the audio has "
                    f"{audio.shape[1]}; the stems must belong to this audio."
                )
            out[name] = conv
        if len(out) > 1:
            mix_energy = float(np.mean(np.square(audio, dtype=np.float64)))
            for name, stem in out.items():
                others = [s for n, s in out.items() if n != name]
                if not any(np.max(np.abs(s)) > 1e-7 for s in others):
                    continue  # the other stems are silent: this stem legitimately carries all of the mix
                diff = float(np.mean(np.square(stem - audio, dtype=np.float64)))
                if mix_energy > 0 and diff <= 1e-8 * mix_energy:
                    raise SeparationError(
                        f"stem {name!r} is the audio being explained (it equals the mix within -80 dB) while "
                        f"other stems are not silent: the mix was passed as a stem. Remove it from the stems "
                        f"(stems given: {list(out)})."
                    )
        return out


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
        :class:`CachedSeparator` maps this to :attr:`identity` on disk, so a cache hit never builds the model.
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


def default_cache_dir() -> Path:
    """``$MER_AUDIOLIME_CACHE`` or ``~/.cache/mer_audiolime`` (``$XDG_CACHE_HOME`` respected)."""
    env = os.environ.get("MER_AUDIOLIME_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mer_audiolime"


class CachedSeparator:
    """Wrap any separator with an on-disk cache keyed by audio content + separator identity + settings.

    Files are written atomically (temporary file + rename), so an interrupted run never leaves a corrupt
    entry. ``hits`` and ``misses`` count lookups.

    Parameters
    ----------
    separator : Separator
    cache_dir : path, optional
        Default :func:`default_cache_dir` ``/ "separation"``.
    """

    def __init__(self, separator, *, cache_dir=None):
        self.inner = separator
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "separation"
        self.hits = 0
        self.misses = 0
        self._identity = None

    @property
    def identity(self) -> str:
        """The wrapped separator's identity; for separators with a cheap ``descriptor()`` (open-unmix) it is
        remembered in ``<cache_dir>/identities.json``, so later processes know it without building the
        model."""
        if self._identity is None:
            describe = getattr(self.inner, "descriptor", None)
            if describe is None:
                self._identity = self.inner.identity
            else:
                desc = describe()
                known = self._identities()
                if desc not in known:
                    known[desc] = self.inner.identity
                    self._write_identities(known)
                self._identity = known[desc]
        return self._identity

    def _identities(self) -> dict:
        try:
            return json.loads((self.cache_dir / "identities.json").read_text())
        except (OSError, ValueError):
            return {}

    def _write_identities(self, known: dict) -> None:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump(known, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.cache_dir / "identities.json")
        except OSError:  # a read-only cache still works; the identity is recomputed next time
            pass

    @property
    def sample_rate(self):
        return self.inner.sample_rate

    def key(self, audio: np.ndarray, sr: int) -> str:
        """sha256 of the audio as handed to the separator (samples, shape, rate) + the separator identity.

        Every path of the package (``explain`` on a file or an array, the evaluation harness, the reports)
        decodes a track with :func:`mer_audiolime.audio.load_audio` at its native rate and separates that,
        so they share one entry per track and separator.
        """
        h = hashlib.sha256()
        h.update(audio_fingerprint(audio, sr).encode())
        h.update(self.identity.encode())
        return h.hexdigest()

    def separate(self, audio: np.ndarray, *, sr: int) -> dict:
        audio = as_channels_first(audio)
        path = self.cache_dir / f"{self.key(audio, sr)}.npz"
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    names = json.loads(str(data["__names__"]))
                    stems = {n: data[f"s{i}"] for i, n in enumerate(names)}
                self.hits += 1
                return stems
            except Exception:  # unreadable entry (e.g. disk trouble): recompute and overwrite
                pass
        self.misses += 1
        stems = self.inner.separate(audio, sr=sr)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        arrays = {f"s{i}": np.asarray(v, dtype=np.float32) for i, v in enumerate(stems.values())}
        arrays["__names__"] = np.array(json.dumps(list(stems.keys())))
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return stems


_MEMO: dict = {}


def get_separator(spec, *, cache_dir=None, use_cache: bool = True, **kwargs):
    """Resolve a separator from a name, a path or an object, wrapped in a :class:`CachedSeparator`.

    Parameters
    ----------
    spec : str, path or Separator
        ``"umxhq"``, ``"umxl"``, ``"umx"``, a shipped separator (``"umx-synth"``), a local open-unmix model
        directory, or a separator object (e.g. :class:`OracleSeparator`).
    cache_dir : path, optional
    use_cache : bool
        Oracle separators are never cached (their stems are already in memory).
    **kwargs
        Passed to :class:`OpenUnmixSeparator`.
    """
    if isinstance(spec, (str, os.PathLike)):
        # one instance per process and settings: a model is built (and its identity found) at most once
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "separation"
        memo_key = (str(spec), str(folder), use_cache, json.dumps(kwargs, sort_keys=True, default=str))
        if memo_key not in _MEMO:
            sep = OpenUnmixSeparator(str(spec), **kwargs)
            _MEMO[memo_key] = CachedSeparator(sep, cache_dir=folder) if use_cache else sep
        return _MEMO[memo_key]
    if callable(getattr(spec, "separate", None)) and "identity" in dir(spec):  # dir(): no property evaluated
        sep = spec
    else:
        raise ParameterError(
            f"separator must be 'umxhq', 'umxl', a shipped name {list_separators()}, a model directory or a "
            f"Separator object, got {spec!r}."
        )
    if use_cache and not isinstance(sep, (OracleSeparator, CachedSeparator)):
        sep = CachedSeparator(sep, cache_dir=cache_dir)
    return sep
