"""``explain``: from an audio file to stem-level (and mid-level) attributions, and the ``Explanation`` it returns."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..audio import conform
from ..exceptions import MerAudioLimeWarning, ModelError, ParameterError
from ..models.predictor import predict_batched
from ..models.spec import as_predictor, describe_model, resolve_model
from ..validation import check_choice, check_float, check_int, check_names, check_seed, usable_dir
from .batching import batch_limit
from .components import RESIDUAL, build_components, tf_grid_components
from .composition import Components
from .diagnostics import check_inputs, diagnose
from .estimators import (CHAIN, DIRECT_SOURCES, ENUMERATION_MODES, ESTIMATORS, OCCLUSION_MODES, chain_source,
                         design, estimate, parse_source, seed_dependent, source_for)
from .excerpt import check_excerpt, cut, load_excerpt
from .export import export_audio
from .midlevel import chain_attributions, midlevel_effects, relative_effects
from .ranking import rankable
from .samplers import DEFAULT_SAMPLER, SAMPLERS
from .sampling import MAX_EXHAUSTIVE_K, PredictionCache, all_coalitions, enumerates, expected_multiplicity
from .segments import segment_bounds
from .separation import OracleSeparator, get_separator
from .surrogate import DEFAULT_KERNEL_WIDTH, Attribution

__all__ = ["explain", "Explanation", "component_predict_fn"]

TF_GRID = "tf-grid"


@dataclass
class Explanation:
    """Everything one explanation produced, and what is needed to rerun it.

    Attributions of a target are read through one accessor, :meth:`attribution`, with one documented default
    (:meth:`default_source`): the chain for the emotions of a model with a linear mid-level head (the paper's
    route), the explanation's own estimator for every other output. Other estimators are computed on request
    from the prediction cache (no model call when their masks are cached, as for every source of an
    enumerated explanation).

    Attributes
    ----------
    components : Components
    attributions : dict of str to Attribution
        One per explained output, by the explanation's estimator on the output itself (source
        ``settings["source"]``: ``"lime"``, ``"shapley"``, ``"shapley_sampled"``, ``"leave_one_out"`` or
        ``"add_one_in"``).
    predictions : pd.Series
        Model outputs on the unperturbed audio (all-on mask).
    masks : np.ndarray, shape (N, K)
        The estimator's design (row 0 all on): LIME's samples, all coalitions, permutation prefixes or the
        occlusion masks.
    outputs : np.ndarray, shape (N, T)
        Model outputs for each mask.
    cache : PredictionCache
        Mask -> output store; metrics and other estimators reuse it.
    reconstruction_gap : pd.Series
        ``f(mix) - f(sum of stems)`` per output (0 when the stems reconstruct the mix).
    midlevel_effects : pd.DataFrame or None
        ``W[i, j] * m[j]`` for models with a linear emotion head.
    chained : dict of str to Attribution
        Component attributions of each emotion through the mid-level layer, by the explanation's estimator
        (empty without a linear head).
    settings : dict
        Every argument needed to rerun the explanation (seed included).
    timings : dict
        Seconds spent in separation, model calls and the estimator, and ``model_calls``.
    head : dict
        The linear head (``weights`` (E, M), ``midlevel_names``, ``emotion_names``); empty without one.
    sources : dict
        Every attribution computed so far: ``{source: {target: Attribution}}`` (filled by
        :meth:`attribution`).
    warnings : list of TrustWarning
        Reasons not to trust (parts of) this explanation, each with a ``code``, a ``message`` and measured
        ``details`` (see :mod:`mer_audiolime.explain.diagnostics`); empty when nothing was found.
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
    head: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def __post_init__(self):
        own = self.source
        self.sources.setdefault(own, {}).update(self.attributions)
        if self.chained:
            self.sources.setdefault(chain_source(own), {}).update(self.chained)

    @property
    def source(self) -> str:
        """The source of :attr:`attributions` (the explanation's estimator)."""
        return str(self.settings.get("source", "lime"))

    @property
    def targets(self) -> list:
        """Every explained target: the outputs the estimator explained, then the chained emotions."""
        return list(self.attributions) + [t for t in self.chained if t not in self.attributions]

    @property
    def seed_dependent(self) -> bool:
        """Whether the masks depend on the seed (sampled LIME or sampled Shapley): only then can repeated
        explanations with different seeds differ, and seed-stability metrics mean something."""
        st = self.settings
        return seed_dependent(self.source, n_components=len(self.components), num_samples=st["num_samples"],
                              exhaustive=st.get("exhaustive"))

    @property
    def relative_midlevel_effects(self) -> pd.DataFrame | None:
        """Mid-level effects as signed shares of each emotion's total absolute effect."""
        return None if self.midlevel_effects is None else relative_effects(self.midlevel_effects)

    def default_source(self, target: str) -> str:
        """The attribution rule: ``"chain:<estimator>"`` for an emotion of a model with a linear mid-level
        head, else the explanation's estimator (``settings["source"]``)."""
        return chain_source(self.source) if target in self.chained else self.source

    def _canonical(self, target: str, source) -> str:
        if source is None:
            return self.default_source(target)
        if source == "chain":
            return chain_source(self.source)
        parse_source(source)
        return source

    def attribution(self, target: str, source: str | None = None) -> Attribution:
        """The attribution of ``target`` by ``source``; the one accessor every metric, table and report uses.

        Parameters
        ----------
        target : str
            A model output (or an emotion of the chain).
        source : str, optional
            ``None`` -> :meth:`default_source`; ``"chain"`` -> the chain of the explanation's estimator;
            ``"lime"``, ``"shapley"``, ``"shapley_sampled"``, ``"leave_one_out"``, ``"add_one_in"``, or any of
            them prefixed with ``"chain:"`` (see :mod:`mer_audiolime.explain.estimators`).

        Returns
        -------
        Attribution
            ``info["source"]`` names the canonical source.

        Raises
        ------
        ParameterError
            Unknown target or source, no chain, or a source whose masks the prediction cache lacks (the
            message names :meth:`compute_sources`, which runs them through the model).

        Examples
        --------
        >>> exp.attribution("valence").info["source"]                       # doctest: +SKIP
        'chain:lime'
        >>> exp.attribution("valence", "shapley").weights.sum()            # doctest: +SKIP
        """
        src = self._canonical(target, source)
        have = self.sources.get(src, {})
        if target not in have:
            self._compute(src, [target], self._from_cache(src))
        return self.sources[src][target]

    def chain(self, emotion: str, source: str | None = None) -> Attribution:
        """Component attribution of ``emotion`` through the mid-level features (``W @`` the mid-level
        attributions of ``source``, default the explanation's estimator)."""
        if not self.chained:
            raise ParameterError(
                "this model declares no linear mid-level -> emotion head (midlevel_names, emotion_names, "
                "emotion_weights), so there is no chain; use explanation.attribution(emotion) instead."
            )
        if emotion not in self.chained:
            raise ParameterError(f"unknown emotion {emotion!r}; the chain covers {list(self.chained)}.")
        return self.attribution(emotion, chain_source(source or self.source))

    def available_sources(self, target: str | None = None) -> list:
        """Sources computable from the prediction cache alone (no model call) -- for an enumerated
        explanation, every one. With ``target``, only sources that apply to it (chains: emotions only)."""
        out = []
        k = len(self.components)
        for direct in DIRECT_SOURCES:
            if direct == "shapley" and (k > MAX_EXHAUSTIVE_K or len(self.cache) < 2**k):
                continue
            masks = design(direct, k, self.settings, groups=self.components.segments)
            if self.cache.count_missing(masks) == 0:
                if target is None or target in self.output_names:
                    out.append(direct)
                if self.head and (target is None or target in self.chained):
                    out.append(chain_source(direct))
        return out

    def all_attributions(self, target: str, *, sources: Sequence[str] | None = None) -> dict:
        """``{source: Attribution}`` of ``target`` for every source in ``sources`` (default: every source
        :meth:`available_sources` lists, so no model call is made).

        Examples
        --------
        >>> {s: a.weights.round(3) for s, a in exp.all_attributions("valence").items()}   # doctest: +SKIP
        """
        chosen = self.available_sources(target) if sources is None else list(sources)
        return {self._canonical(target, s): self.attribution(target, s) for s in chosen}

    def compute_sources(self, sources: Sequence[str], *, model, batch_size: int | None = None) -> dict:
        """Compute ``sources`` for every explained target, running the masks the cache lacks through
        ``model`` (the model of the explanation); ``cache.model_calls`` grows by what that costs.

        Returns
        -------
        dict
            ``{source: {target: Attribution}}`` for the requested sources.
        """
        model = as_predictor(model)
        if list(model.output_names) != list(self.output_names):
            raise ParameterError(
                f"the model's outputs {list(model.output_names)} differ from the explanation's "
                f"{list(self.output_names)}; pass the model the explanation was computed with."
            )
        batch = check_int(batch_size or self.settings.get("batch_size", 16), "batch_size", minimum=1)
        fn = component_predict_fn(self.components, model, batch_size=batch)
        out = {}
        for s in sources:
            src = self._canonical("", s)
            chained, direct = parse_source(src)
            targets = (list(self.chained) if chained
                       else list(self.settings.get("targets") or self.output_names))
            self._compute(src, targets, fn)
            out[src] = {t: self.sources[src][t] for t in targets}
        return out

    def _from_cache(self, src: str):
        def refuse(masks):
            raise ParameterError(
                f"source {src!r} needs model outputs for {len(masks)} mask(s) this explanation's prediction "
                f"cache does not hold; call explanation.compute_sources([{src!r}], model=model) (that many "
                "model calls) or explain with that estimator."
            )

        return refuse

    def _score_rows(self, direct: str, masks: np.ndarray, outputs: np.ndarray):
        """Rows a source's score is computed on: LIME its samples; others every coalition when all are
        cached, else their distinct design rows (None for occlusion: it reproduces its own rows)."""
        if direct == "lime":
            return masks, outputs
        k = len(self.components)
        if k <= MAX_EXHAUSTIVE_K and len(self.cache) >= 2**k:
            full = all_coalitions(k)
            if self.cache.count_missing(full) == 0:
                return full, self.cache.predict(full, self._from_cache(direct))
        return None if direct in OCCLUSION_MODES else (masks, outputs)

    def _compute(self, src: str, targets: Sequence[str], fn) -> None:
        chained, direct = parse_source(src)
        k = len(self.components)
        batch = int(self.settings.get("batch_size", 16))
        if chained:
            if not self.head:
                raise ParameterError(
                    f"source {src!r} needs a linear mid-level -> emotion head, which this model does not "
                    "declare.")
            unknown = [t for t in targets if t not in self.head["emotion_names"]]
            if unknown:
                raise ParameterError(
                    f"the chain covers the emotions {self.head['emotion_names']}, not {unknown}.")
            mids = list(self.head["midlevel_names"])
            missing = [m for m in mids if m not in self.sources.get(direct, {})]
            if missing:
                self._compute(direct, missing, fn)
            masks = design(direct, k, self.settings, groups=self.components.segments)
            rows = self._score_rows(direct, masks, self.cache.predict(masks, fn, batch_size=batch))
            e_idx = [self.output_names.index(e) for e in self.head["emotion_names"]]
            chained_atts = chain_attributions(
                {m: self.sources[direct][m] for m in mids}, weights=self.head["weights"], midlevel_names=mids,
                emotion_names=self.head["emotion_names"], masks=None if rows is None else rows[0],
                emotion_outputs=None if rows is None else rows[1][:, e_idx])
            self.sources.setdefault(src, {}).update(chained_atts)
            return
        unknown = [t for t in targets if t not in self.output_names]
        if unknown:
            raise ParameterError(
                f"unknown target(s) {unknown}; the model's outputs are {list(self.output_names)}"
                + (f" and the chain covers {list(self.chained)} (source 'chain')." if self.chained else "."))
        masks = design(direct, k, self.settings, groups=self.components.segments)
        outputs = self.cache.predict(masks, fn, batch_size=batch)
        rows = self._score_rows(direct, masks, outputs)
        atts = estimate(direct, masks, outputs, output_names=self.output_names,
                        component_names=self.components.names, targets=list(targets), settings=self.settings,
                        score_on=None if direct == "lime" else rows)
        self.sources.setdefault(direct, {}).update(atts)

    def to_frame(self, *, include_chain: bool = True, sources: Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy attributions: one row per (source, target, component).

        Columns: ``target, component, stem, segment, weight, rank, intercept, score, local_prediction,
        prediction, num_samples, seed, kernel_width, source`` (canonical names: ``"lime"``, ``"chain:lime"``,
        ``"shapley"`` ...). Default sources: the explanation's estimator on every explained output, and its
        chain for the emotions (``include_chain``). ``rank`` is empty (NA) for a target whose weights are all
        equal (e.g. a constant output): there is no ranking.
        """
        if sources is None:
            groups = [(self.source, list(self.attributions))]
            if include_chain and self.chained:
                groups.append((chain_source(self.source), list(self.chained)))
        else:
            groups = []
            for s in sources:
                src = self._canonical("", s)
                groups.append((src, list(self.chained) if src.startswith(CHAIN) else list(self.attributions)))
        rows = []
        c = self.components
        for source, targets in groups:
            for target in targets:
                att = self.attribution(target, source)
                ranks = np.empty(len(att.weights), dtype=object)
                ranks[np.argsort(-att.weights, kind="stable")] = np.arange(1, len(att.weights) + 1)
                if not rankable(att.weights):
                    ranks[:] = pd.NA
                for k, name in enumerate(att.component_names):
                    rows.append({
                        "target": target, "component": name, "stem": c.stems[k], "segment": c.segments[k],
                        "weight": float(att.weights[k]), "rank": ranks[k], "intercept": att.intercept,
                        "score": att.score, "local_prediction": att.local_prediction,
                        "prediction": att.prediction, "num_samples": att.num_samples, "seed": att.seed,
                        "kernel_width": att.kernel_width, "source": source,
                    })
        frame = pd.DataFrame(rows)
        if len(frame):
            frame["rank"] = frame["rank"].astype("Int64")
        return frame

    def stem_segment_matrix(self, target: str, source: str | None = None) -> pd.DataFrame:
        """Weights of ``target`` (by :meth:`attribution`) as a stems x segments table (a report's heatmap)."""
        att = self.attribution(target, source)
        frame = pd.DataFrame({"stem": self.components.stems, "segment": self.components.segments,
                              "weight": att.weights})
        return frame.pivot(index="stem", columns="segment", values="weight").reindex(
            self.components.stem_names())

    def export_audio(self, out_dir, *, top_k: int = 3, targets: Sequence[str] | None = None,
                     source: str | None = None, **options) -> pd.DataFrame:
        """Write listenable WAVs: the mix, each top-k component (by ``|weight|``) and their sum per target.

        See :func:`mer_audiolime.explain.export.export_audio` (``options``: ``absolute_feature_sort``).
        """
        return export_audio(self, out_dir, top_k=top_k, targets=targets, source=source, **options)


def component_predict_fn(components: Components, model, *, batch_size: int):
    """A ``masks (B, K) -> outputs (B, T)`` function that composes and runs the model, reusing one buffer.

    At most :func:`~mer_audiolime.explain.components.batch_limit` inputs are composed and run at once, so the
    memory of a model call stays within the documented budget on long audio; clips of normal length run at
    ``batch_size``.
    """
    buffers = {}
    limit = batch_limit(components.shape, model=model, requested=batch_size)

    def run(chunk: np.ndarray) -> np.ndarray:
        b = chunk.shape[0]
        buf = buffers.get(b)
        if buf is None:
            buf = buffers[b] = np.empty((b,) + components.shape, dtype=np.float32)
        x = components.compose(chunk, out=buf)
        return predict_batched(model, x, batch_size=batch_size)

    def fn(chunk: np.ndarray) -> np.ndarray:
        if chunk.shape[0] <= limit:
            return run(chunk)
        return np.concatenate([run(chunk[a : a + limit]) for a in range(0, chunk.shape[0], limit)])

    return fn


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
    sampler : {"uniform", "paired", "orthogonal", "grouped"}
        Design of the sampled LIME masks (:mod:`mer_audiolime.explain.samplers`): ``"uniform"`` is
        audioLIME's i.i.d. sampling; ``"paired"``, ``"orthogonal"`` (fold-over orthogonal blocks) and
        ``"grouped"`` (orthogonal blocks laid out for the components' time segments) converge to the same
        answer with less seed-to-seed variation per sample. Ignored when enumerating.
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
