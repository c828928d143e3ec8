"""The ``Predictor`` contract every explained model meets, and adapters that make any model meet it.

A predictor maps a batch of waveforms ``(B, channels, samples)`` (float32, at ``sample_rate``) to outputs
``(B, T)`` named by ``output_names``. Models whose emotion head is linear on mid-level outputs also declare
``midlevel_names``, ``emotion_names`` and ``emotion_weights`` (E x M), which unlocks mid-level effects and the
explanation chain.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from ..exceptions import MerAudioLimeError, ModelError, ParameterError
from ..validation import check_int

__all__ = [
    "Predictor",
    "CallablePredictor",
    "TorchPredictor",
    "as_predictor",
    "load_predictor",
    "import_object",
    "check_predictor",
    "predict_batched",
]


@runtime_checkable
class Predictor(Protocol):
    """What :func:`mer_audiolime.explain` needs of a model.

    Attributes
    ----------
    sample_rate : int
        Input sample rate in Hz.
    output_names : list of str
        One name per output column.
    channels : int
        Input channels (1 = mono); optional, default 1.
    midlevel_names, emotion_names : list of str, optional
        Subsets of ``output_names`` for models with a linear emotion head on mid-level outputs.
    emotion_weights : np.ndarray, shape (E, M), optional
        The head: ``emotion = emotion_weights @ midlevel``.
    """

    sample_rate: int
    output_names: list

    def __call__(self, batch: np.ndarray) -> np.ndarray:  # (B, C, L) -> (B, T)
        ...


def _check_names(names, what: str) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) == 0:
        raise ParameterError(f"{what} must be a non-empty list of strings, got {names!r}.")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ParameterError(f"{what} has duplicates: {names}; give each output a unique name.")
    return names


class _LinearHeadMixin:
    """Shared handling of the optional mid-level -> emotion linear head declaration."""

    def _init_head(self, midlevel_names, emotion_names, emotion_weights):
        self.midlevel_names = None if midlevel_names is None else _check_names(midlevel_names, "midlevel_names")
        self.emotion_names = None if emotion_names is None else _check_names(emotion_names, "emotion_names")
        self.emotion_weights = None
        if emotion_weights is not None:
            if self.midlevel_names is None or self.emotion_names is None:
                raise ParameterError(
                    "emotion_weights needs midlevel_names and emotion_names to say which outputs it connects."
                )
            w = np.asarray(emotion_weights, dtype=np.float64)
            want = (len(self.emotion_names), len(self.midlevel_names))
            if w.shape != want:
                raise ParameterError(
                    f"emotion_weights must have shape (n_emotions, n_midlevel) = {want}, got {w.shape}."
                )
            self.emotion_weights = w
        for group in (self.midlevel_names or []) + (self.emotion_names or []):
            if group not in self.output_names:
                raise ParameterError(
                    f"{group!r} is declared as a mid-level/emotion output but is not in output_names "
                    f"{self.output_names}."
                )


class CallablePredictor(_LinearHeadMixin):
    """Wrap a plain function ``fn(batch: ndarray (B, C, L)) -> ndarray (B, T)``.

    Parameters
    ----------
    fn : callable
        numpy in, numpy out (a 1-D result is taken as one output per example).
    sample_rate : int
        Input rate in Hz.
    output_names : list of str
    channels : int
        Input channels expected by ``fn`` (default 1).
    midlevel_names, emotion_names, emotion_weights : optional
        See :class:`Predictor`.

    Examples
    --------
    >>> p = CallablePredictor(lambda x: x.std(axis=(1, 2))[:, None], sample_rate=22050, output_names=["loud"])
    >>> p(np.ones((2, 1, 10), np.float32)).shape
    (2, 1)
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        *,
        sample_rate: int,
        output_names: Sequence[str],
        channels: int = 1,
        midlevel_names: Sequence[str] | None = None,
        emotion_names: Sequence[str] | None = None,
        emotion_weights=None,
        name: str | None = None,
    ):
        if not callable(fn):
            raise ParameterError(f"fn must be callable, got {type(fn).__name__}.")
        self.fn = fn
        self.sample_rate = check_int(sample_rate, "sample_rate", minimum=1)
        self.channels = check_int(channels, "channels", minimum=1)
        self.output_names = _check_names(output_names, "output_names")
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        self._init_head(midlevel_names, emotion_names, emotion_weights)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = np.asarray(self.fn(np.asarray(batch, dtype=np.float32)), dtype=np.float64)
        if out.ndim == 1:
            out = out[:, None]
        return out


class TorchPredictor(_LinearHeadMixin):
    """Wrap a ``torch.nn.Module`` taking ``(B, C, L)`` or ``(B, L)`` waveforms.

    The module's output may be a tensor ``(B, T)`` or a dict of tensors; with a dict, ``output_keys`` picks
    and orders the entries that are concatenated (default: ``("midlevel", "emotion")`` when present).

    Parameters
    ----------
    module : torch.nn.Module
        Put in eval mode; called under ``torch.inference_mode``.
    sample_rate : int
    output_names : list of str
        Names of the concatenated output columns.
    channels : int
        Input channels (default 1).
    squeeze_channels : bool
        Feed ``(B, L)`` instead of ``(B, 1, L)`` (mono only).
    output_keys : sequence of str, optional
        For dict outputs.
    device : str
        Torch device (default ``"cpu"``; ``"cuda"``, ``"cuda:1"``, ``"mps"`` where present).
    threads : int, optional
        torch intra-op threads while predicting (restored afterwards; default: leave torch's setting). On a
        CPU shared with other work, 1 is often fastest: parallel regions wait for descheduled threads.
    """

    def __init__(
        self,
        module,
        *,
        sample_rate: int,
        output_names: Sequence[str],
        channels: int = 1,
        squeeze_channels: bool = False,
        output_keys: Sequence[str] | None = None,
        device: str = "cpu",
        midlevel_names: Sequence[str] | None = None,
        emotion_names: Sequence[str] | None = None,
        emotion_weights=None,
        name: str | None = None,
        threads: int | None = None,
    ):
        import torch

        if not isinstance(module, torch.nn.Module):
            raise ParameterError(f"module must be a torch.nn.Module, got {type(module).__name__}.")
        self.module = module.to(device).eval()
        self.device = device
        self.sample_rate = check_int(sample_rate, "sample_rate", minimum=1)
        self.channels = check_int(channels, "channels", minimum=1)
        if squeeze_channels and self.channels != 1:
            raise ParameterError("squeeze_channels=True only makes sense for mono (channels=1) models.")
        self.squeeze_channels = squeeze_channels
        self.output_keys = None if output_keys is None else list(output_keys)
        self.output_names = _check_names(output_names, "output_names")
        self.name = name or type(module).__name__
        self.threads = None if threads is None else check_int(threads, "threads", minimum=1)
        self._init_head(midlevel_names, emotion_names, emotion_weights)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        if self.squeeze_channels:
            x = x[:, 0, :]
        before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                out = self.module(x)
        finally:
            if self.threads is not None:
                torch.set_num_threads(before)
        if isinstance(out, Mapping):
            keys = self.output_keys or [k for k in ("midlevel", "emotion") if k in out]
            if not keys:
                raise ModelError(
                    f"the module returned a dict with keys {sorted(out)}; pass output_keys=[...] to say which "
                    "entries are the outputs."
                )
            out = torch.cat([out[k].reshape(out[k].shape[0], -1) for k in keys], dim=1)
        out = out.detach().to("cpu", torch.float64).numpy()
        if out.ndim == 1:
            out = out[:, None]
        return out


def check_predictor(model) -> None:
    """Raise :class:`ModelError` if ``model`` does not meet the :class:`Predictor` contract."""
    missing = [a for a in ("sample_rate", "output_names") if not hasattr(model, a)]
    if missing or not callable(model):
        raise ModelError(
            f"{type(model).__name__} is not a Predictor (missing {missing or ['__call__']}); wrap it with "
            "TorchPredictor(module, sample_rate=..., output_names=[...]) or CallablePredictor(fn, ...)."
        )
    check_int(model.sample_rate, "model.sample_rate", minimum=1)
    _check_names(model.output_names, "model.output_names")


def as_predictor(model, **kwargs):
    """Return the model object ``model`` as a :class:`Predictor`.

    A predictor is returned as is; a ``torch.nn.Module`` or a plain callable is wrapped (then ``sample_rate``
    and ``output_names`` must be given, or be attributes of the object). A model spec string (zoo name,
    checkpoint, ``"module:factory"``) is resolved by :func:`mer_audiolime.models.as_predictor`
    (:func:`mer_audiolime.models.spec.as_predictor`), which builds on this function.

    Parameters
    ----------
    model : Predictor, torch.nn.Module or callable
    **kwargs
        ``sample_rate``, ``output_names`` and the other arguments of :class:`TorchPredictor` /
        :class:`CallablePredictor`.

    Returns
    -------
    Predictor

    Examples
    --------
    >>> p = as_predictor(lambda x: x.mean(axis=(1, 2))[:, None], sample_rate=8000, output_names=["m"])
    >>> p(np.ones((2, 1, 8), np.float32)).tolist()
    [[1.0], [1.0]]
    """
    if isinstance(model, (str, Path)):
        raise ModelError(
            f"{str(model)!r} is a model spec; resolve it with mer_audiolime.models.as_predictor (or "
            "mer_audiolime.models.resolve_model), which accepts zoo names, checkpoints and factories."
        )
    if hasattr(model, "sample_rate") and hasattr(model, "output_names") and callable(model) and not kwargs:
        check_predictor(model)
        return model
    try:
        import torch

        is_module = isinstance(model, torch.nn.Module)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        is_module = False
    for attr in ("sample_rate", "output_names", "channels", "midlevel_names", "emotion_names", "emotion_weights"):
        if attr not in kwargs and getattr(model, attr, None) is not None:
            kwargs[attr] = getattr(model, attr)
    if "sample_rate" not in kwargs or "output_names" not in kwargs:
        raise ModelError(
            f"cannot explain a bare {type(model).__name__}: say what it expects and returns, e.g. "
            "as_predictor(model, sample_rate=22050, output_names=['valence', 'arousal'])."
        )
    if is_module:
        return TorchPredictor(model, **kwargs)
    if callable(model):
        return CallablePredictor(model, **kwargs)
    raise ModelError(f"{type(model).__name__} is neither a Predictor, a torch.nn.Module nor a callable.")


def import_object(spec: str, *, what: str = "model"):
    """Import the object named by ``"package.module:attr"`` or ``"path/to/file.py:attr"``.

    Used for model factories (:func:`load_predictor`) and dataset factories (``mer-audiolime train``).

    Examples
    --------
    >>> import_object("numpy:pi")
    3.141592653589793
    """
    if not isinstance(spec, str) or ":" not in spec or spec.endswith(":"):
        extra = " (or be a zoo model name or a checkpoint .pt)" if what == "model" else ""
        raise ParameterError(
            f"{what} spec {spec!r} must look like 'package.module:factory' or "
            f"'path/to/file.py:factory'{extra}."
        )
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_file():
            raise ModelError(f"{what} file {target!r} does not exist; check the path in {spec!r}.")
        mod_name = f"_mer_audiolime_user_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as err:
            raise ModelError(f"importing {target!r} failed: {type(err).__name__}: {err}") from err
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as err:
            raise ModelError(
                f"cannot import module {target!r} from {spec!r} ({err}); is it installed or on PYTHONPATH?"
                + (_file_hint(target, attr) if getattr(err, "name", None) in _prefixes(target) else "")
            ) from err
    obj = getattr(module, attr, None)
    if obj is None:
        raise ModelError(f"{target!r} has no attribute {attr!r} (from {spec!r}).")
    return obj


def _prefixes(module: str) -> list:
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _file_hint(target: str, attr: str) -> str:
    """For a ``module:attr`` that does not import: the ``file.py:attr`` form (naming the file if it
    exists)."""
    candidate = Path(*target.split(".")).with_suffix(".py")
    if candidate.is_file():
        return f" There is a file {str(candidate)!r} here: write '{candidate.as_posix()}:{attr}' to load it."
    return (f" If {target!r} is a file of yours, write 'path/to/{target.split('.')[-1]}.py:{attr}' (a module "
            "name is looked up on PYTHONPATH, a .py path is loaded from the file).")


def load_predictor(spec: str, **kwargs):
    """Load a predictor from ``"package.module:factory"`` or ``"path/to/file.py:factory"``.

    The factory is called with ``**kwargs`` and must return a :class:`Predictor` (or something
    :func:`as_predictor` can wrap). Zoo models are factories too:
    ``"mer_audiolime.models.zoo:a2mid2e_synth_clean"``. A factory that raises is reported as a
    :class:`~mer_audiolime.exceptions.ModelError` naming the spec.

    Examples
    --------
    >>> load_predictor("no_colon")
    Traceback (most recent call last):
    ...
    mer_audiolime.exceptions.ParameterError: model spec 'no_colon' must look like ...
    """
    factory = import_object(spec, what="model")
    if callable(factory) and not _is_predictor(factory):
        try:
            obj = factory(**kwargs)
        except MerAudioLimeError:
            raise
        except Exception as err:  # the user's factory failed: say which, keep the cause
            raise ModelError(f"the model factory {spec!r} raised {type(err).__name__}: {err}") from err
    else:
        obj = factory
    return as_predictor(obj)


def _is_predictor(obj) -> bool:
    return hasattr(obj, "sample_rate") and hasattr(obj, "output_names") and callable(obj)


def predict_batched(model, inputs: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Run ``model`` over ``inputs (N, C, L)`` in batches and check the output shape ``(N, T)``."""
    n = inputs.shape[0]
    outs = []
    for start in range(0, n, batch_size):
        outs.append(_checked_call(model, inputs[start : start + batch_size]))
    return np.concatenate(outs, axis=0) if outs else np.zeros((0, len(model.output_names)))


def _checked_call(model, batch: np.ndarray) -> np.ndarray:
    out = np.asarray(model(batch), dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    want = (batch.shape[0], len(model.output_names))
    if out.shape != want:
        raise ModelError(
            f"the model returned shape {out.shape} for a batch of {batch.shape[0]}; expected {want} "
            f"(one column per output name {model.output_names})."
        )
    if not np.all(np.isfinite(out)):
        raise ModelError("the model returned NaN or infinite outputs; check its input scaling and weights.")
    return out
