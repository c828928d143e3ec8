"""``explain``: from an audio file to stem-level (and mid-level) attributions.

This module holds the public entry :func:`explain`: its argument checks, the audio -> components step
(excerpt, conforming, separation or the time x frequency grid) and the run that fills the prediction cache
and assembles the result. The :class:`~mer_audiolime.explain.explanation.Explanation` it returns lives in
:mod:`mer_audiolime.explain.explanation`, the prediction function
:func:`~mer_audiolime.explain.batching.component_predict_fn` in :mod:`mer_audiolime.explain.batching`; both
are importable from here too.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..audio import conform
from ..exceptions import MerAudioLimeWarning, ModelError, ParameterError
from ..models.predictor import predict_batched
from ..models.spec import as_predictor, describe_model, resolve_model
from ..validation import check_choice, check_float, check_int, check_names, check_seed, usable_dir
from .batching import component_predict_fn
from .components import RESIDUAL, build_components, tf_grid_components
from .composition import Components
from .diagnostics import check_inputs, diagnose
from .estimators import ENUMERATION_MODES, ESTIMATORS, OCCLUSION_MODES, chain_source, design, source_for
from .excerpt import check_excerpt, cut, load_excerpt
from .explanation import Explanation
from .midlevel import midlevel_effects
from .samplers import DEFAULT_SAMPLER, SAMPLERS
from .sampling import MAX_EXHAUSTIVE_K, PredictionCache, enumerates, expected_multiplicity
from .segments import segment_bounds
from .separation import OracleSeparator, get_separator
from .surrogate import DEFAULT_KERNEL_WIDTH

__all__ = ["explain", "Explanation", "component_predict_fn"]

TF_GRID = "tf-grid"


def _build(audio, *, model, separator, stems, stems_sr, sr, segments, segment_seconds, residual, n_bands,
           cache_dir, show_progress, offset=0.0, duration=None):
    mix_native, native_sr, report = load_excerpt(audio, sr=sr, offset=offset, duration=duration, report=True)
    t0 = time.perf_counter()
    channels = int(getattr(model, "channels", 1) or 1)
    mix = conform(mix_native, sr=native_sr, target_sr=model.sample_rate, channels=channels)
    # everything that can fail on the audio's length fails here, before separation and model calls
    segment_bounds(mix.shape[1], sr=model.sample_rate, segments=segments, segment_seconds=segment_seconds)
    check_inputs(mix.shape[1], sr=model.sample_rate, model=model)
    if isinstance(separator, str) and separator == TF_GRID:
        if stems is not None:
            raise ParameterError("stems and separator='tf-grid' exclude each other; choose one.")
        comps = tf_grid_components(mix, sr=model.sample_rate, segments=segments, segment_seconds=segment_seconds,
                                   n_bands=n_bands, show_progress=show_progress)
        comps.info["audio"] = report
        return comps, "tf-grid", time.perf_counter() - t0
    if stems is not None:
        if separator is not None:
            raise ParameterError("pass either stems (oracle separation) or a separator, not both.")
        rate = stems_sr or native_sr
        excerpt = {k: cut(v, sr=rate, offset=offset, duration=duration) for k, v in stems.items()}
        sep = OracleSeparator(excerpt, sr=rate)
    else:
        use_cache = True
        if cache_dir is not None:
            cache_dir, reason = usable_dir(cache_dir)
            if cache_dir is None:
                warnings.warn(f"separation cache skipped: {reason}", MerAudioLimeWarning, stacklevel=3)
                use_cache = False
        sep = get_separator("umxhq" if separator is None else separator, cache_dir=cache_dir,
                            use_cache=use_cache,
                            **({"show_progress": show_progress} if isinstance(separator, (str, type(None))) else {}))
    native_stems = sep.separate(mix_native, sr=native_sr)
    model_stems = {name: conform(s, sr=native_sr, target_sr=model.sample_rate, channels=channels)
                   for name, s in native_stems.items()}
    comps = build_components(mix, model_stems, sr=model.sample_rate, segments=segments,
                             segment_seconds=segment_seconds, residual=residual)
    comps.info["audio"] = report
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
    estimator: str = "lime",
    occlusion: str = "leave_one_out",
    enumeration: str = "expected",
    exhaustive: bool | None = None,
    sampler: str = DEFAULT_SAMPLER,
    n_bands: int = 4,
    offset: float = 0.0,
    duration: float | None = None,
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
        ``"umxhq"`` (default), ``"umxl"``, ``"umx-synth"`` (shipped: open-unmix trained on the synthetic
        benchmark, see :mod:`mer_audiolime.explain.separators`), a local open-unmix directory, a separator
        object, or ``"tf-grid"`` for a SoundLIME-style time x frequency grid without separation.
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
        Budget N of model evaluations. When ``2**K <= N`` all ``2**K`` coalitions are enumerated instead
        (fewer calls, no sampling error); see ``enumeration``.
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
    estimator : {"lime", "shapley", "occlusion"}
        ``"lime"``: audioLIME's surrogate. ``"shapley"``: exact Shapley values when enumerated, else the
        seeded permutation estimate within the budget N. ``"occlusion"``: ``K + 1`` masks (see ``occlusion``).
        Whatever the choice, :meth:`Explanation.attribution` computes the others from the same prediction
        cache (free when enumerated). See :mod:`mer_audiolime.explain.estimators`.
    occlusion : {"leave_one_out", "add_one_in"}
        ``f(all) - f(all - k)`` or ``f({k}) - f(none)``.
    enumeration : {"expected", "plain"}
        How enumerated LIME weighs each coalition: ``"expected"`` (default) counts it ``N / 2**K`` times, its
        expected count among N sampled rows, so the answer is what audioLIME's default (N sampled rows)
        converges to; ``"plain"`` counts it once, audioLIME's ``num_samples="exhaustive"`` (more shrinkage).
    exhaustive : bool, optional
        Force (True) or forbid (False) enumeration; default ``2**K <= N``.
    sampler : {"uniform", "paired", "orthogonal", "grouped", "grouped-adjusted"}
        Design of the sampled LIME masks (:mod:`mer_audiolime.explain.samplers`): ``"uniform"`` is
        audioLIME's i.i.d. sampling; ``"paired"``, ``"orthogonal"`` (fold-over orthogonal blocks) and
        ``"grouped"`` (orthogonal blocks laid out for the components' time segments) converge to the same
        answer with less seed-to-seed variation per sample; ``"grouped-adjusted"`` fits the ``grouped``
        masks with a regression adjustment for the pairs inside each segment
        (:mod:`mer_audiolime.explain.adjustment`, same estimand, no extra model call). Ignored when
        enumerating.
    n_bands : int
        Frequency bands of the ``"tf-grid"`` components.
    offset, duration : float, optional
        Explain an excerpt: ``duration`` seconds (default: to the end) from ``offset`` seconds on. Only that
        part of a file is decoded; both are checked against the recording's length before the model is loaded.
        Oracle ``stems`` must be given for the whole recording and are cut the same way.
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
    >>> exp.attribution("valence", "shapley")                                             # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    offset, duration = check_excerpt(audio, sr=sr, offset=offset, duration=duration)
    resolved = resolve_model(model) if isinstance(model, (str, os.PathLike)) else None
    model = resolved.predictor if resolved is not None else as_predictor(model)
    num_samples = check_int(num_samples, "num_samples", minimum=2)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_seed(seed)
    kernel_width = check_float(kernel_width, "kernel_width", minimum=0, strict_minimum=True)
    alpha = check_float(alpha, "alpha", minimum=0)
    if mode not in ("regression", "classification"):
        raise ParameterError(f"mode must be 'regression' or 'classification', got {mode!r}.")
    check_choice(estimator, "estimator", ESTIMATORS)
    check_choice(occlusion, "occlusion", OCCLUSION_MODES)
    check_choice(enumeration, "enumeration", ENUMERATION_MODES)
    check_choice(sampler, "sampler", SAMPLERS)
    if exhaustive is not None and not isinstance(exhaustive, (bool, np.bool_)):
        raise ParameterError(f"exhaustive must be True, False or None (automatic), got {exhaustive!r}.")
    names = list(model.output_names)
    targets = check_names(targets, "target(s)", available=names)

    comps, sep_identity, t_sep = _build(
        audio, model=model, separator=separator, stems=stems, stems_sr=stems_sr, sr=sr, segments=segments,
        segment_seconds=segment_seconds, residual=residual, n_bands=n_bands, cache_dir=cache_dir,
        show_progress=show_progress, offset=offset, duration=duration)
    k = len(comps)
    exhaustive = bool(enumerates(k, num_samples) if exhaustive is None else exhaustive)
    if exhaustive and k > MAX_EXHAUSTIVE_K:
        raise ParameterError(f"exhaustive enumeration of 2**{k} masks is too large; use sampling.")
    source = source_for(estimator, occlusion=occlusion, exhaustive=exhaustive)
    settings = {
        "audio": str(audio) if isinstance(audio, (str, os.PathLike)) else "<array>",
        "offset": offset, "duration": duration,
        "model": resolved.name if resolved is not None else getattr(model, "name", type(model).__name__),
        "model_spec": resolved.spec if resolved is not None else None, "sample_rate": model.sample_rate,
        "separator": sep_identity, "segments": segments if not isinstance(segments, np.ndarray) else segments.tolist(),
        "segment_seconds": segment_seconds, "residual": bool(comps.residual), "num_samples": num_samples,
        "exhaustive": exhaustive, "seed": int(seed), "sampler": sampler, "batch_size": batch_size,
        "kernel_width": float(kernel_width), "alpha": float(alpha), "mode": mode, "n_components": k,
        "estimator": estimator, "occlusion": occlusion, "enumeration": enumeration, "source": source,
        "model_info": describe_model(model),  # output scaling and training domain, for readers of reports
    }
    if source == "lime":
        m = expected_multiplicity(k, num_samples) if exhaustive and enumeration == "expected" else 1.0
        settings["effective_alpha"] = float(alpha) / m
    masks = design(source, k, settings, groups=comps.segments)
    settings["samples_used"] = int(masks.shape[0])
    if cache is None:
        cache = PredictionCache(k, len(names), key=f"{sep_identity}|K={k}")
    elif (cache.n_components, cache.n_outputs) != (k, len(names)):
        raise ParameterError(
            f"the given cache is for K={cache.n_components} components and {cache.n_outputs} outputs, but this "
            f"explanation has K={k} and {len(names)}; pass a cache built for the same track, model and components."
        )
    fn = component_predict_fn(comps, model, batch_size=batch_size)
    t0 = time.perf_counter()
    calls_before = cache.model_calls
    unique = len(np.unique(masks, axis=0))
    with tqdm(total=cache.count_missing(masks), desc="model calls", unit="mix", disable=not show_progress,
              leave=False) as bar:
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
    weights = getattr(model, "emotion_weights", None)
    fit_targets = list(targets) if targets is not None else list(names)
    if weights is not None:
        fit_targets += [m for m in midlevel_names if m not in fit_targets]
    settings["targets"] = fit_targets
    t0 = time.perf_counter()
    effects, head = None, {}
    if weights is not None:
        head = {"weights": np.asarray(weights, dtype=np.float64), "midlevel_names": list(midlevel_names),
                "emotion_names": list(emotion_names)}
        m_idx = [names.index(m) for m in midlevel_names]
        effects = midlevel_effects(outputs[0, m_idx], weights=weights, midlevel_names=midlevel_names,
                                   emotion_names=emotion_names)
    exp = Explanation(
        components=comps,
        attributions={},
        predictions=pd.Series(outputs[0], index=names, name="prediction"),
        masks=masks,
        outputs=outputs,
        cache=cache,
        reconstruction_gap=pd.Series(gap, index=names, name="reconstruction_gap"),
        settings=settings,
        midlevel_effects=effects,
        output_names=names,
        head=head,
    )
    exp._compute(source, fit_targets, fn)
    exp.attributions = {t: exp.sources[source][t] for t in fit_targets}
    if head:
        exp._compute(chain_source(source), head["emotion_names"], fn)
        exp.chained = dict(exp.sources[chain_source(source)])
    exp.timings = {"components": t_sep, "model": t_model, "surrogate": time.perf_counter() - t0,
                   "model_calls": cache.model_calls - calls_before, "unique_masks": unique}
    exp.warnings = diagnose(exp, model=model)
    return exp


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
