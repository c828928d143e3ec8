"""The SMC-2021 bias analysis on the synthetic shortcut task: subgroup error, mid-level effects, stem credit.

Chowdhury, Praher & Widmer (2021) found a biased model over-estimating valence on one subgroup, traced it to
the mid-level effects (rhythm stability) and then to a stem (vocals). The same three steps on the synthetic
shortcut task, where the answer is known: the signed valence error of biased vs clean models on test clips
with and without vocals, the models' mid-level effects ``W[valence, j] m_j`` on the clips with vocals
(A2Mid2E), and the exact-Shapley stem attributions of valence behind them.

:func:`subgroup_predictions` runs the models once (one row per model and test clip); :func:`analysis_table`
computes the table from that frame and the benchmark's attributions, so it recomputes from the CSVs.

Examples
--------
>>> preds = subgroup_predictions(["a2mid2e_synth_v2_biased_s0"], data_home="synth-v2")   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets import synthetic as syn
from ..models import zoo
from ..models.heads import to_predictor

__all__ = ["subgroup_predictions", "analysis_table"]


def subgroup_predictions(models, *, data_home, split: str = "test", batch_size: int = 8) -> pd.DataFrame:
    """Valence prediction, label and mid-level effects of each model on every clip of a split (v1 audio).

    Returns
    -------
    pandas.DataFrame
        ``model, head, variant, track_id, vocals, label, prediction, error`` (valence units) and, for A2Mid2E,
        ``effect_<feature>`` = ``std_valence * W[valence, j] * m_j`` (the feature's share of the predicted
        valence, in valence units).
    """

    rows = []
    for name in models:
        model = zoo.load_model(name, download=False)
        variant = model.card.dataset["variant"]
        ds = syn.Dataset(data_home=str(data_home), version=variant)
        tracks = [ds.track(t) for t in ds.track_ids if ds.track(t).split == split]
        pred = to_predictor(model)
        scale = model.card.target_scaling["valence"]
        col = pred.output_names.index("valence")
        mids = list(getattr(pred, "midlevel_names", None) or [])
        w = None
        if mids:
            w = np.asarray(pred.emotion_weights)[list(pred.emotion_names).index("valence")]
        for start in range(0, len(tracks), batch_size):
            chunk = tracks[start: start + batch_size]
            x = np.stack([np.asarray(t.audio[0], dtype=np.float32).reshape(1, -1) for t in chunk])
            out = np.asarray(pred(x), dtype=np.float64)
            for t, o in zip(chunk, out):
                value = float(o[col] * scale["std"] + scale["mean"])
                label = float(t.emotion["valence"])
                row = {"model": name, "head": model.card.head, "variant": variant, "track_id": t.track_id,
                       "vocals": bool(t.vocals_present), "label": label, "prediction": value,
                       "error": value - label}
                for j, m in enumerate(mids):
                    row[f"effect_{m}"] = float(scale["std"] * w[j] * o[pred.output_names.index(m)])
                rows.append(row)
    return pd.DataFrame(rows)


def analysis_table(predictions: pd.DataFrame, attributions: pd.DataFrame | None = None, *,
                   exclusions: pd.DataFrame | None = None, task: str = "shortcut",
                   explainer: str = "exact_shapley", seed: int = 0) -> pd.DataFrame:
    """Biased vs clean, per head: subgroup error, mid-level effects on the vocal clips, stem attributions.

    Parameters
    ----------
    predictions : pandas.DataFrame
        :func:`subgroup_predictions` of the shortcut task's models (variants ``biased`` and ``clean``).
    attributions : pandas.DataFrame, optional
        The benchmark's tidy attributions; the ``task`` rows of ``explainer`` (seed ``seed``) are averaged
        per stem over the scored pairs (pairs the exclusion rule leaves out are dropped).
    exclusions : pandas.DataFrame, optional
        ``model, track_id, passed``.

    Returns
    -------
    pandas.DataFrame
        ``section, head, item, source, biased, clean, difference`` (means over clips and seeds).
    """
    out = []

    def add(section, head, item, source, b, c):
        out.append({"section": section, "head": head, "item": item, "source": source, "biased": b, "clean": c,
                    "difference": b - c})

    for head, p in predictions.groupby("head", sort=True):
        for vocals, label in ((True, "clips with vocals"), (False, "clips without vocals")):
            sub = p[p["vocals"] == vocals]
            b = sub[sub["variant"] == "biased"]["error"].mean()
            c = sub[sub["variant"] == "clean"]["error"].mean()
            add("signed valence error", head, label, "-", float(b), float(c))
        effects = [col for col in p.columns if col.startswith("effect_") and p[col].notna().any()]
        voc = p[p["vocals"]]
        for col in effects:
            b = voc[voc["variant"] == "biased"][col].mean()
            c = voc[voc["variant"] == "clean"][col].mean()
            add("mid-level effect on valence (clips with vocals)", head, col[len("effect_"):], "-",
                float(b), float(c))
    if attributions is not None and len(attributions):
        a = attributions[(attributions["task"] == task) & (attributions["explainer"] == explainer)
                         & (attributions["seed"] == seed)]
        if exclusions is not None:
            a = a.merge(exclusions[["model", "track_id", "passed"]], on=["model", "track_id"])
            a = a[a["passed"].astype(bool)]
        a = a.assign(stem=a["component"].str.split("@").str[0],
                     variant=np.where(a["role"] == "task", "biased", "clean"))
        for (head, source, stem), g in a.groupby(["head", "source", "stem"], sort=True):
            b = g[g["variant"] == "biased"]["score"].mean()
            c = g[g["variant"] == "clean"]["score"].mean()
            add(f"stem attribution of valence ({explainer})", head, stem, source, float(b), float(c))
    return pd.DataFrame(out, columns=["section", "head", "item", "source", "biased", "clean", "difference"])
