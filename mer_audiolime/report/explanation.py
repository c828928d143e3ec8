"""One self-contained HTML page per explanation: listen to the mix, the stems and the top-k components."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..audio_signal import resample
from ..exceptions import ParameterError
from ..validation import check_int
from ..explain.ranking import rankable
from . import _html as h
from ._figures import effects_uri, heatmap_uri
from ._media import AUDIO_FORMATS, audio_data_uri
from ._reading import (domain_text, output_scale, ranked, scale_note, scaled_frame, signed_lists, span,
                       stem_label, time_text)

__all__ = ["explanation_html", "write_explanation_html", "primary_targets", "warnings_html", "MAX_PAGE_MB",
           "AUTO_EMBED_RATES"]

#: Page size (MB) the default embed rate keeps a page within.
MAX_PAGE_MB = 5.0
#: Embed rates tried, highest first, when the page at the model's rate is larger than ``max_page_mb``.
AUTO_EMBED_RATES = (16000, 11025, 8000)


def warnings_html(items) -> str:
    """The trust warnings of an explanation (``TrustWarning`` records or their dicts) as a table, or a line
    saying there are none."""
    rows = []
    for w in items or []:
        d = w if isinstance(w, dict) else w.as_dict()
        rows.append({"warning": d.get("code"), "output": d.get("target") or "(all)",
                     "what was found": d.get("message")})
    if not rows:
        return ('<p class="sub">No trust warnings: none of the checks (samples vs components, silent '
                "components, constant outputs, R², truncated audio, training domain, stem sums) found a "
                "problem.</p>")
    return (h.table(pd.DataFrame(rows)) + '<p class="sub">Read the numbers below in the light of these '
            "warnings: each says what was measured and what to change.</p>")


def primary_targets(exp) -> list:
    """Targets that get listenable top-k audio: the chained emotions if there is a chain, else every fit."""
    return list(exp.chained) if exp.chained else list(exp.attributions)


class _Embedder:
    """Encodes clips (optionally resampled), embeds each distinct clip once, and counts what was embedded.

    A clip identical to one already on the page (e.g. a top-k component that is a whole stem, with one
    segment) becomes a link to that player instead of a second copy.
    """

    def __init__(self, sr: int, embed_sample_rate: int | None, audio_format: str = "flac", *,
                 figures: dict | None = None):
        if embed_sample_rate is not None and (isinstance(embed_sample_rate, bool)
                                              or not isinstance(embed_sample_rate, (int, np.integer))
                                              or embed_sample_rate < 1000):
            raise ParameterError(
                f"embed_sample_rate must be an integer >= 1000 Hz, got {embed_sample_rate!r}.")
        if audio_format not in AUDIO_FORMATS:
            raise ParameterError(f"audio_format must be one of {sorted(AUDIO_FORMATS)}, got "
                                 f"{audio_format!r}.")
        self.format = audio_format
        self.sr = int(sr)
        self.out_sr = int(min(embed_sample_rate, sr)) if embed_sample_rate else self.sr
        self.clips = 0
        self.nbytes = 0
        self._seen: dict = {}
        self._figures = {} if figures is None else figures  # PNGs do not depend on the audio rate: reused

    def figure(self, key: str, draw) -> str:
        """The PNG data URI ``draw()`` makes, drawn once per ``key``."""
        if key not in self._figures:
            self._figures[key] = draw()
        return self._figures[key]

    def player(self, wave: np.ndarray, label: str, *, note: str = "") -> str:
        y = np.asarray(wave, dtype=np.float32)
        if self.out_sr != self.sr:
            y = resample(y, orig_sr=self.sr, target_sr=self.out_sr)
        uri, gain = audio_data_uri(y, self.out_sr, fmt=self.format)
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


_SOURCE_TEXT = {"lime": "LIME", "shapley": "exact Shapley values",
                "shapley_sampled": "sampled Shapley values", "leave_one_out": "leave-one-out occlusion",
                "add_one_in": "add-one-in occlusion"}


def source_text(source: str) -> str:
    """A reader's description of an attribution source (``"chain:lime"`` -> mid-level chain of LIME)."""
    if source.startswith("chain:"):
        inner = _SOURCE_TEXT.get(source[len("chain:"):], source)
        return f"mid-level chain (W @ {inner} of the mid-level features)"
    return _SOURCE_TEXT.get(source, source)


def _component_rows(exp, att, idxs, *, scale, offset) -> list:
    comps = exp.components
    sr = comps.sample_rate
    rows = []
    for r, i in enumerate(idxs, start=1):
        a, b = span(comps, [i])
        w = float(att.weights[i])
        row = {"rank": r, "component": comps.names[i],
               ("band" if comps.bands else "stem"): stem_label(comps, comps.stems[i]),
               "segment": int(comps.segments[i]) if comps.segments[i] >= 0 else "all",
               "time": time_text(a, b, sr, offset=offset), "weight": f"{w:+.4g}"}
        if scale is not None:
            row["weight on the annotation scale"] = f"{w * scale[0]:+.4g}"
        row["effect"] = "raises" if w > 0 else ("lowers" if w < 0 else "none")
        rows.append(row)
    return rows


def _target_section(exp, target: str, *, top_k: int, emb: _Embedder, absolute_feature_sort: bool) -> str:
    comps = exp.components
    unit = "band" if comps.bands else "stem"
    att = exp.attribution(target)
    if not rankable(att.weights):
        note = (f'<p class="sub">Not ranked: every weight of {h.esc(target)} is {float(att.weights[0]):.4g} '
                "(the output does not change when components are switched off), so there are no top "
                "components to listen to.</p>")
        return h.section(f"Target: {target}", note, anchor=f"target-{target}")
    source = source_text(att.info.get("source", exp.default_source(target)))
    sr = comps.sample_rate
    offset = float(exp.settings.get("offset") or 0.0)
    scale = output_scale(exp.settings).get(target)
    order = ranked(att.weights, top_k, absolute_feature_sort=absolute_feature_sort)
    rows = _component_rows(exp, att, order, scale=scale, offset=offset)
    facts = pd.DataFrame([{"source": source, "weighted R²": float(att.score),
                           "intercept": float(att.intercept), "local prediction": float(att.local_prediction),
                           "model prediction": float(exp.predictions.get(target, np.nan)),
                           "samples": int(att.num_samples),
                           "seed": int(att.seed) if att.seed is not None else ""}])
    players = []
    for row, i in zip(rows, order):
        a, b = span(comps, [i])
        players.append(emb.player(comps.waveform(i)[:, a:b], f"#{row['rank']} {row['component']}",
                                  note=f"{row['time']}, weight {row['weight']} "
                                       f"({stem_label(comps, comps.stems[i])})"))
    mask = np.zeros(len(comps), dtype=np.float32)
    mask[order] = 1
    a, b = span(comps, order)
    total = float(att.weights[order].sum())
    players.append(emb.player(comps.compose(mask)[0][:, a:b], f"sum of the top {len(order)}",
                              note=f"{time_text(a, b, sr, offset=offset)}, summed weight {total:+.4g}"))
    matrix = exp.stem_segment_matrix(target)
    labels = {stem: stem_label(comps, stem) for stem in matrix.index}
    matrix = matrix.rename(index=labels)
    totals = pd.DataFrame([matrix.sum(axis=1).to_dict()], index=["summed over segments"]).rename_axis(unit)
    pos, neg = signed_lists(att.weights, top_k)
    signed = "".join(
        h.section(title, h.table(pd.DataFrame(_component_rows(exp, att, idx, scale=scale, offset=offset)))
                  if len(idx) else "<p>(none)</p>", level=4)
        for title, idx in ((f"Top positive (raise {target})", pos), (f"Top negative (lower {target})", neg)))
    how = "|weight|, the sign shown" if absolute_feature_sort else "signed weight, highest first"
    uri = emb.figure(f"heatmap:{target}", lambda: heatmap_uri(matrix, title=f"{target}: {unit} × segment",
                                                              row_label=unit))
    body = (h.table(facts) + h.image(uri, f"{unit} by segment attributions of {target}")
            + h.table(totals, index=True)
            + h.section(f"Top {len(order)} components by {how}", h.table(pd.DataFrame(rows)), level=3)
            + f'<div class="players">{"".join(players)}</div>'
            + h.section("Largest positive and negative components", signed, level=3))
    return h.section(f"Target: {target}", body, anchor=f"target-{target}")


def explanation_html(exp, *, top_k: int = 3, targets: Sequence[str] | None = None, title: str | None = None,
                     context: Mapping | None = None, embed_sample_rate: int | None = None,
                     absolute_feature_sort: bool = True, audio_format: str = "flac",
                     max_page_mb: float = MAX_PAGE_MB) -> str:
    """Render an :class:`~mer_audiolime.explain.Explanation` as one self-contained HTML page.

    The page holds the mix and every stem as players, per target a stem x segment heatmap, the top-k
    components by size (sign shown) with their sum as players -- each cropped to where it sounds -- and the
    largest positive and negative components, the mid-level effects chart, the predictions (with the dataset's
    scale when the model card gives one, and the training domain), the surrogates' R² and the run's settings.
    Audio is embedded as 16-bit PCM (lossless FLAC by default) ``data:`` URIs, figures as PNG; the page
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
        Resample embedded audio to this rate. Default: the model's rate when the page fits in
        ``max_page_mb``, else the highest of 16000, 11025 and 8000 Hz that makes it fit (the page says so).
    max_page_mb : float
        Page size (MB = 10^6 bytes) the default embed rate aims for; 5 MB holds a 60-s song.
    absolute_feature_sort : bool
        Rank the top-k by ``|weight|`` (default; the sign is shown), or by signed weight (``False``,
        audioLIME's default ordering). The largest positive and negative components are listed either way.
    audio_format : {"flac", "wav"}
        Container of the embedded 16-bit audio; FLAC is lossless and about half the size.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> html = explanation_html(exp, top_k=3)                                  # doctest: +SKIP
    >>> Path("report.html").write_text(html, encoding="utf-8")                # doctest: +SKIP
    """
    check_int(top_k, "top_k", minimum=1)
    known = exp.targets
    if targets is None:
        chosen = primary_targets(exp)
    else:
        chosen = [targets] if isinstance(targets, str) else list(targets)
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise ParameterError(f"no attribution for {unknown}; explained targets are {known}.")
    if isinstance(max_page_mb, bool) or not isinstance(max_page_mb, (int, float)) or not max_page_mb > 0:
        raise ParameterError(f"max_page_mb must be a positive number, got {max_page_mb!r}.")
    sr = exp.components.sample_rate
    _Embedder(sr, embed_sample_rate, audio_format)  # checks the options before any work
    if embed_sample_rate is not None:
        rates = [embed_sample_rate]
    else:  # the model's rate if the page fits, else the highest rate that makes it fit
        rates = [sr] + [r for r in AUTO_EMBED_RATES if r < sr]
    figures: dict = {}
    for i, rate in enumerate(rates):
        emb = _Embedder(sr, rate, audio_format, figures=figures)
        budget = None if embed_sample_rate is not None else max_page_mb
        html = _render(exp, chosen, known, emb=emb, top_k=int(top_k), title=title, context=context,
                       absolute_feature_sort=bool(absolute_feature_sort), budget=budget,
                       reduced=i > 0)
        if embed_sample_rate is not None or len(html.encode("utf-8")) <= max_page_mb * 1e6:
            break
    return html


def _render(exp, chosen, known, *, emb, top_k, title, context, absolute_feature_sort, budget, reduced) -> str:
    comps, settings = exp.components, exp.settings
    sr = comps.sample_rate
    title = title or f"Explanation of {Path(str(settings.get('audio', 'audio'))).name}"
    duration = comps.mix.shape[-1] / sr
    offset = float(settings.get("offset") or 0.0)
    kind = "bands" if comps.bands else "stems"

    overview = {**dict(context or {}), "model": settings.get("model")}
    if domain_text(settings):
        overview["trained on"] = domain_text(settings)
    overview["separator"] = settings.get("separator")
    if offset or settings.get("duration") is not None:
        overview["excerpt"] = f"{time_text(0, comps.mix.shape[-1], sr, offset=offset)} of the recording"
    overview.update({
        "duration": f"{duration:.2f} s at {sr} Hz, {comps.mix.shape[0]} channel(s)",
        "components": f"{len(comps)} ({len(comps.stem_names())} {kind} × {len(comps.bounds)} segments)",
        "samples": settings.get("samples_used"), "seed": settings.get("seed")})
    parts = [h.table(pd.DataFrame({"": list(overview), "value": [str(v) for v in overview.values()]}))]
    parts.append(h.section(f"Trust warnings ({len(getattr(exp, 'warnings', []) or [])})",
                           warnings_html(getattr(exp, "warnings", [])), anchor="warnings"))

    pred = pd.DataFrame({"output": exp.predictions.index,
                         "prediction": exp.predictions.to_numpy(dtype=float)})
    column, unit = scale_note(settings, list(pred["output"]))
    if column:
        pred = scaled_frame(pred, "prediction", output_scale(settings), out=f"prediction {column}",
                            shift=True)
    pred["reconstruction gap"] = [float(exp.reconstruction_gap.get(o, np.nan)) for o in pred["output"]]
    pred["attribution"] = [exp.default_source(o) if o in known else "" for o in pred["output"]]
    pred["weighted R²"] = [float(exp.attribution(o).score) if o in known else np.nan for o in pred["output"]]
    parts.append(h.section("Predictions and surrogate fit", h.table(pred)
                           + f'<p class="sub">{h.esc(unit)} Reconstruction gap: f(mix) − f(sum of stems); '
                             'attribution: the source each target is explained by (the chain for emotions of '
                             'a linear head); R²: kernel-weighted fit of intercept + z·w to the model on the '
                             'masks.</p>'))

    stem_players = [emb.player(comps.mix, "original mix", note=f"{duration:.2f} s")]
    for stem in comps.stem_names():
        stem_players.append(emb.player(comps.stem_signal(stem), f"{kind[:-1]}: {stem_label(comps, stem)}"))
    parts.append(h.section(f"Listen: mix and {kind}", f'<div class="players">{"".join(stem_players)}</div>'))

    for target in chosen:
        parts.append(_target_section(exp, target, top_k=top_k, emb=emb,
                                     absolute_feature_sort=absolute_feature_sort))

    if exp.midlevel_effects is not None:
        uri = emb.figure("effects", lambda: effects_uri(exp.midlevel_effects))
        body = (h.image(uri, "mid-level effects per emotion")
                + h.table(exp.midlevel_effects.rename_axis("emotion"), index=True)
                + h.section("Relative effects (signed share of each emotion's total)",
                            h.table(exp.relative_midlevel_effects.rename_axis("emotion"), index=True),
                            level=3))
        parts.append(h.section("Mid-level effects", body))

    others = [t for t in known if t not in chosen]
    if others:
        unit = kind[:-1]
        figs = "".join(h.image(emb.figure(f"heatmap:{t}", lambda t=t: heatmap_uri(
            exp.stem_segment_matrix(t).rename(index=lambda stem: stem_label(comps, stem)),
            title=f"{t}: {unit} × segment", row_label=unit)), f"{unit} by segment attributions of {t}")
            for t in others)
        parts.append(h.section("Other explained outputs (heatmaps only)", figs))

    timings = h.section("Timings (s)", h.pre_json(exp.timings), level=3)
    parts.append(h.section("Settings", h.pre_json(settings) + timings))
    note = (f"{emb.clips} audio clips embedded as 16-bit PCM {emb.format.upper()} at {emb.out_sr} Hz "
            f"({emb.nbytes / 1e6:.1f} MB of base64)"
            + (f", down-sampled from {sr} Hz to keep the page within {budget:g} MB" if reduced else "")
            + ". Self-contained: nothing is loaded from the network.")
    return h.page(title, "\n".join(parts), subtitle="audioLIME explanation: stems × time segments",
                  footer=h.esc(note))


def write_explanation_html(exp, path, **options) -> Path:
    """Write :func:`explanation_html` to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(explanation_html(exp, **options), encoding="utf-8")
    return path
