"""One way to name a model, everywhere: ``explain``, ``evaluate``, ``report`` and the Python API accept the
same four forms, parsed here and nowhere else.

================================  =============================================================
form                              example
================================  =============================================================
zoo name                          ``a2mid2e_synth_clean`` (``mer-audiolime models list``)
checkpoint written by ``train``   ``runs/deam/best.pt``
module and factory                ``mypkg.models:build``
Python file and factory           ``path/to/my_model.py:build``
================================  =============================================================

:func:`parse_model_spec` classifies a spec and makes it independent of the working directory (files become
absolute paths) without importing or loading anything; :func:`resolve_model` then builds the predictor. Runs
store the resolved spec, so a results folder can be re-explained from anywhere, and label their rows with the
model's display name (:attr:`ModelSpec.name`).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ModelError, ParameterError, WeightsError
from .checkpoint import load_checkpoint, sha256_file
from .predictor import as_predictor as wrap_object
from .predictor import load_predictor
from .zoo import list_models, model_card, pretrained_predictor, resolve_weights

__all__ = ["ModelSpec", "ResolvedModel", "MODEL_SPEC_FORMS", "parse_model_spec", "resolve_model",
           "describe_model", "as_predictor"]

#: The accepted forms, as shown in error messages and ``--help``.
MODEL_SPEC_FORMS = ("a zoo model name (mer-audiolime models list), a checkpoint .pt written by `train`, "
                    "'package.module:factory' or 'path/to/file.py:factory'")

_CHECKPOINT_SUFFIXES = (".pt", ".pth")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec.

    Attributes
    ----------
    kind : {"zoo", "checkpoint", "module", "file"}
    spec : str
        The canonical spec: a zoo name, an absolute checkpoint path, ``package.module:factory``, or
        ``/absolute/path/file.py:factory``. It means the same model from any working directory.
    name : str
        Display name for result rows and pages: the zoo name, the checkpoint's file stem (replaced by the
        name in its card once loaded), ``module:factory`` or ``<file stem>:factory``.
    given : str
        The spec as the user wrote it.
    """

    kind: str
    spec: str
    name: str
    given: str


@dataclass
class ResolvedModel:
    """What :func:`resolve_model` returns: the predictor plus the canonical spec and display name.

    Attributes
    ----------
    predictor : Predictor
        Zoo and checkpoint predictors carry ``card`` and ``target_scaling`` (outputs are z-scores;
        ``value = z * std + mean`` gives the annotation scale), and ``weights_path`` and ``weights_sha256``
        (recorded in run manifests and resume keys).
    spec : str
        Canonical spec (see :class:`ModelSpec`).
    name : str
        Display name.
    kind : str
    """

    predictor: object
    spec: str
    name: str
    kind: str


def _zoo_names() -> list:
    return list_models()


def _forms_hint() -> str:
    return f"A model is {MODEL_SPEC_FORMS}."


def parse_model_spec(spec) -> ModelSpec:
    """Classify a model spec and make it independent of the working directory (nothing is imported or loaded).

    Parameters
    ----------
    spec : str or path-like
        See the module docstring for the four forms.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ParameterError
        Not one of the forms (with "did you mean" for a near-miss zoo name, and the ``file.py:factory`` form
        for a Python file given without its factory).
    WeightsError
        A checkpoint path that does not exist.
    ModelError
        A ``file.py:factory`` whose file does not exist.

    Examples
    --------
    >>> parse_model_spec("a2mid2e_synth_clean").kind
    'zoo'
    >>> parse_model_spec("numpy:pi").spec
    'numpy:pi'
    >>> parse_model_spec("a2mid2e_synth_clen")
    Traceback (most recent call last):
    ...
    mer_audiolime.exceptions.ParameterError: unknown model 'a2mid2e_synth_clen'; did you mean ...
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(f"model spec must be a non-empty string, got {spec!r}. {_forms_hint()}")
    given, spec = spec, spec.strip()
    zoo = _zoo_names()
    if spec in zoo:
        return ModelSpec("zoo", spec, spec, given)
    target, colon, attr = spec.rpartition(":")
    if not colon or _is_drive(target):  # no factory part (a Windows drive letter is not one)
        return _parse_plain(spec, given, zoo)
    if not attr or not attr.isidentifier():
        raise ParameterError(f"model spec {given!r} must end in a factory name after ':', e.g. "
                             f"'{target or 'my_model.py'}:build'. {_forms_hint()}")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {target!r} does not exist (looked in {Path.cwd()}); check the path "
                             f"in {given!r}.")
        path = path.resolve()
        return ModelSpec("file", f"{path}:{attr}", f"{path.stem}:{attr}", given)
    if not all(part.isidentifier() for part in target.split(".")):
        raise ParameterError(f"{target!r} in {given!r} is not a module name; for a file write "
                             f"'path/to/file.py:{attr}'. {_forms_hint()}")
    return ModelSpec("module", spec, spec, given)


def _is_drive(target: str) -> bool:
    return len(target) == 1 and target.isalpha()


def _parse_plain(spec: str, given: str, zoo: list) -> ModelSpec:
    path = Path(spec).expanduser()
    if spec.lower().endswith(_CHECKPOINT_SUFFIXES):
        if not path.is_file():
            raise WeightsError(f"checkpoint {given!r} does not exist (looked in {Path.cwd()}); check the "
                               "path, or use a zoo name from `mer-audiolime models list`.")
        path = path.resolve()
        return ModelSpec("checkpoint", str(path), path.stem, given)
    if spec.endswith(".py"):
        raise ParameterError(f"{given!r} is a Python file: name its factory too, e.g. '{spec}:build' (the "
                             "function that returns the model).")
    close = difflib.get_close_matches(spec, zoo, n=3, cutoff=0.6)
    hint = (f"did you mean {' or '.join(repr(c) for c in close)}? " if close
            else f"zoo models: {', '.join(zoo) or 'none installed'}. ")
    raise ParameterError(f"unknown model {given!r}; {hint}{_forms_hint()}")


def resolve_model(spec, **factory_kwargs) -> ResolvedModel:
    """Build the predictor a model spec names.

    Parameters
    ----------
    spec : str, path-like or ModelSpec
        Any of the four forms (see :func:`parse_model_spec`).
    **factory_kwargs
        Passed to a ``module:factory`` / ``file.py:factory`` factory (not allowed for zoo names or
        checkpoints).

    Returns
    -------
    ResolvedModel

    Examples
    --------
    >>> resolved = resolve_model("a2mid2e_synth_clean")                   # doctest: +SKIP
    >>> resolved.name, resolved.predictor.sample_rate                     # doctest: +SKIP
    ('a2mid2e_synth_clean', 22050)
    """
    parsed = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    if factory_kwargs and parsed.kind in ("zoo", "checkpoint"):
        raise ParameterError(f"{parsed.given!r} is a {parsed.kind} model: it takes no factory arguments "
                             f"(got {sorted(factory_kwargs)}).")
    name = parsed.name
    if parsed.kind == "zoo":
        predictor = pretrained_predictor(parsed.spec, download=False)
        predictor.target_scaling = dict(model_card(parsed.spec).target_scaling or {})
        predictor.weights_path = str(resolve_weights(parsed.spec, download=False))
        predictor.weights_sha256 = model_card(parsed.spec).weights.get("sha256")  # verified on load
    elif parsed.kind == "checkpoint":
        from .heads import to_predictor

        model, card = load_checkpoint(parsed.spec)  # verifies the embedded digest
        model.card = card
        name = card.name or parsed.name
        predictor = to_predictor(model.eval(), name=name)
        predictor.target_scaling = dict(getattr(card, "target_scaling", None) or {})
        predictor.weights_path = parsed.spec
        predictor.weights_sha256 = sha256_file(parsed.spec)
    else:
        predictor = load_predictor(parsed.spec, **factory_kwargs)
    return ResolvedModel(predictor=predictor, spec=parsed.spec, name=name, kind=parsed.kind)


def as_predictor(model, **kwargs):
    """Return ``model`` as a :class:`~mer_audiolime.models.predictor.Predictor`: a model spec or an object.

    A string (or path) is any model spec -- zoo name, checkpoint, ``"module:factory"`` or
    ``"path/file.py:factory"`` -- resolved by :func:`resolve_model` (``kwargs`` go to a factory); anything
    else is wrapped by :func:`mer_audiolime.models.predictor.as_predictor` (a predictor is returned as is, a
    ``torch.nn.Module`` or a callable is wrapped with ``kwargs`` such as ``sample_rate`` and
    ``output_names``). This is ``mer_audiolime.models.as_predictor``.

    Parameters
    ----------
    model : str, path-like, Predictor, torch.nn.Module or callable
    **kwargs
        Factory arguments (a spec) or wrapper arguments (an object).

    Returns
    -------
    Predictor

    Examples
    --------
    >>> as_predictor("a2mid2e_synth_biased").output_names[-2:]  # doctest: +SKIP
    ['valence', 'arousal']
    """
    if isinstance(model, (str, os.PathLike)):
        return resolve_model(model, **kwargs).predictor
    return wrap_object(model, **kwargs)


def describe_model(predictor) -> dict:
    """What a reader of an explanation should know about the model, from its card (empty without one).

    Returns
    -------
    dict
        ``target_scaling`` (``{output: {"mean", "std"}}``: outputs are z-scores, ``value = z * std + mean``),
        ``trained_on`` (``{"dataset", "variant"}``) and ``domain`` (one sentence on the training data).

    Examples
    --------
    >>> describe_model(resolve_model("a2mid2e_synth_clean").predictor)["trained_on"]   # doctest: +SKIP
    {'dataset': 'synthetic', 'variant': 'clean'}
    """
    card = getattr(predictor, "card", None)
    scaling = getattr(predictor, "target_scaling", None) or getattr(card, "target_scaling", None) or {}
    info = {}
    if scaling:
        info["target_scaling"] = {str(k): {"mean": float(v["mean"]), "std": float(v["std"])}
                                  for k, v in scaling.items()}
    if card is None:
        return info
    data = dict(getattr(card, "dataset", None) or {})
    if data.get("name"):
        info["trained_on"] = {"dataset": data.get("name"), "variant": data.get("variant")}
    domain = (getattr(card, "domain", None) or {}).get("description") if isinstance(
        getattr(card, "domain", None), dict) else None
    if not domain and data.get("name"):
        kind = "synthetic audio (rendered multitracks)" if data["name"] == "synthetic" else "its recordings"
        variant = f", {data['variant']} labels" if data.get("variant") else ""
        domain = f"trained on {data['name']}{variant}: {kind}"
    if domain:
        info["domain"] = str(domain)
    return info
