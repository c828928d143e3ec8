"""What a reader of an explanation page needs beside the numbers: components ranked by size with their sign,
band labels in Hz, where each component sounds (its sample span), and model outputs on the dataset's scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import dataset_info
from ..exceptions import ParameterError
from ..explain.ranking import ranked, signed_lists

__all__ = ["ranked", "signed_lists", "span", "stem_label", "time_text", "output_scale", "scale_note",
           "domain_text"]


def span(comps, idxs) -> tuple[int, int]:
    """Sample range ``[start, stop)`` outside which the components ``idxs`` are silent.

    A stem's segment is silent outside its bounds; a time x frequency cell is resynthesised from the STFT
    frames centred in its segment, so it reaches half an FFT window beyond the segment on either side; a
    component without a segment (the residual) spans the whole clip.
    """
    n = comps.mix.shape[-1]
    if len(idxs) == 0:
        raise ParameterError("no components to span.")
    margin = int(comps.info.get("n_fft", 0)) // 2 if comps.info.get("kind") == "tf_grid" else 0
    starts, stops = [], []
    for i in idxs:
        seg = int(comps.segments[i])
        if seg < 0:
            return 0, n
        a, b = (int(v) for v in np.asarray(comps.bounds)[seg])
        starts.append(max(0, a - margin))
        stops.append(min(n, b + margin))
    return min(starts), max(stops)


def stem_label(comps, stem: str) -> str:
    """A stem's name for readers: tf-grid bands get their frequency range (``"f1: 324–1054 Hz"``).

    Examples
    --------
    >>> class C: bands = {"f0": (0.0, 324.2)}
    >>> stem_label(C(), "f0"), stem_label(C(), "vocals")
    ('f0: 0–324 Hz', 'vocals')
    """
    band = getattr(comps, "bands", {}).get(stem)
    if band is None:
        return str(stem)
    lo, hi = band
    return f"{stem}: {lo:.0f}–{hi:.0f} Hz"


def time_text(a: int, b: int, sr: int, *, offset: float = 0.0) -> str:
    """``"12.00–22.00 s"``: a sample range as times in the recording (an excerpt's ``offset`` added).

    Examples
    --------
    >>> time_text(0, 22050, 22050, offset=30)
    '30.00–31.00 s'
    """
    return f"{offset + a / sr:.2f}–{offset + b / sr:.2f} s"


def output_scale(settings: dict) -> dict:
    """``{output: (std, mean)}`` that map the model's outputs (z-scores) to the annotation scale, from the
    model card recorded in an explanation's settings (empty for models without one)."""
    scaling = (settings.get("model_info") or {}).get("target_scaling") or {}
    out = {}
    for name, s in scaling.items():
        try:
            out[str(name)] = (float(s["std"]), float(s["mean"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _dataset_ranges(dataset: str | None) -> dict:
    if not dataset:
        return {}
    try:
        return dict(dataset_info(dataset).get("targets") or {})
    except Exception:  # an unregistered dataset name: no ranges to show
        return {}


def scale_note(settings: dict, outputs) -> tuple[str, str]:
    """``(column title, unit sentence)`` for predictions on the annotation scale; ``("", "")`` without a
    card scaling."""
    info = settings.get("model_info") or {}
    scale = output_scale(settings)
    if not scale:
        return "", ("Outputs are shown as the model returns them (it declares no target scaling), in its own "
                    "units.")
    dataset = (info.get("trained_on") or {}).get("dataset")
    ranges = _dataset_ranges(dataset)
    where = f"the {dataset} annotation scale" if dataset else "the annotation scale"
    shown = [o for o in outputs if o in scale]
    spans = "; ".join(f"{o} {ranges[o][0]:g} to {ranges[o][1]:g}" for o in shown if o in ranges)
    unit = (f"The model outputs z-scores of its training targets; '{where}' is z × std + mean with the "
            "scaling in its model card, and a weight w there is w × std."
            + (f" Annotation ranges: {spans}." if spans else ""))
    return f"on {where}", unit


def domain_text(settings: dict) -> str:
    """One line naming the data the model was trained on (from its card), or ``""``."""
    info = settings.get("model_info") or {}
    return str(info.get("domain") or "")


def scaled_frame(frame: pd.DataFrame, column: str, scale: dict, *, out: str, shift: bool) -> pd.DataFrame:
    """Add ``out``: ``frame[column]`` on the annotation scale (``z * std + mean``, or ``w * std`` when
    ``shift`` is False) for rows whose ``"output"`` has a scaling."""
    vals = []
    for name, v in zip(frame["output"], frame[column]):
        s = scale.get(name)
        vals.append(float(v) * s[0] + (s[1] if shift else 0.0) if s else np.nan)
    return frame.assign(**{out: vals})
