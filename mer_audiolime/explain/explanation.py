"""The :class:`Explanation` an explanation returns: its attributions by every source, read through one
accessor, computed on request from the prediction cache, and tidy frames of them.

:func:`mer_audiolime.explain.explain` (in :mod:`mer_audiolime.explain.lime_audio`) builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..models.spec import as_predictor
from ..validation import check_int
from .batching import component_predict_fn
from .composition import Components
from .estimators import (CHAIN, DIRECT_SOURCES, OCCLUSION_MODES, chain_source, design, estimate, parse_source,
                         seed_dependent)
from .export import export_audio
from .midlevel import chain_attributions, relative_effects
from .ranking import rankable
from .sampling import MAX_EXHAUSTIVE_K, PredictionCache, all_coalitions
from .surrogate import Attribution

__all__ = ["Explanation"]


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
                        score_on=None if direct == "lime" else rows, groups=self.components.segments)
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
