"""Listenable explanations: WAV files of the most relevant components and of their sum."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..validation import check_int
from .ranking import rankable, ranked

__all__ = ["export_audio", "safe_name", "write_wav"]


def safe_name(name: str) -> str:
    """A file-name-safe version of a component or target name (``vocals@t3`` stays readable)."""
    cleaned = re.sub(r"[^A-Za-z0-9@._+-]+", "_", str(name)).strip("._")
    return cleaned or "unnamed"


def write_wav(path, audio: np.ndarray, sr: int) -> Path:
    """Write ``(C, L)`` float audio as 32-bit float WAV (no clipping, levels kept as the model heard them)."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(audio, dtype=np.float32).T, int(sr), subtype="FLOAT")
    return path


def export_audio(explanation, out_dir, *, top_k: int = 3, targets: Sequence[str] | None = None,
                 source: str | None = None, absolute_feature_sort: bool = True) -> pd.DataFrame:
    """Write the mix, the top-k components of each target and their sum as WAV files.

    Layout::

        out_dir/mix.wav
        out_dir/<target>/rank01_<component>.wav ... rank<k>_<component>.wav
        out_dir/<target>/top<k>_sum.wav

    Components are ranked by ``|weight|``: the largest influences, raising or lowering the prediction (the
    order of the report pages; ``absolute_feature_sort=False`` ranks by signed weight, audioLIME's default).
    Attributions come from :meth:`~mer_audiolime.explain.Explanation.attribution` (default rule: the chain for
    emotions of a model with a linear mid-level head, the explanation's estimator otherwise).
    A target whose weights are all equal (e.g. a constant output) has no ranking and gets no files.

    Parameters
    ----------
    explanation : Explanation
    out_dir : path
    top_k : int
    targets : sequence of str, optional
        Default: every explained target.
    source : str, optional
        Attribution source for every target (default: each target's default source).
    absolute_feature_sort : bool
        Rank by ``|weight|`` (default) or by signed weight.

    Returns
    -------
    pd.DataFrame
        One row per file: ``target, rank, component, weight, source, path`` (``component="<sum>"`` for the
        sum).
    """
    check_int(top_k, "top_k", minimum=1)
    comps = explanation.components
    sr = comps.sample_rate
    out_dir = Path(out_dir)
    known = explanation.targets
    targets = known if targets is None else list(targets)
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise ParameterError(f"no attribution for {unknown}; explained targets are {known}.")
    atts = {t: explanation.attribution(t, source) for t in targets}
    rows = [{"target": "", "rank": 0, "component": "<mix>", "weight": np.nan, "source": "",
             "path": str(write_wav(out_dir / "mix.wav", comps.mix, sr))}]
    k = min(int(top_k), len(comps))
    for target in targets:
        att = atts[target]
        src = att.info.get("source", "")
        if not rankable(att.weights):
            continue
        order = ranked(att.weights, k, absolute_feature_sort=absolute_feature_sort)
        folder = out_dir / safe_name(target)
        for r, idx in enumerate(order, start=1):
            name = comps.names[idx]
            path = write_wav(folder / f"rank{r:02d}_{safe_name(name)}.wav", comps.waveform(idx), sr)
            rows.append({"target": target, "rank": r, "component": name, "weight": float(att.weights[idx]),
                         "source": src, "path": str(path)})
        mask = np.zeros(len(comps), dtype=np.float32)
        mask[order] = 1
        path = write_wav(folder / f"top{k}_sum.wav", comps.compose(mask)[0], sr)
        rows.append({"target": target, "rank": 0, "component": "<sum>", "weight": float(att.weights[order].sum()),
                     "source": src, "path": str(path)})
    return pd.DataFrame(rows)
