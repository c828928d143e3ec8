"""Sanity checks (Adebayo et al., NeurIPS 2018): attributions must change when the model is destroyed.

Both checks recompute the attribution (the same source, on the *same components and masks*) with a modified
model and compare it with the original attribution by Spearman rank correlation (signed weights and absolute
weights). A trustworthy explainer shows similarity falling towards 0 as the model is randomised. A chained
source is recomputed on the modified model's own emotion output, which equals its chain (every estimator is
linear in the outputs).
"""

from __future__ import annotations

import copy
from dataclasses import fields

import numpy as np
import pandas as pd
from scipy import stats

from ...exceptions import EvaluationError, ParameterError
from ...explain.batching import component_predict_fn
from ...explain.estimators import design, estimate, parse_source
from ...explain.sampling import PredictionCache
from ...models.spec import as_predictor
from ...names import MIDLEVEL_NAMES
from ...validation import check_int, check_seed
from .base import ExplanationMetric, ExplanationSetMetric, register, resolve_attribution, target_index

__all__ = [
    "ParameterRandomisation",
    "LabelRandomisation",
    "PermutedLabels",
    "randomisable_layers",
    "spearman_similarity",
]


def spearman_similarity(a: np.ndarray, b: np.ndarray) -> dict:
    """``{"spearman": rho(a, b), "spearman_abs": rho(|a|, |b|)}``; EvaluationError if either is constant."""
    out = {}
    for key, x, y in (("spearman", a, b), ("spearman_abs", np.abs(a), np.abs(b))):
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            raise EvaluationError(
                "Spearman similarity is undefined: an attribution has all-equal weights "
                "(e.g. a randomised model whose output no longer depends on its input)."
            )
        out[key] = float(stats.spearmanr(x, y).statistic)
    return out


def _reexplain(explanation, predictor, target: str, batch_size: int, source: str) -> tuple:
    """Weights of ``target`` by ``source`` (its direct estimator) for ``predictor``, on the explanation's
    components and the source's masks (a new cache); returns ``(weights, model calls)``."""
    comps = explanation.components
    names = list(predictor.output_names)
    if target not in names:
        raise ParameterError(f"the modified model has no output {target!r}; its outputs are {names}.")
    _, direct = parse_source(source)
    masks = design(direct, len(comps), explanation.settings, groups=comps.segments)
    cache = PredictionCache(len(comps), len(names), key="sanity")
    outputs = cache.predict(masks, component_predict_fn(comps, predictor, batch_size=batch_size),
                            batch_size=batch_size)
    att = estimate(direct, masks, outputs, output_names=names, component_names=comps.names, targets=[target],
                   settings=explanation.settings, groups=comps.segments)
    return att[target].weights, cache.model_calls


def _torch_parts(model):
    import torch

    pred = as_predictor(model)
    module = getattr(pred, "module", None)
    if not isinstance(module, torch.nn.Module):
        raise ParameterError(
            "model-parameter randomisation needs a torch model (a TorchPredictor or an "
            f"nn.Module), got {type(model).__name__}."
        )
    return pred, module


def randomisable_layers(module, *, depth: int | None = None) -> list:
    """Names of the submodules owning parameters, from the output layer down (reverse registration order).

    With ``depth``, names are cut to their first ``depth`` dotted parts and deduplicated, so a whole block
    (e.g. ``backbone.stages.2.0`` with ``depth=4``) is randomised as one step.
    """
    names = [
        name
        for name, m in module.named_modules()
        if name and any(p.numel() for p in m.parameters(recurse=False))
    ][::-1]
    if depth is not None:
        depth = check_int(depth, "depth", minimum=1)
        names = list(dict.fromkeys(".".join(n.split(".")[:depth]) for n in names))
    return names


def _reinitialise(module, prefix: str, seed: int) -> int:
    """Re-initialise every parameter-owning submodule of ``module`` named ``prefix`` or ``prefix.*`` with its
    default initialiser (``reset_parameters``; else normal with the parameter's std) under torch seed
    ``seed``; returns how many submodules were reset."""
    import torch

    targets = [
        m
        for name, m in module.named_modules()
        if (name == prefix or name.startswith(prefix + "."))
        and any(p.numel() for p in m.parameters(recurse=False))
    ]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for layer in targets:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
            else:
                for p in layer.parameters(recurse=False):
                    torch.nn.init.normal_(p, std=float(p.detach().std()) if p.numel() > 1 else 1.0)
    return len(targets)


@register
class ParameterRandomisation(ExplanationMetric):
    """Cascading model-parameter randomisation (Adebayo et al. 2018) for torch models.

    Layers (submodules owning parameters) are re-initialised from the output layer downwards, cumulatively
    (``mode="cascading"``; ``"independent"`` randomises one layer at a time). After each step the explanation
    is recomputed on the original masks and compared with the original attribution.

    Returns a tidy curve: ``step`` (0 = original model, similarity 1), ``layer``, ``spearman``,
    ``spearman_abs``, ``model_calls``. Primary ``spearman_abs``; direction: lower (the similarity at the
    bottom of the cascade should be near 0). Undefined (EvaluationError) when a randomised model's attribution
    is constant. Cost: ``N'`` (unique masks of the explanation) model calls per randomised layer.

    Parameters
    ----------
    layers : sequence of str, optional
        Submodule names, top first (default :func:`randomisable_layers`); a container name randomises every
        parameter-owning submodule inside it in one step.
    depth : int, optional
        Default layers grouped by their first ``depth`` name parts (fewer, coarser steps: cheaper).
    max_layers : int, optional
        Stop after this many layers.
    mode : {"cascading", "independent"}
    seed : int
        Layer ``i`` is re-initialised under torch seed ``seed + i``.

    Notes
    -----
    ``__call__(explanation, model, *, target, source=None) -> DataFrame``
    """

    name, primary, direction, category = "parameter_randomisation", "spearman_abs", "lower", "sanity"

    def __init__(
        self,
        *,
        layers=None,
        depth: int | None = None,
        max_layers: int | None = None,
        mode: str = "cascading",
        seed: int = 0,
        batch_size: int = 32,
    ):
        if mode not in ("cascading", "independent"):
            raise ParameterError(f"mode must be 'cascading' or 'independent', got {mode!r}.")
        self.layers = None if layers is None else [str(x) for x in layers]
        self.depth = None if depth is None else check_int(depth, "depth", minimum=1)
        self.max_layers = None if max_layers is None else check_int(max_layers, "max_layers", minimum=1)
        self.mode = mode
        self.seed = check_seed(seed)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def compute(self, explanation, model=None, *, target: str, source: str | None = None) -> pd.DataFrame:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = ParameterRandomisation()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        pred, module = _torch_parts(model)
        target_index(explanation, target)
        source = explanation.attribution(target, source).info["source"]
        a = resolve_attribution(explanation, target, source=source)
        layers = self.layers or randomisable_layers(module, depth=self.depth)
        if self.max_layers:
            layers = layers[: self.max_layers]
        known = dict(module.named_modules())
        missing = [n for n in layers if n not in known]
        if missing or not layers:
            raise ParameterError(
                f"unknown or no layers {missing}; the module has {randomisable_layers(module)}."
            )
        rows = [{"step": 0, "layer": "(original)", "spearman": 1.0, "spearman_abs": 1.0, "model_calls": 0}]
        current = copy.deepcopy(module)
        for i, layer in enumerate(layers, start=1):
            if self.mode == "independent":
                current = copy.deepcopy(module)
            _reinitialise(current, layer, self.seed + i)
            randomised = copy.copy(pred)
            randomised.module = current.eval()
            b, calls = _reexplain(explanation, randomised, target, self.batch_size, source)
            rows.append({"step": i, "layer": layer, **spearman_similarity(a, b), "model_calls": calls})
        return pd.DataFrame(rows)


class PermutedLabels:
    """A dataset view whose item ``i`` has the waveform of item ``i`` and the targets of item ``perm[i]``.

    ``perm`` is a seeded permutation (``np.random.default_rng(seed)``). Works with the item layouts the
    training recipe accepts: ``(waveform, targets)`` tuples and dicts with ``audio``/``waveform`` keys.
    """

    def __init__(self, dataset, *, seed: int):
        self.dataset = dataset
        self.perm = np.random.default_rng(check_seed(seed)).permutation(len(dataset))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        item, donor = self.dataset[i], self.dataset[int(self.perm[i])]
        if isinstance(item, dict):
            return {**item, **{k: v for k, v in donor.items() if k not in ("audio", "waveform")}}
        return (item[0], donor[1], *item[2:])


@register
class LabelRandomisation(ExplanationSetMetric):
    """Data randomisation test (Adebayo et al. 2018): retrain on permuted labels, compare attributions.

    The model is retrained from scratch with the package's training recipe
    (:func:`mer_audiolime.models.training.train`) on ``train_set`` with its targets permuted across items
    (:class:`PermutedLabels`). The recipe keeps the epoch with the best validation loss, so the validation
    targets are permuted too (an independent permutation): the random-label model never sees a true label,
    not even through the choice of its epoch. Each explanation is recomputed for the random-label model on
    its original masks and compared with the original attribution by Spearman rho (signed and absolute
    weights). The recipe is the ``config`` given, else the one recorded in the model's card, else the default
    :class:`~mer_audiolime.models.training.TrainConfig`; ``train_options`` override single fields.

    Label randomisation is a property of the *model*, so one call retrains once and evaluates any number of
    explanations (tracks); pass ``random_model=`` (from :meth:`train_random_model`) to reuse a retrained
    model.

    Returns ``{"spearman", "spearman_abs"`` (means over the explanations), ``"spearman_abs_max",
    "n_explanations", "model_calls", "train_seconds"}``. Primary ``spearman_abs``; direction: lower. Cost: one
    training run plus ``N'`` (unique masks) model calls per explanation.

    ``__call__(explanations, model, *, target, train_set=None, valid_set=None, random_model=None,
    source=None) -> dict``
    """

    name, primary, direction, category = "label_randomisation", "spearman_abs", "lower", "sanity"

    def __init__(
        self, *, seed: int = 0, config=None, train_options: dict | None = None, batch_size: int = 32
    ):
        self.seed = check_seed(seed)
        self.config = config
        self.train_options = dict(train_options or {})
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def _config(self, module):
        from ...models.training import TrainConfig

        if self.config is not None:
            return copy.deepcopy(self.config)
        recorded = getattr(getattr(module, "card", None), "training", None) or {}
        allowed = {f.name for f in fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in recorded.items() if k in allowed})

    def train_random_model(self, model, *, train_set, valid_set=None):
        """Retrain ``model``'s recipe on permuted labels; returns ``(predictor, seconds)``."""
        from ...models.heads import MERModel, to_predictor
        from ...models.training import train

        _, module = _torch_parts(model)
        if not isinstance(module, MERModel):
            raise ParameterError(
                "label randomisation retrains with the package's recipe, which builds MERModels; "
                f"got a {type(module).__name__}."
            )
        # both sets permuted: early stopping on true validation labels would select the epoch that best
        # fits the true labels, leaking them into the "random-label" model
        result = train(
            PermutedLabels(train_set, seed=self.seed),
            valid_set=None if valid_set is None else PermutedLabels(valid_set, seed=self.seed + 1),
            config=self._config(module),
            midlevel_names=module.midlevel_names or MIDLEVEL_NAMES,
            emotion_names=module.emotion_names,
            name="label-randomised",
            progress=False,
            **self.train_options,
        )
        return to_predictor(result.model), float(result.seconds)

    def compute(
        self, explanations, model=None, *, target: str, train_set=None, valid_set=None, random_model=None,
        source: str | None = None,
    ) -> dict:
        """Compute the metric over a set of explanations (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanations : list of Explanation
            Explanations of the same track and setting (e.g. one per seed).
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        train_set : torch.utils.data.Dataset, optional
            The model's training data (labels are permuted); needed unless ``random_model`` is given.
        valid_set : torch.utils.data.Dataset, optional
            Validation data for the retraining (labels permuted independently).
        random_model : Predictor, optional
            An already retrained random-label model (skips the retraining).
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            See the class docstring for each number.

        Examples
        --------
        >>> metric = LabelRandomisation()  # doctest: +SKIP
        >>> metric([exp_seed0, exp_seed1], target="valence")  # doctest: +SKIP
        """
        exps = list(explanations) if isinstance(explanations, (list, tuple)) else [explanations]
        if not exps:
            raise ParameterError("give at least one explanation.")
        sources = [e.attribution(target, source).info["source"] for e in exps]
        originals = [resolve_attribution(e, target, source=s) for e, s in zip(exps, sources)]
        seconds = 0.0
        if random_model is None:
            if train_set is None:
                raise ParameterError("pass train_set=... (the model's training data) or random_model=... .")
            random_model, seconds = self.train_random_model(model, train_set=train_set, valid_set=valid_set)
        sims, calls = [], 0
        for exp, a, src in zip(exps, originals, sources):
            b, n = _reexplain(exp, as_predictor(random_model), target, self.batch_size, src)
            sims.append(spearman_similarity(a, b))
            calls += n
        return {
            "spearman": float(np.mean([x["spearman"] for x in sims])),
            "spearman_abs": float(np.mean([x["spearman_abs"] for x in sims])),
            "spearman_abs_max": float(np.max([x["spearman_abs"] for x in sims])),
            "n_explanations": len(sims),
            "model_calls": calls,
            "train_seconds": seconds,
        }
