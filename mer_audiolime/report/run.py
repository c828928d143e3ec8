"""Summary page of a harness output folder (``evaluate`` run or ``benchmark``) linking per-track pages.

Per-track pages are made by re-running the harness's own explanation of a track
(:func:`~mer_audiolime.evaluation.runner.explain_track`, with the run's model, dataset, suite and first seed),
or reused when they already exist. A folder whose files do not agree with its manifest is refused before
anything is computed (:func:`~mer_audiolime.evaluation.integrity.verify_outputs`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from ..datasets import load
from ..evaluation import tables as result_tables
from ..evaluation.integrity import read_results, verify_outputs
from ..evaluation.runner import explain_track, resolve_model
from ..evaluation.suites import DEFAULTS
from ..evaluation.tables import upgrade_rows, warning_table
from ..exceptions import IntegrityError, ParameterError
from ..explain.diagnostics import WARNING_CODES
from ..explain.export import safe_name
from ..fileio import atomic_write_text
from ..validation import check_int, check_writable_file
from . import _html as h
from ._media import file_data_uri
from ._summary import ZWSP, summary_tables
from .explanation import write_explanation_html

__all__ = ["RunReport", "write_run_report", "find_runs"]


@dataclass
class RunReport:
    """What :func:`write_run_report` wrote: the summary page, linked track pages (``"model/track"`` ->
    path), which of them were computed now or found already, and pages that failed (key -> reason)."""

    path: Path
    track_pages: dict = field(default_factory=dict)
    computed: list = field(default_factory=list)
    reused: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)


def _manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IntegrityError(f"cannot read {path}: {err}; rerun the evaluate/benchmark command into this "
                             "folder to rewrite it.") from err
    if not isinstance(data, dict):
        raise IntegrityError(f"{path} does not hold a manifest object; rerun the command that wrote it.")
    return data


def find_runs(folder) -> tuple[Path, str, dict, dict]:
    """Classify a results folder.

    Returns
    -------
    root : Path
        The folder holding ``manifest.json`` (a benchmark's ``<out>`` resolves to ``<out>/<version>``).
    kind : {"evaluation", "benchmark"}
    manifest : dict
    runs : dict of str to Path
        Model name -> evaluation run folder (``tracks/``, ``manifest.json``).
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise ParameterError(f"results folder {str(folder)!r} {what}; pass the folder written by evaluate or "
                             "benchmark --out.")
    if not (root / "manifest.json").is_file():
        inner = [p.parent for p in sorted(root.glob("*/manifest.json"))]
        if len(inner) != 1:
            raise ParameterError(
                f"{root} holds no manifest.json: pass the folder written by `mer-audiolime evaluate --out` "
                "or `mer-audiolime benchmark --out` (a benchmark's <out>/<version>/ folder).")
        root = inner[0]
    manifest = _manifest(root)
    if "benchmark_version" in manifest:
        runs = {p.parent.name: p.parent for p in sorted((root / "runs").glob("*/manifest.json"))}
        return root, "benchmark", manifest, runs
    if "run" in manifest:
        return root, "evaluation", manifest, {manifest["run"].get("model", root.name): root}
    raise ParameterError(f"{root / 'manifest.json'} is neither an evaluation nor a benchmark manifest.")


def _rows(root: Path, manifest: dict, runs: dict) -> pd.DataFrame:
    """The folder's rows after checking every file the page draws on against the manifests."""
    rows = read_results(root, manifest)
    for run_dir in runs.values():
        if Path(run_dir) != Path(root):
            verify_outputs(run_dir, _manifest(Path(run_dir)))
    return upgrade_rows(rows)


def headline_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics (mean ± sd over tracks) per model, target and attribution, as in ``summary.md``
    (:func:`mer_audiolime.evaluation.tables.headline_table`)."""
    return result_tables.headline_table(rows)


def track_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per track: mean absolute error over targets, the top stem (first seed) per target -- the stem
    with the largest ``|attribution|`` summed over segments, its signed value in brackets -- and the codes of
    its trust warnings.

    Sorted by decreasing error (tracks without error rows last, by id).
    """
    ids = sorted(rows["track_id"].unique())
    out = pd.DataFrame({"track_id": ids})
    warned = rows[rows["metric"] == "warning"]
    if len(warned):
        # a zero-width space after each underscore lets a long code wrap in a narrow column
        codes = warned.groupby("track_id")["component"].agg(
            lambda c: ", ".join(code.replace("_", "_" + ZWSP) for code in sorted(set(c))))
        out["trust warnings"] = out["track_id"].map(codes).fillna("")
    err = rows[rows["metric"] == "error"]
    if len(err):
        mae = err.assign(value=err["value"].abs()).groupby("track_id")["value"].mean()
        out["mean |error|"] = out["track_id"].map(mae)
    w = rows[(rows["metric"] == "weight") & (rows["component"] != "")]
    if len(w):
        w = w[w["seed"] == w["seed"].min()].assign(stem=lambda f: f["component"].str.split("@").str[0])
        per = w.groupby(["target", "track_id", "stem"], as_index=False)["value"].sum()
        for target, grp in per.groupby("target", sort=False):
            # the largest influence whatever its sign (as the bias metrics rank stems), the sign shown
            top = grp.loc[grp["value"].abs().groupby(grp["track_id"]).idxmax()].set_index("track_id")
            label = top["stem"] + " (" + top["value"].map("{:+.3g}".format) + ")"
            out[f"top stem: {target}"] = out["track_id"].map(label).fillna("")
    if "mean |error|" in out:
        out = out.sort_values(["mean |error|", "track_id"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True)


def track_page(run_dir: Path, track_id: str, path: Path, *, top_k: int, embed_sample_rate=None) -> Path:
    """Re-run the harness's explanation of one track (the run's model, dataset, suite, first seed) and write
    its page."""
    manifest = _manifest(run_dir)
    key, suite, ds = manifest["run"], manifest["suite"], manifest["dataset"]
    model = resolve_model(key["model_spec"])
    expected = key.get("weights_sha256")
    if expected and getattr(model, "weights_sha256", None) != expected:
        raise IntegrityError(
            f"the weights of {key['model_spec']!r} now have sha256 {getattr(model, 'weights_sha256', None)}, "
            f"but the run in {run_dir} used {expected}: a page would not show the run's model.")
    dataset = load(ds["name"], data_home=ds.get("data_home"), version=ds.get("version", "default"))
    track = dataset.track(track_id)
    cfg = dict(suite["explain"])
    for name in ("estimator", "occlusion", "sampler"):
        cfg.setdefault(name, DEFAULTS["explain"][name])
    # runs made before the suite named its enumeration counted each enumerated coalition once
    cfg.setdefault("enumeration", "plain")
    exp = explain_track(track, model=model, suite={**suite, "explain": cfg}, seeds=[int(cfg["seeds"][0])])[0]
    exp.settings["audio"] = f"{ds['name']}:{track_id}"
    truth = getattr(track, "static_targets", None) or {}
    context = {"track": track_id, "dataset": f"{ds['name']} ({ds.get('version', 'default')})",
               "run model": key.get("model"), "suite": f"{suite.get('name')} v{suite.get('version')}",
               **{f"truth: {k}": f"{v:.4g}" for k, v in truth.items() if isinstance(v, (int, float))}}
    title = f"{track_id} — {key.get('model')}"
    return write_explanation_html(exp, path, top_k=top_k, context=context, title=title,
                                  embed_sample_rate=embed_sample_rate)


def _pick(table: pd.DataFrame, n: int) -> list:
    return list(table["track_id"][:n]) if n > 0 else []


def write_run_report(folder, *, out=None, tracks: int = 3, top_k: int = 3,
                     embed_sample_rate: int | None = None, regenerate: bool = False,
                     progress: bool = True) -> RunReport:
    """Write the summary page of an evaluation or benchmark folder, with per-track explanation pages.

    Parameters
    ----------
    folder : path
        ``evaluate --out`` folder, or a benchmark's ``<out>`` or ``<out>/<version>`` folder.
    out : path, optional
        Summary page (default ``<folder>/report.html``). Track pages go to ``<out stem>_files/<model>/``.
    tracks : int
        Per model, how many tracks get a (re-computed) page: those with the largest mean absolute error.
        Pages already present for other tracks are linked too. 0 = link existing pages only.
    top_k : int
        Listenable components per target on track pages.
    embed_sample_rate : int, optional
        Down-sample embedded audio of track pages (smaller files).
    regenerate : bool
        Re-compute pages that already exist.
    progress : bool
        A tqdm bar over the pages being (re-)computed.

    Returns
    -------
    RunReport

    Examples
    --------
    >>> write_run_report("results/clean", tracks=2).path                     # doctest: +SKIP
    PosixPath('results/clean/report.html')
    """
    tracks = check_int(tracks, "tracks", minimum=0)
    top_k = check_int(top_k, "top_k", minimum=1)
    if embed_sample_rate is not None:
        embed_sample_rate = check_int(embed_sample_rate, "embed_sample_rate", minimum=1000)
    root, kind, manifest, runs = find_runs(folder)
    path = check_writable_file(Path(out) if out is not None else root / "report.html", name="--out",
                               suffixes=(".html", ".htm"))
    assets = path.parent / f"{path.stem}_files"
    report = RunReport(path=path)
    rows = _rows(root, manifest, runs)
    from tqdm.auto import tqdm

    sections = []
    tables = {model: track_table(rows[rows["model"] == model] if kind == "benchmark" else rows)
              for model in runs}
    todo = sum(1 for model, table in tables.items() for tid in _pick(table, int(tracks))
               if regenerate or not (assets / _safe(model) / f"{_safe(tid)}.html").is_file())
    bar = tqdm(total=todo, desc="track pages", unit="page", disable=not progress or todo == 0)
    for model, run_dir in runs.items():
        table = tables[model]
        links = {}
        for tid in table["track_id"]:
            page_path = assets / _safe(model) / f"{_safe(tid)}.html"
            wanted = tid in _pick(table, int(tracks))
            if page_path.is_file() and not (regenerate and wanted):
                report.reused.append(str(page_path))
            elif wanted:
                bar.set_postfix_str(f"{model}/{tid}", refresh=False)
                try:
                    track_page(run_dir, tid, page_path, top_k=top_k, embed_sample_rate=embed_sample_rate)
                    report.computed.append(str(page_path))
                except Exception as err:  # recorded on the page (like failed tracks of a run); others go on
                    report.failures[f"{model}/{tid}"] = f"{type(err).__name__}: {err}"
                    continue
                finally:
                    bar.update(1)
            if page_path.is_file():
                links[tid] = quote(Path(os.path.relpath(page_path, path.parent)).as_posix())
                report.track_pages[f"{model}/{tid}"] = page_path
        table["page"] = [links.get(t, "") for t in table["track_id"]]
        body = h.table(table, links={"track_id": links, "page": {v: v for v in links.values()}})
        note = (f'<p class="sub">{len(links)} track page(s); sorted by mean absolute error. Top stem = stem '
                "with the largest |attribution| summed over segments (first seed), its sign and size in "
                "brackets.</p>")
        sections.append(h.section(f"Tracks: {model}", body + note, anchor=f"tracks-{_safe(model)}"))
    bar.close()
    page = _summary_page(root, kind, manifest, rows, sections, report)

    atomic_write_text(path, page)
    return report


def _safe(name: str) -> str:
    return safe_name(name)


def _warnings_section(rows: pd.DataFrame) -> str:
    table = warning_table(rows)
    table["warning"] = [c.replace("_", "_" + ZWSP) for c in table["warning"]]
    if table.empty:
        return ('<p class="sub">No explanation of this run carries a trust warning (samples vs components, '
                "silent components, constant outputs, R², truncated audio, training domain, stem sums).</p>")
    table.insert(2, "meaning", [WARNING_CODES.get(c.replace(ZWSP, ""), "") for c in table["warning"]])
    return (h.table(table) + '<p class="sub">Tracks whose explanations carry a warning: read their numbers '
            "in that light; each track page lists the measured values.</p>")


def _summary_page(root: Path, kind: str, manifest: dict, rows: pd.DataFrame, track_sections: list,
                  report: RunReport) -> str:
    if kind == "benchmark":
        title = f"Benchmark {manifest.get('benchmark_version')} ({manifest.get('preset')})"
        facts = {"models": ", ".join(f"{m} ({v})" for m, v in (manifest.get("models") or {}).items()),
                 "suite": manifest.get("suite", {}).get("name"), "seeds": manifest.get("suite", {}).get(
                     "explain", {}).get("seeds"), "data": manifest.get("data_home"),
                 "elapsed": f"{manifest.get('elapsed_s')} s"}
    else:
        run = manifest.get("run", {})
        title = f"Evaluation: {run.get('model')} on {run.get('dataset')}"
        facts = {"model": run.get("model_spec"), "dataset": f"{run.get('dataset')} ({run.get('version')})",
                 "suite": manifest.get("suite", {}).get("name"), "seeds": manifest.get("seeds"),
                 "tracks": manifest.get("n_tracks"), "failed tracks": len(manifest.get("failures", []))}
    domains = {}
    manifests = ([manifest] if kind != "benchmark" else
                 [_manifest(p.parent) for p in sorted((root / "runs").glob("*/manifest.json"))])
    for m in manifests:
        card = m.get("model_card") or {}
        text = (card.get("domain") or {}).get("description") if isinstance(card, dict) else None
        if text:
            domains[card.get("name") or m.get("run", {}).get("model")] = text
    for name, text in domains.items():
        facts[f"training domain of {name}"] = text
    facts.update({"git commit": manifest.get("git_commit"), "folder": str(root)})
    parts = [h.table(pd.DataFrame({"": list(facts), "value": [str(v) for v in facts.values()]}))]
    parts.append(h.section("Summary (mean ± sd over tracks)", summary_tables(headline_table(rows))))
    parts.append(h.section("Trust warnings", _warnings_section(rows), anchor="warnings"))
    bias = root / "bias.csv"
    if bias.is_file():
        parts.append(h.section("Planted-bias detection", h.table(pd.read_csv(bias))))
    figs = sorted((root / "figures").glob("*.png"))
    if figs:
        parts.append(h.section("Figures", "".join(
            h.section(f.stem.replace("_", " "), h.image(file_data_uri(f, "image/png"), f.stem), level=3)
            for f in figs)))
    parts += track_sections
    if report.failures:
        items = "".join(f"<li>{h.esc(k)}: {h.esc(v)}</li>" for k, v in report.failures.items())
        parts.append(h.section("Track pages that could not be made", f"<ul>{items}</ul>"))
    details = f"<details><summary>manifest.json</summary>{h.pre_json(manifest)}</details>"
    parts.append(h.section("Manifest", details))
    return h.page(title, "\n".join(parts), subtitle="mer_audiolime harness report",
                  footer="Self-contained: figures embedded as PNG; track pages are linked relative to this "
                         "file.")
