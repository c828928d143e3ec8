"""``explain``: from an audio file to stem-level (and mid-level) attributions, and the ``Explanation`` it returns."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..audio import conform, load_audio
from ..exceptions import ModelError, ParameterError
from ..models.predictor import as_predictor, predict_batched
from .components import RESIDUAL, Components, build_components, tf_grid_components
from .midlevel import chain_attributions, midlevel_effects, relative_effects
from .sampling import MAX_EXHAUSTIVE_K, PredictionCache, sample_masks
from .separation import OracleSeparator, get_separator
from .surrogate import DEFAULT_KERNEL_WIDTH, Attribution, fit_surrogate

__all__ = ["explain", "Explanation", "component_predict_fn"]

TF_GRID = "tf-grid"


@dataclass
class Explanation:
    """Everything one explanation produced, and what is needed to rerun it.

    Attributes
    ----------
    components : Components
    attributions : dict of str to Attribution
        One per explained output (LIME fits).
    predictions : pd.Series
        Model outputs on the unperturbed audio (all-on mask).
    masks : np.ndarray, shape (N, K)
        The surrogate's samples (row 0 all on).
    outputs : np.ndarray, shape (N, T)
        Model outputs for each mask.
    cache : PredictionCache
        Mask -> output store; metrics reuse it.
    reconstruction_gap : pd.Series
        ``f(mix) - f(sum of stems)`` per output (0 when the stems reconstruct the mix).
    midlevel_effects : pd.DataFrame or None
        ``W[i, j] * m[j]`` for models with a linear emotion head.
    chained : dict of str to Attribution
        Component attributions of each emotion through the mid-level layer (empty without a linear head).
    settings : dict
        Every argument needed to rerun the explanation (seed included).
    timings : dict
        Seconds spent in separation, model calls and the surrogate.
    """

    components: Components
    attributions: dict
    predictions: pd.Series
    masks: np.ndarray
    outputs: np.ndarray
    cache: PredictionCache
    reconstruction_gap: pd.Series
    settings: dict
    midlevel_effects: pd.DataFrame | None = None
    chained: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    output_names: list = field(default_factory=list)

    @property
    def relative_midlevel_effects(self) -> pd.DataFrame | None:
        """Mid-level effects as signed shares of each emotion's total absolute effect."""
        return None if self.midlevel_effects is None else relative_effects(self.midlevel_effects)

    def chain(self, emotion: str) -> Attribution:
        """Component attribution of ``emotion`` through the mid-level features (``W @`` mid-level LIME)."""
        if not self.chained:
            raise ParameterError(
                "this model declares no linear mid-level -> emotion head (midlevel_names, emotion_names, "
                "emotion_weights), so there is no chain; use explanation.attributions[emotion] instead."
            )
        if emotion not in self.chained:
            raise ParameterError(f"unknown emotion {emotion!r}; the chain covers {list(self.chained)}.")
        return self.chained[emotion]

    def to_frame(self, *, include_chain: bool = True) -> pd.DataFrame:
        """Tidy attributions: one row per (target, component).

        Columns: ``target, component, stem, segment, weight, rank, intercept, score, local_prediction,
        prediction, num_samples, seed, kernel_width, source`` (``"lime"`` or ``"chain"``).
        """
        rows = []
        groups = [("lime", self.attributions)]
        if include_chain and self.chained:
            groups.append(("chain", self.chained))
        c = self.components
        for source, atts in groups:
            for target, att in atts.items():
                ranks = np.empty(len(att.weights), dtype=int)
                ranks[np.argsort(-att.weights, kind="stable")] = np.arange(1, len(att.weights) + 1)
                for k, name in enumerate(att.component_names):
                    rows.append({
                        "target": target, "component": name, "stem": c.stems[k], "segment": c.segments[k],
                        "weight": float(att.weights[k]), "rank": int(ranks[k]), "intercept": att.intercept,
                        "score": att.score, "local_prediction": att.local_prediction,
                        "prediction": att.prediction, "num_samples": att.num_samples, "seed": att.seed,
                        "kernel_width": att.kernel_width, "source": source,
                    })
        return pd.DataFrame(rows)

    def stem_segment_matrix(self, target: str) -> pd.DataFrame:
        """Weights of ``target`` as a stems x segments table (the heatmap of a report)."""
        att = self.chained.get(target) or self.attributions.get(target)
        if att is None:
            raise ParameterError(f"unknown target {target!r}; explained targets are {list(self.attributions)}.")
        frame = pd.DataFrame({"stem": self.components.stems, "segment": self.components.segments,
                              "weight": att.weights})
        return frame.pivot(index="stem", columns="segment", values="weight").reindex(
            self.components.stem_names())

    def export_audio(self, out_dir, *, top_k: int = 3, targets: Sequence[str] | None = None) -> pd.DataFrame:
        """Write listenable WAVs: the mix, each top-k component and their sum per target.

        See :func:`mer_audiolime.explain.export.export_audio`.
        """
        from .export import export_audio

        return export_audio(self, out_dir, top_k=top_k, targets=targets)


def component_predict_fn(components: Components, model, *, batch_size: int):
    """A ``masks (B, K) -> outputs (B, T)`` function that composes and runs the model, reusing one buffer."""
    buffers = {}

    def fn(chunk: np.ndarray) -> np.ndarray:
        b = chunk.shape[0]
        buf = buffers.get(b)
        if buf is None:
            buf = buffers[b] = np.empty((b,) + components.shape, dtype=np.float32)
        x = components.compose(chunk, out=buf)
        return predict_batched(model, x, batch_size=batch_size)

    return fn


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _build(audio, *, model, separator, stems, stems_sr, sr, segments, segment_seconds, residual, n_bands,
           cache_dir, show_progress):
    mix_native, native_sr = load_audio(audio, sr=sr)
    t0 = time.perf_counter()
    channels = int(getattr(model, "channels", 1) or 1)
    mix = conform(mix_native, sr=native_sr, target_sr=model.sample_rate, channels=channels)
    if isinstance(separator, str) and separator == TF_GRID:
        if stems is not None:
            raise ParameterError("stems and separator='tf-grid' exclude each other; choose one.")
        comps = tf_grid_components(mix, sr=model.sample_rate, segments=segments, segment_seconds=segment_seconds,
                                   n_bands=n_bands)
        return comps, "tf-grid", time.perf_counter() - t0
    if stems is not None:
        if separator is not None:
            raise ParameterError("pass either stems (oracle separation) or a separator, not both.")
        sep = OracleSeparator(stems, sr=stems_sr or native_sr)
    else:
        sep = get_separator("umxhq" if separator is None else separator, cache_dir=cache_dir,
                            **({"show_progress": show_progress} if isinstance(separator, (str, type(None))) else {}))
    native_stems = sep.separate(mix_native, sr=native_sr)
    model_stems = {name: conform(s, sr=native_sr, target_sr=model.sample_rate, channels=channels)
                   for name, s in native_stems.items()}
    comps = build_components(mix, model_stems, sr=model.sample_rate, segments=segments,
                             segment_seconds=segment_seconds, residual=residual)
    return comps, sep.identity, time.perf_counter() - t0


def explain(
    audio,
    *,
    model,
    separator=None,
    stems: Mapping[str, np.ndarray] | None = None,
    stems_sr: int | None = None,
    sr: int | None = None,
    segments=1,
    segment_seconds: float | None = None,
    residual: bool = True,
    num_samples: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    alpha: float = 1.0,
    targets: Sequence[str] | None = None,
    mode: str = "regression",
    exhaustive: bool | None = None,
    n_bands: int = 4,
    cache: PredictionCache | None = None,
    cache_dir=None,
    show_progress: bool = True,
) -> Explanation:
    """Explain a model's prediction on one clip in terms of listenable components (audioLIME).

    Parameters
    ----------
    audio : str, path or np.ndarray
        A file any of soundfile/librosa reads, or an array ``(samples,)``/``(channels, samples)`` (then ``sr``).
    model : Predictor, torch.nn.Module, callable or ``"module:factory"``
        See :mod:`mer_audiolime.models.predictor`; the audio is resampled to ``model.sample_rate``.
    separator : str or Separator, optional
        ``"umxhq"`` (default), ``"umxl"``, a local open-unmix directory, a separator object, or ``"tf-grid"`` for a
        SoundLIME-style time x frequency grid without separation.
    stems : mapping of str to np.ndarray, optional
        Known sources (oracle separation), at ``stems_sr`` (default: the audio's rate).
    sr : int, optional
        Sample rate of ``audio`` when it is an array.
    segments : int or sequence of float
        Number of equal time segments, or boundary times in seconds.
    segment_seconds : float, optional
        Fixed segment length instead of a count.
    residual : bool
        Add ``mix - sum(stems)`` as a component so the all-on mask reproduces the mix exactly.
    num_samples : int
        Surrogate samples N; all ``2**K`` coalitions are enumerated when ``2**K <= N``.
    seed : int
        Seeds the masks (same seed, same numbers).
    batch_size : int
        Perturbed inputs per model call.
    kernel_width, alpha : float
        Surrogate kernel width (0.25) and ridge penalty (1.0), audioLIME's defaults.
    targets : sequence of str, optional
        Outputs to explain (default all; for classification the predicted class).
    mode : {"regression", "classification"}
        Classification expects class probabilities as outputs.
    exhaustive : bool, optional
        Force or forbid enumeration.
    n_bands : int
        Frequency bands of the ``"tf-grid"`` components.
    cache : PredictionCache, optional
        Reuse predictions of an earlier run on the same (track, model, components).
    cache_dir : path, optional
        Separation cache folder (default ``~/.cache/mer_audiolime/separation``).
    show_progress : bool
        tqdm bars for separation and model calls.

    Returns
    -------
    Explanation

    Examples
    --------
    >>> exp = explain("song.wav", model=my_model, separator="umxhq", segments=10, seed=0)  # doctest: +SKIP
    >>> exp.to_frame().head()                                                             # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    model = as_predictor(model)
    num_samples = _check_int(num_samples, "num_samples", 2)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ParameterError(f"seed must be an integer, got {seed!r}.")
    if mode not in ("regression", "classification"):
        raise ParameterError(f"mode must be 'regression' or 'classification', got {mode!r}.")
    names = list(model.output_names)
    if targets is not None:
        targets = [targets] if isinstance(targets, str) else list(targets)
        unknown = [t for t in targets if t not in names]
        if unknown:
            raise ParameterError(f"unknown target(s) {unknown}; the model's outputs are {names}.")

    comps, sep_identity, t_sep = _build(
        audio, model=model, separator=separator, stems=stems, stems_sr=stems_sr, sr=sr, segments=segments,
        segment_seconds=segment_seconds, residual=residual, n_bands=n_bands, cache_dir=cache_dir,
        show_progress=show_progress)
    k = len(comps)
    masks = sample_masks(k, num_samples, rng=seed, exhaustive=exhaustive)
    if cache is None:
        cache = PredictionCache(k, len(names), key=f"{sep_identity}|K={k}")
    elif (cache.n_components, cache.n_outputs) != (k, len(names)):
        raise ParameterError(
            f"the given cache is for K={cache.n_components} components and {cache.n_outputs} outputs, but this "
            f"explanation has K={k} and {len(names)}; pass a cache built for the same track, model and components."
        )
    fn = component_predict_fn(comps, model, batch_size=batch_size)
    t0 = time.perf_counter()
    unique = len(np.unique(masks, axis=0))
    with tqdm(total=unique, desc="model calls", unit="mix", disable=not show_progress, leave=False) as bar:
        outputs = cache.predict(masks, fn, batch_size=batch_size, progress=bar)
        gap = _reconstruction_gap(comps, model, cache, fn, outputs[0], batch_size=batch_size)
    t_model = time.perf_counter() - t0

    if mode == "classification":
        p = outputs[0]
        if np.any(p < -1e-6) or np.any(p > 1 + 1e-6):
            raise ModelError("mode='classification' expects class probabilities in [0, 1] as model outputs.")
        if targets is None:
            targets = [names[int(np.argmax(p))]]
    midlevel_names = getattr(model, "midlevel_names", None)
    emotion_names = getattr(model, "emotion_names", None)
    head = getattr(model, "emotion_weights", None)
    fit_targets = list(targets) if targets is not None else names
    if head is not None:
        fit_targets += [m for m in midlevel_names if m not in fit_targets]
    t0 = time.perf_counter()
    atts = fit_surrogate(masks, outputs, output_names=names, component_names=comps.names, targets=fit_targets,
                         kernel_width=kernel_width, alpha=alpha, seed=int(seed))
    effects, chained = None, {}
    if head is not None:
        m_idx = [names.index(m) for m in midlevel_names]
        e_idx = [names.index(e) for e in emotion_names]
        effects = midlevel_effects(outputs[0, m_idx], weights=head, midlevel_names=midlevel_names,
                                   emotion_names=emotion_names)
        chained = chain_attributions({m: atts[m] for m in midlevel_names}, weights=head,
                                     midlevel_names=midlevel_names, emotion_names=emotion_names, masks=masks,
                                     emotion_outputs=outputs[:, e_idx])
    t_fit = time.perf_counter() - t0

    settings = {
        "audio": str(audio) if isinstance(audio, (str, os.PathLike)) else "<array>",
        "model": getattr(model, "name", type(model).__name__), "sample_rate": model.sample_rate,
        "separator": sep_identity, "segments": segments if not isinstance(segments, np.ndarray) else segments.tolist(),
        "segment_seconds": segment_seconds, "residual": bool(comps.residual), "num_samples": num_samples,
        "samples_used": int(masks.shape[0]),
        "exhaustive": bool(exhaustive if exhaustive is not None else k <= MAX_EXHAUSTIVE_K and 2**k <= num_samples),
        "seed": int(seed), "batch_size": batch_size, "kernel_width": float(kernel_width), "alpha": float(alpha),
        "targets": fit_targets, "mode": mode, "n_components": k,
    }
    return Explanation(
        components=comps,
        attributions=atts,
        predictions=pd.Series(outputs[0], index=names, name="prediction"),
        masks=masks,
        outputs=outputs,
        cache=cache,
        reconstruction_gap=pd.Series(gap, index=names, name="reconstruction_gap"),
        settings=settings,
        midlevel_effects=effects,
        chained=chained,
        timings={"components": t_sep, "model": t_model, "surrogate": t_fit,
                 "model_calls": cache.model_calls, "unique_masks": unique},
        output_names=names,
    )


def _reconstruction_gap(comps: Components, model, cache: PredictionCache, fn, f_all_on, *, batch_size):
    """``f(mix) - f(sum of stems)`` per output."""
    if comps.info.get("kind") != "stems":
        return np.zeros_like(f_all_on)
    if comps.residual:
        stems_only = np.array([0 if s == RESIDUAL else 1 for s in comps.stems], dtype=np.uint8)
        f_stems = cache.predict(stems_only[None], fn, batch_size=batch_size)[0]
        return f_all_on - f_stems
    f_mix = predict_batched(model, comps.mix[np.newaxis], batch_size=1)[0]
    return f_mix - f_all_on
