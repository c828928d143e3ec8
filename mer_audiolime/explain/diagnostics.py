"""Trust diagnostics: checks before the first model call, and warnings about a finished explanation.

:func:`check_inputs` runs on the loaded audio before separation and before any model call (segmentation vs
length, the model's minimum input length). :func:`diagnose` looks at a finished
:class:`~mer_audiolime.explain.Explanation` and lists what makes it untrustworthy as :class:`TrustWarning`
records (``Explanation.warnings``); each is also emitted as an
:class:`~mer_audiolime.exceptions.ExplanationWarning`. Codes (:data:`WARNING_CODES`):

``underdetermined``
    At most K + 1 distinct masks for K components (+ intercept): the surrogate interpolates its samples, its
    weights are not determined by the data and its R² is meaningless.
``silent_components``
    Components that are digitally silent (peak <= -140 dBFS; ``empty`` when exactly zero): switching them
    cannot change the input, so their weights measure sampling noise only.
``constant_output``
    An explained output takes the same value on every perturbed input: there is nothing to attribute, its
    weights are zero and it is not ranked.
``r2_undefined``
    The surrogate's R² is undefined (no variance to explain, or not finite); it is reported as NaN.
``truncated_audio``
    The file decoded to fewer samples than its header declares; only the decodable part was explained.
``out_of_domain``
    A model whose card states its training domain got input whose spectral profile lies beyond the card's
    threshold (e.g. a real recording for a model trained on synthetic audio only).
``stems_mismatch``
    Supplied (oracle) stems do not sum to the mix: the measured gap is reported; a residual component carries
    it (or, without a residual, the all-on input is not the mix).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from ..audio import SILENCE_PEAK, truncation_message
from ..exceptions import AudioTooShortError, ExplanationWarning
from .ranking import rankable

__all__ = ["TrustWarning", "WARNING_CODES", "check_inputs", "diagnose", "STEMS_TOLERANCE"]

#: Every warning code with a one-line meaning (the report pages print these).
WARNING_CODES = {
    "underdetermined": "no more distinct samples than surrogate unknowns: weights and R² are not determined",
    "silent_components": "some components are silent: their weights measure noise only",
    "constant_output": "the output does not change under perturbation: nothing to attribute, no ranking",
    "r2_undefined": "the surrogate's R² is undefined and reported as NaN",
    "truncated_audio": "the audio file is truncated: only its decodable part was explained",
    "out_of_domain": "the input lies outside the model's training domain (see its card)",
    "stems_mismatch": "the supplied stems do not sum to the mix",
}

#: Relative RMS of ``mix - sum(stems)`` above which supplied stems are reported as not matching the mix
#: (-60 dB: far above 16-bit quantisation of separately written stems, far below a missing instrument).
STEMS_TOLERANCE = 1e-3


@dataclass
class TrustWarning:
    """One reason not to trust (part of) an explanation.

    Attributes
    ----------
    code : str
        One of :data:`WARNING_CODES`.
    message : str
        What was found, with the measured values, and what to do about it.
    target : str or None
        The explained output it concerns (None: the whole explanation).
    details : dict
        Measured values (JSON-serialisable).
    """

    code: str
    message: str
    target: str | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-Python form (JSON-serialisable)."""
        return asdict(self)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


def check_inputs(n_samples: int, *, sr: int, model) -> None:
    """Refuse audio shorter than the model accepts, before any model call.

    Parameters
    ----------
    n_samples : int
        Length of the audio at the model's rate.
    sr : int
        The model's sample rate.
    model : Predictor
        Its optional ``min_input_samples`` (the zoo's CNNs declare their receptive field) is the minimum.

    Raises
    ------
    AudioTooShortError
    """
    minimum = getattr(model, "min_input_samples", None)
    if minimum and n_samples < int(minimum):
        name = getattr(model, "name", type(model).__name__)
        raise AudioTooShortError(
            f"the audio is {n_samples / sr:.3f} s ({n_samples} samples at {sr} Hz) long, but the model "
            f"{name} needs at least {int(minimum) / sr:.3f} s ({int(minimum)} samples: the smallest input "
            "its network accepts); pass a longer excerpt or pad it with silence yourself."
        )


def _emit(items: list) -> None:
    for item in items:
        warnings.warn(str(item), ExplanationWarning, stacklevel=4)


def diagnose(exp, *, model, emit: bool = True) -> list:
    """Trust warnings of a finished explanation (see the module docstring for the codes).

    Targets whose output is constant get NaN as R² (it is undefined); everything else is left as computed.

    Parameters
    ----------
    exp : Explanation
    model : Predictor
        The explained model (its card's training domain is checked).
    emit : bool
        Also emit each as an :class:`~mer_audiolime.exceptions.ExplanationWarning`.

    Returns
    -------
    list of TrustWarning
    """
    found = []
    comps = exp.components
    k = len(comps)
    atts = {**exp.attributions, **exp.chained}
    names = list(exp.output_names or exp.predictions.index)

    n_unique = len(np.unique(exp.masks, axis=0))
    if n_unique <= k + 1:
        scores = {t: round(float(a.score), 4) for t, a in exp.attributions.items() if np.isfinite(a.score)}
        found.append(TrustWarning(
            "underdetermined",
            f"{k} components but only {n_unique} distinct perturbations "
            f"(num_samples={exp.settings.get('num_samples')}): the surrogate has {k + 1} unknowns, so it "
            "reproduces its samples whatever the weights mean; weights and R² "
            f"({', '.join(f'{t}={v}' for t, v in list(scores.items())[:3])}) carry no information. Use "
            f"num_samples >= {10 * (k + 1)} or fewer components (fewer segments or bands).",
            details={"n_components": k, "n_unique_masks": int(n_unique),
                     "num_samples": exp.settings.get("num_samples"), "scores": scores}))

    peaks = comps.peaks()
    # a residual that only carries numerical leftovers (e.g. of the tf-grid's inverse STFT) is not reported
    silent = [comps.names[i] for i in np.flatnonzero(peaks <= SILENCE_PEAK) if comps.stems[i] != "residual"]
    if silent:
        empty = [comps.names[i] for i in np.flatnonzero(peaks == 0)]
        top, n_top = {}, min(3, k)
        for target, att in atts.items():
            order = np.argsort(-np.abs(att.weights), kind="stable")[:n_top]
            hits = [comps.names[i] for i in order if comps.names[i] in set(silent)]
            if hits and rankable(att.weights):
                top[target] = hits
        first = next(iter(top), None)
        where = (f"; for {len(top)} of {len(atts)} explained outputs a silent component ranks in the top "
                 f"{n_top} "
                 f"by |weight| (e.g. {first}: {', '.join(top[first])})") if top else ""
        found.append(TrustWarning(
            "silent_components",
            f"{len(silent)} of {k} components are silent (peak <= -140 dBFS; {len(empty)} exactly zero), "
            f"e.g. {', '.join(silent[:5])}: switching them cannot change what the model hears, so their "
            f"weights are sampling noise{where}. Use fewer bands/segments or drop empty stems.",
            details={"components": silent[:50], "n_silent": len(silent), "n_empty": len(empty),
                     "in_top": top}))

    outputs = np.asarray(exp.outputs, dtype=np.float64)
    for target, att in atts.items():
        if target not in names:
            continue
        y = outputs[:, names.index(target)]
        scale = max(1.0, float(np.max(np.abs(y))))
        if float(np.ptp(y)) <= 1e-12 * scale:
            found.append(TrustWarning(
                "constant_output",
                f"{target} is {y[0]:.6g} on every one of the {len(y)} perturbed inputs: the model's output "
                "does not depend on these components, so there is nothing to attribute; its weights are "
                "zero and it is "
                "not ranked.", target=target, details={"value": float(y[0]), "n_samples": int(len(y))}))
            if np.isfinite(att.score):
                att.info["reported_score"] = float(att.score)
            att.score = float("nan")
            found.append(TrustWarning(
                "r2_undefined",
                f"the surrogate R² of {target} is undefined (the output has no variance to explain); it is "
                "reported as NaN, not as a perfect fit.", target=target))
        elif not np.isfinite(att.score) and not _occlusion(att):  # occlusion has no score by design
            found.append(TrustWarning(
                "r2_undefined", f"the surrogate R² of {target} is not finite ({att.score}).", target=target))

    report = comps.info.get("audio") or {}
    if report.get("truncated"):
        found.append(TrustWarning("truncated_audio", truncation_message(report),
                                  details={key: report.get(key) for key in ("path", "declared_frames",
                                                                           "decoded_frames", "sample_rate",
                                                                           "reason")}))

    found += _domain(comps, model)

    sep = str(exp.settings.get("separator", ""))
    rel = comps.info.get("reconstruction_error")
    if sep.startswith("oracle") and rel is not None and rel > STEMS_TOLERANCE:
        db = 20 * np.log10(rel)
        carried = ("a residual component carries the difference" if comps.residual
                   else "without a residual the all-on input is not the mix")
        found.append(TrustWarning(
            "stems_mismatch",
            f"the supplied stems do not sum to the mix: the gap is {db:.1f} dB relative to the mix (relative "
            f"RMS {rel:.3g}, tolerance {STEMS_TOLERANCE:g}); {carried}. Check that the stems belong to this "
            "audio and that the mix is not among them.",
            details={"relative_rms": float(rel), "gap_db": float(db), "tolerance": STEMS_TOLERANCE}))
    if emit:
        _emit(found)
    return found


def _occlusion(att) -> bool:
    source = str(att.info.get("source", ""))
    return source.endswith(("leave_one_out", "add_one_in"))


def _domain(comps, model) -> list:
    card = getattr(model, "card", None)
    domain = getattr(card, "domain", None) or {}
    check = domain.get("input_check") or {}
    module = getattr(model, "module", None)
    frontend = getattr(module, "frontend", None)
    if not check or frontend is None:
        return []
    from ..models.frontend import domain_threshold, spectral_profile_distance

    seconds = comps.mix.shape[-1] / comps.sample_rate
    threshold = domain_threshold(check, seconds)
    if threshold is None:  # shorter than any measured excerpt: too short to judge
        return []
    distance = spectral_profile_distance(frontend, comps.mix)
    if distance <= threshold:
        return []
    name = getattr(card, "name", None) or getattr(model, "name", "the model")
    return [TrustWarning(
        "out_of_domain",
        f"this input is outside the training domain of {name}: its spectral profile lies {distance:.2f} "
        f"training standard deviations from the training data, above the {threshold:.2f} that training "
        f"excerpts of {seconds:.1f} s stay under ({check.get('rule', '')}). The model card says: "
        f"{domain.get('description', 'no description')}. Its predictions, and so the explanation, may not "
        "mean what they mean on its training data.",
        details={"distance": round(distance, 4), "threshold": round(threshold, 4),
                 "seconds": round(seconds, 3), "domain": domain.get("description"),
                 "datasets": domain.get("datasets", [])})]
