"""One self-contained HTML page per explanation: listen to the mix, the stems and the top-k components."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from . import _html as h
from ._figures import effects_uri, heatmap_uri
from ._media import wav_data_uri

__all__ = ["explanation_html", "write_explanation_html", "primary_targets"]


def primary_targets(exp) -> list:
    """Targets that get listenable top-k audio: the chained emotions if there is a chain, else every fit."""
    return list(exp.chained) if exp.chained else list(exp.attributions)


class _Embedder:
    """Encodes clips (optionally resampled), embeds each distinct clip once, and counts what was embedded.

    A clip identical to one already on the page (e.g. a top-k component that is a whole stem, with one
    segment) becomes a link to that player instead of a second copy.
    """

    def __init__(self, sr: int, embed_sample_rate: int | None):
        if embed_sample_rate is not None and (isinstance(embed_sample_rate, bool)
                                              or not isinstance(embed_sample_rate, (int, np.integer))
                                              or embed_sample_rate < 1000):
            raise ParameterError(
                f"embed_sample_rate must be an integer >= 1000 Hz, got {embed_sample_rate!r}.")
        self.sr = int(sr)
        self.out_sr = int(min(embed_sample_rate, sr)) if embed_sample_rate else self.sr
        self.clips = 0
        self.nbytes = 0
        self._seen: dict = {}

    def player(self, wave: np.ndarray, label: str, *, note: str = "") -> str:
        y = np.asarray(wave, dtype=np.float32)
        if self.out_sr != self.sr:
            from ..audio import resample

            y = resample(y, orig_sr=self.sr, target_sr=self.out_sr)
        uri, gain = wav_data_uri(y, self.out_sr)
        if gain < 0:
            note = f"{note}; attenuated {gain:.1f} dB to avoid clipping".lstrip("; ")
        if uri in self._seen:
            anchor, first = self._seen[uri]
            return h.same_audio(anchor, label, first, note=note)
        self.clips += 1
        self.nbytes += len(uri)
        anchor = f"clip-{self.clips}"
        self._seen[uri] = (anchor, label)
        return h.audio(uri, label, note=note, anchor=anchor)


def _span(comps, idxs) -> tuple[int, int]:
    """Sample range covering the time segments of components ``idxs`` (the whole clip for a TF grid)."""
    if comps.info.get("kind") != "stems":
        return 0, comps.mix.shape[-1]
    bounds = np.asarray(comps.bounds)[[comps.segments[i] for i in idxs]]
    return int(bounds[:, 0].min()), int(bounds[:, 1].max())


def _secs(a: int, b: int, sr: int) -> str:
    return f"{a / sr:.2f}–{b / sr:.2f} s"


_SOURCE_TEXT = {"lime": "LIME", "shapley": "exact Shapley values",
                "shapley_sampled": "sampled Shapley values", "leave_one_out": "leave-one-out occlusion",
                "add_one_in": "add-one-in occlusion"}


def source_text(source: str) -> str:
    """A reader's description of an attribution source (``"chain:lime"`` -> mid-level chain of LIME)."""
    if source.startswith("chain:"):
        inner = _SOURCE_TEXT.get(source[len("chain:"):], source)
        return f"mid-level chain (W @ {inner} of the mid-level features)"
    return _SOURCE_TEXT.get(source, source)


def _target_section(exp, target: str, *, top_k: int, emb: _Embedder) -> str:
    comps = exp.components
    att = exp.attribution(target)
    source = source_text(att.info.get("source", exp.default_source(target)))
    sr = comps.sample_rate
    order = np.argsort(-att.weights, kind="stable")[: min(top_k, len(comps))]
    rows = []
    for r, i in enumerate(order, start=1):
        a, b = _span(comps, [i])
        rows.append({"rank": r, "component": comps.names[i], "stem": comps.stems[i],
                     "segment": int(comps.segments[i]), "time": _secs(a, b, sr),
                     "weight": float(att.weights[i])})
    facts = pd.DataFrame([{"source": source, "weighted R²": float(att.score),
                           "intercept": float(att.intercept), "local prediction": float(att.local_prediction),
                           "model prediction": float(exp.predictions.get(target, np.nan)),
                           "samples": int(att.num_samples),
                           "seed": int(att.seed) if att.seed is not None else ""}])
    players = []
    for row, i in zip(rows, order):
        a, b = _span(comps, [i])
        players.append(emb.player(comps.waveforms[i][:, a:b], f"#{row['rank']} {row['component']}",
                                  note=f"{row['time']} of the clip, weight {row['weight']:+.4g}"))
    mask = np.zeros(len(comps), dtype=np.float32)
    mask[order] = 1
    a, b = _span(comps, order)
    total = float(att.weights[order].sum())
    players.append(emb.player(comps.compose(mask)[0][:, a:b], f"sum of the top {len(order)}",
                              note=f"{_secs(a, b, sr)} of the clip, summed weight {total:+.4g}"))
    matrix = exp.stem_segment_matrix(target)
    totals = pd.DataFrame([matrix.sum(axis=1).to_dict()], index=["summed over segments"]).rename_axis("stem")
    body = (h.table(facts) + h.image(heatmap_uri(matrix, title=f"{target}: stem × segment"),
                                     f"stem by segment attributions of {target}")
            + h.table(totals, index=True)
            + h.section(f"Top {len(order)} components (highest weight first)", h.table(pd.DataFrame(rows)),
                        level=3)
            + f'<div class="players">{"".join(players)}</div>')
    return h.section(f"Target: {target}", body, anchor=f"target-{target}")


def explanation_html(exp, *, top_k: int = 3, targets: Sequence[str] | None = None, title: str | None = None,
                     context: Mapping | None = None, embed_sample_rate: int | None = None) -> str:
    """Render an :class:`~mer_audiolime.explain.Explanation` as one self-contained HTML page.

    The page holds the mix and every stem as players, per target a stem x segment heatmap and the top-k
    components with their sum as players, the mid-level effects chart, the predictions, the surrogates' R²
    and the run's settings. Audio is embedded as 16-bit PCM WAV ``data:`` URIs, figures as PNG; the page
    requests nothing from the network (its Content-Security-Policy forbids it).

    Parameters
    ----------
    exp : Explanation
    top_k : int
        Components made listenable per target.
    targets : sequence of str, optional
        Targets with a listenable section (default: the chained emotions, else every explained output).
        The other explained outputs get a heatmap only.
    title : str, optional
        Page title (default: the audio file's name).
    context : mapping, optional
        Extra facts shown at the top (e.g. track id, dataset, ground truth); keys and values are escaped.
    embed_sample_rate : int, optional
        Resample embedded audio down to this rate to make the page smaller (default: the model's rate).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> html = explanation_html(exp, top_k=3)                                  # doctest: +SKIP
    >>> Path("report.html").write_text(html, encoding="utf-8")                # doctest: +SKIP
    """
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ParameterError(f"top_k must be a positive integer, got {top_k!r}.")
    known = exp.targets
    if targets is None:
        chosen = primary_targets(exp)
    else:
        chosen = [targets] if isinstance(targets, str) else list(targets)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise ParameterError(f"no attribution for {unknown}; explained targets are {known}.")
    comps, settings = exp.components, exp.settings
    sr = comps.sample_rate
    emb = _Embedder(sr, embed_sample_rate)
    title = title or f"Explanation of {Path(str(settings.get('audio', 'audio'))).name}"
    duration = comps.mix.shape[-1] / sr

    overview = {**dict(context or {}), "model": settings.get("model"), "separator": settings.get("separator"),
                "duration": f"{duration:.2f} s at {sr} Hz, {comps.mix.shape[0]} channel(s)",
                "components": f"{len(comps)} ({len(comps.stem_names())} stems × {len(comps.bounds)} "
                              "segments)",
                "samples": settings.get("samples_used"), "seed": settings.get("seed")}
    parts = [h.table(pd.DataFrame({"": list(overview), "value": [str(v) for v in overview.values()]}))]

    pred = pd.DataFrame({"output": exp.predictions.index,
                         "prediction": exp.predictions.to_numpy(dtype=float)})
    pred["reconstruction gap"] = [float(exp.reconstruction_gap.get(o, np.nan)) for o in pred["output"]]
    pred["attribution"] = [exp.default_source(o) if o in known else "" for o in pred["output"]]
    pred["weighted R²"] = [float(exp.attribution(o).score) if o in known else np.nan for o in pred["output"]]
    parts.append(h.section("Predictions and surrogate fit", h.table(pred)
                           + '<p class="sub">Reconstruction gap: f(mix) − f(sum of stems); attribution: the '
                             'source each target is explained by (the chain for emotions of a linear head); '
                             'R²: kernel-weighted fit of intercept + z·w to the model on the masks.</p>'))

    stem_players = [emb.player(comps.mix, "original mix", note=f"{duration:.2f} s")]
    for stem in comps.stem_names():
        idx = [i for i, s in enumerate(comps.stems) if s == stem]
        stem_players.append(emb.player(comps.waveforms[idx].sum(axis=0), f"stem: {stem}"))
    parts.append(h.section("Listen: mix and stems", f'<div class="players">{"".join(stem_players)}</div>'))

    for target in chosen:
        parts.append(_target_section(exp, target, top_k=int(top_k), emb=emb))

    if exp.midlevel_effects is not None:
        body = (h.image(effects_uri(exp.midlevel_effects), "mid-level effects per emotion")
                + h.table(exp.midlevel_effects.rename_axis("emotion"), index=True)
                + h.section("Relative effects (signed share of each emotion's total)",
                            h.table(exp.relative_midlevel_effects.rename_axis("emotion"), index=True),
                            level=3))
        parts.append(h.section("Mid-level effects", body))

    others = [t for t in known if t not in chosen]
    if others:
        figs = "".join(h.image(heatmap_uri(exp.stem_segment_matrix(t), title=f"{t}: stem × segment"),
                               f"stem by segment attributions of {t}") for t in others)
        parts.append(h.section("Other explained outputs (heatmaps only)", figs))

    timings = h.section("Timings (s)", h.pre_json(exp.timings), level=3)
    parts.append(h.section("Settings", h.pre_json(settings) + timings))
    note = (f"{emb.clips} audio clips embedded as 16-bit PCM WAV at {emb.out_sr} Hz "
            f"({emb.nbytes / 1e6:.1f} MB of base64). Self-contained: nothing is loaded from the network.")
    return h.page(title, "\n".join(parts), subtitle="audioLIME explanation: stems × time segments",
                  footer=h.esc(note))


def write_explanation_html(exp, path, **options) -> Path:
    """Write :func:`explanation_html` to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(explanation_html(exp, **options), encoding="utf-8")
    return path
