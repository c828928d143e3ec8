"""Convergence of the surrogate with the sample budget N, and sensitivity of attributions to input noise."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ...exceptions import EvaluationError, ParameterError
from ...explain.lime_audio import explain
from ...explain.sampling import sample_masks
from ...explain.surrogate import fit_surrogate
from ...validation import check_int, check_seed
from .base import CachedOracle, ExplanationMetric, register, resolve_attribution, target_index
from .stability import top_k_sets

__all__ = ["Convergence", "MaxSensitivity", "add_noise"]


@register
class Convergence(ExplanationMetric):
    """Distance of N-sample LIME weights to the exhaustive reference, per N and seed (small K only).

    For each ``N`` in ``sample_sizes`` and each seed, masks are drawn as the explainer draws them
    (Bernoulli(1/2) rows, row 0 all on; :func:`~mer_audiolime.explain.sample_masks` with ``exhaustive=False``)
    and the surrogate is refitted with the explanation's kernel width and ridge alpha. The reference is the
    surrogate on all ``2**K`` coalitions:

    * ``reference="matched"`` (default): ridge penalty ``alpha * 2**K / N``. The sampled objective is
      ``sum_rows pi (y - g)² + alpha |beta|²`` and each coalition appears about ``N / 2**K`` times, so its
      large-N limit is exactly this exhaustive fit -- what an enumerated explanation with budget N reports
      by default (``enumeration="expected"``): the error goes to 0 as N grows.
    * ``reference="fixed"``: the exhaustive fit with ``alpha`` itself (plain enumeration,
      ``enumeration="plain"``, audioLIME's exhaustive mode); with ``alpha > 0`` a bias remains at large N
      because the fixed penalty weighs less against more rows.

    Columns: ``num_samples, seed, rel_error`` (``||a_N - a_ref||_2 / ||a_ref||_2``, primary, lower is better),
    ``kendall_tau`` (to the reference), ``top_k_jaccard``, ``reference_alpha``.

    Cost: ``2**K`` minus the cached coalitions (every sampled mask is one of them, so nothing else is called).

    Parameters
    ----------
    sample_sizes : sequence of int
    seeds : sequence of int
    top_k : int
    reference : {"matched", "fixed"}
    max_components : int
        Refuse K above this (``2**K`` model calls).

    Notes
    -----
    ``__call__(explanation, model=None, *, target) -> DataFrame``
    """

    name, primary, direction, category = "convergence", "rel_error", "lower", "stability"

    def __init__(
        self,
        *,
        sample_sizes: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048),
        seeds: Sequence[int] = (0, 1, 2, 3, 4),
        top_k: int = 3,
        reference: str = "matched",
        max_components: int = 12,
        batch_size: int = 32,
    ):
        self.sample_sizes = [check_int(n, "sample size", minimum=2) for n in sample_sizes]
        self.seeds = [check_seed(s) for s in seeds]
        if not self.sample_sizes or not self.seeds:
            raise ParameterError("give at least one sample size and one seed.")
        if reference not in ("matched", "fixed"):
            raise ParameterError(f"reference must be 'matched' or 'fixed', got {reference!r}.")
        self.top_k = check_int(top_k, "top_k", minimum=1)
        self.reference = reference
        self.max_components = check_int(max_components, "max_components", minimum=1)
        self.batch_size = batch_size

    def compute(self, explanation, model=None, *, target: str) -> pd.DataFrame:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (see the class docstring for the columns).

        Examples
        --------
        >>> metric = Convergence()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        comps = explanation.components
        k = len(comps)
        if k > self.max_components:
            raise ParameterError(
                f"K={k} components need 2**{k} model calls for the exhaustive reference; raise "
                f"max_components (now {self.max_components}) or use fewer segments."
            )
        col = target_index(explanation, target)
        names = list(explanation.output_names or explanation.predictions.index)
        kw = dict(
            output_names=[names[col]],
            component_names=comps.names,
            kernel_width=float(explanation.settings.get("kernel_width", 0.25)),
        )
        alpha = float(explanation.settings.get("alpha", 1.0))
        oracle = CachedOracle(explanation, model, batch_size=self.batch_size)
        full = sample_masks(k, 2**k, rng=0, exhaustive=True)
        y_full = oracle(full)[:, [col]]
        refs = {}
        rows = []
        for n in self.sample_sizes:
            ref_alpha = alpha * 2**k / n if self.reference == "matched" else alpha
            if ref_alpha not in refs:
                refs[ref_alpha] = fit_surrogate(full, y_full, alpha=ref_alpha, seed=0, **kw)[
                    names[col]
                ].weights
            ref = refs[ref_alpha]
            norm = np.linalg.norm(ref)
            if norm == 0:
                raise EvaluationError(
                    "the exhaustive reference attribution is all zero; relative error undefined."
                )
            for seed in self.seeds:
                masks = sample_masks(k, n, rng=seed, exhaustive=False)
                y = oracle(masks)[:, [col]]
                w = fit_surrogate(masks, y, alpha=alpha, seed=seed, **kw)[names[col]].weights
                tau = stats.kendalltau(w, ref).statistic if np.ptp(w) > 0 and np.ptp(ref) > 0 else np.nan
                ta, tb = top_k_sets(np.vstack([w, ref]), min(self.top_k, k))
                rows.append(
                    {
                        "num_samples": n,
                        "seed": seed,
                        "rel_error": float(np.linalg.norm(w - ref) / norm),
                        "kendall_tau": float(tau),
                        "top_k_jaccard": len(ta & tb) / len(ta | tb),
                        "reference_alpha": ref_alpha,
                    }
                )
        frame = pd.DataFrame(rows)
        frame.attrs["model_calls"] = oracle.new_calls
        return frame


def add_noise(signal: np.ndarray, *, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """``signal + n`` with white Gaussian ``n`` scaled so that ``10 log10(P_signal / P_noise) = snr_db``
    (powers are means over all samples; a silent signal is returned unchanged)."""
    x = np.asarray(signal, dtype=np.float64)
    power = float(np.mean(x**2))
    if power == 0:
        return np.array(signal, dtype=np.float32, copy=True)
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / np.mean(noise**2))
    return (x + noise).astype(np.float32)


@register
class MaxSensitivity(ExplanationMetric):
    """Max-sensitivity of the attribution to additive input noise at a given SNR (after Yeh et al. 2019).

    ``SENS = max_{p=1..P} ||a(x + n_p) - a(x)||_2 / ||a(x)||_2`` over ``P = n_perturbations`` seeded
    white-noise draws ``n_p`` at ``snr_db``; also the mean. The explanation is recomputed on the noisy input
    with the original settings *and seed* (same masks), so the change is due to the input, not to sampling.

    How noise reaches the components:

    * oracle stems (default, ``separator=None``): each stem of the explanation (the sum of its segment
      components, the residual included) receives independent noise at ``snr_db`` relative to that stem, and
      the noisy stems are the new components -- an ideal separator of the noisy mix;
    * ``separator=...``: noise at ``snr_db`` relative to the mix is added to the mix, which is separated
      again.

    Attributions (``explanation.attribution(target, source)``, the same source for the noisy explanations)
    are compared component by component (by name; by position when the names differ but K agrees).
    Direction: lower. Cost: ``P`` new explanations, each ``N'`` (unique masks) model calls plus one for the
    reconstruction gap -- nothing can be reused because the inputs differ.

    ``__call__(explanation, model, *, target, separator=None, source=None)
    -> {"max_sensitivity", "mean_sensitivity", "snr_db", "model_calls"}``
    """

    name, primary, direction, category = "max_sensitivity", "max_sensitivity", "lower", "stability"

    def __init__(self, *, snr_db: float = 30.0, n_perturbations: int = 5, seed: int = 0):
        if not np.isfinite(snr_db):
            raise ParameterError(f"snr_db must be a finite number of decibels, got {snr_db!r}.")
        self.snr_db = float(snr_db)
        self.n_perturbations = check_int(n_perturbations, "n_perturbations", minimum=1)
        self.seed = check_seed(seed)

    def compute(self, explanation, model=None, *, target: str, separator=None, source=None) -> dict:
        """Compute the metric of one explanation (calling the metric runs this and refuses NaN/inf).

        Parameters
        ----------
        explanation : Explanation
            One explanation of one track; model outputs are drawn through its prediction cache.
        model : Predictor, optional
            The explained model; needed only for masks the explanation's cache lacks.
        target : str
            The explained output, e.g. ``"valence"``.
        separator : Separator, optional
            Separator recomputing the stems of each perturbed input; default the explanation's stems.
        source : str, optional
            Which attribution of the explanation (``Explanation.attribution(target, source)``); default the
            package's rule.

        Returns
        -------
        dict
            ``{"max_sensitivity", "mean_sensitivity", "snr_db", "model_calls"}``; see the class docstring
            for each number.

        Examples
        --------
        >>> metric = MaxSensitivity()  # doctest: +SKIP
        >>> metric(exp, model, target="valence")  # doctest: +SKIP
        """
        if model is None:
            raise ParameterError("max-sensitivity recomputes explanations: pass model=... .")
        source = explanation.attribution(target, source).info["source"]  # canonical name, reused below
        a = resolve_attribution(explanation, target, source=source)
        norm = np.linalg.norm(a)
        if norm == 0:
            raise EvaluationError("the attribution is all zero; relative sensitivity is undefined.")
        comps, st = explanation.components, explanation.settings
        sr = comps.sample_rate
        times = (np.append(comps.bounds[:, 0], comps.bounds[-1, 1]) / sr).tolist()
        common = dict(
            model=model,
            sr=sr,
            segments=times,
            num_samples=int(st["num_samples"]),
            seed=int(st["seed"]),
            batch_size=int(st.get("batch_size", 32)),
            kernel_width=float(st["kernel_width"]),
            alpha=float(st["alpha"]),
            targets=[target],
            exhaustive=bool(st["exhaustive"]),
            estimator=st.get("estimator", "lime"),
            occlusion=st.get("occlusion", "leave_one_out"),
            enumeration=st.get("enumeration", "expected"),
            show_progress=False,
        )
        rng = np.random.default_rng(self.seed)
        sens, calls = [], 0
        for _ in range(self.n_perturbations):
            if separator is None:
                stems = {}
                for stem in comps.stem_names():
                    idx = [i for i, s in enumerate(comps.stems) if s == stem]
                    stems[stem] = add_noise(comps.waveforms[idx].sum(axis=0), snr_db=self.snr_db, rng=rng)
                mix = np.sum(list(stems.values()), axis=0)
                new = explain(mix, stems=stems, stems_sr=sr, residual=False, **common)
            else:
                mix = add_noise(comps.mix, snr_db=self.snr_db, rng=rng)
                new = explain(mix, separator=separator, residual=bool(st["residual"]), **common)
            calls += new.cache.model_calls
            if list(new.components.names) == list(comps.names):
                b = resolve_attribution(new, target, source=source)
            else:
                b = self._align(new.attribution(target, source), comps.names)
            sens.append(float(np.linalg.norm(b - a) / norm))
        return {
            "max_sensitivity": max(sens),
            "mean_sensitivity": float(np.mean(sens)),
            "snr_db": self.snr_db,
            "model_calls": calls,
        }

    @staticmethod
    def _align(att, names):
        lookup = dict(zip(att.component_names, att.weights))
        if all(n in lookup for n in names):
            return np.array([lookup[n] for n in names])
        if len(att.weights) == len(names):
            return np.asarray(att.weights, dtype=np.float64)
        raise EvaluationError(
            f"the noisy explanation has components {att.component_names}, which cannot be "
            f"matched to the original {list(names)}."
        )
