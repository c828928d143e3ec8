"""The embedded benchmark: the shipped zoo models on the synthetic multitrack set, with planted-bias scoring.

``run_benchmark`` generates the synthetic set (200 clips x 10 s, seed 0, both variants) if it is not there,
evaluates every shipped synthetic zoo model on the test split with the standard suite (``quick``: its first
12 test clips), scores how well the explanations expose the planted vocals -> valence shortcut, and writes

    <out>/<BENCHMARK_VERSION>/results.csv|parquet, summary.md|tex, bias.csv, manifest.json, figures/, runs/<model>/
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from ..datasets import load_cached
from ..datasets.synthetic import generate
from ..datasets.synthetic.settings import V2_GENERATE, benchmark_settings
from ..exceptions import DatasetError, ParameterError, WeightsError
from ..explain.separation_cache import default_cache_dir
from ..fileio import atomic_write_text, remove_owned
from ..models.zoo import list_models, model_card
from ..plots import bias_figure, run_figures
from ..validation import check_choice, check_int, check_writable_dir
from .benchmark_v2 import BENCHMARK_V2, QUICK_CLIPS, run_quick
from .integrity import file_hashes, read_results, write_rows
from .metrics import get_metric, top_stems
from .results import (LEGACY_NOTE, git_commit, package_versions, rebuild_outputs, record_rebuild,
                      replace_figures)
from .runner import evaluate
from .suites import load_suite
from .tables import drop_exact_stability, write_tables

__all__ = ["BENCHMARK_VERSION", "run_benchmark", "rebuild_benchmark", "benchmark_models", "default_data_home",
           "bias_rows", "per_clip"]

#: Version of the benchmark (data generator settings + suite + shipped models); results are filed under it.
BENCHMARK_VERSION = "synthetic-v1"
_SYNTH = benchmark_settings(BENCHMARK_VERSION)


def default_data_home() -> Path:
    """``<cache>/synthetic-v2-seed0`` (the cache is ``$MER_AUDIOLIME_CACHE`` or ``~/.cache/mer_audiolime``).

    One generated set serves both benchmarks: the synthetic-v2 set holds every synthetic-v1 file byte for byte
    beside the cue audio and task variants.
    """
    return default_cache_dir() / f"{BENCHMARK_V2}-seed{V2_GENERATE['seed']}"


def benchmark_models() -> list:
    """Shipped zoo models of this benchmark version, as ``(name, variant)`` (clean first).

    Cards without a ``dataset.benchmark`` entry are the synthetic-v1 models.
    """
    found = []
    for name in list_models():
        card = model_card(name)
        if (card.dataset.get("name") == "synthetic"
                and card.dataset.get("benchmark", "synthetic-v1") == BENCHMARK_VERSION):
            found.append((name, card.dataset.get("variant", "clean")))
    if not found:
        raise WeightsError("no shipped synthetic zoo models found (mer-audiolime models list shows the zoo).")
    return sorted(found, key=lambda nv: (nv[1] != "clean", nv[0]))


def _ensure_data(home: Path, progress: bool, *, cues: bool = True) -> Path:
    """Generate the synthetic-v2 set in ``home`` unless it holds the files the run needs (``cues``: the v2 ones)."""
    v1 = all((home / f"synthetic_index_{v}.json").is_file() for v in ("clean", "biased"))
    if v1 and (not cues or (home / "cues.json").is_file()):
        return home
    if home.exists() and any(home.iterdir()):
        missing = "the synthetic-v2 cue audio (cues.json)" if v1 else "a complete synthetic set"
        raise DatasetError(f"{home} exists but holds no {missing}; remove it, or pass a --data-home where "
                           "the set can be generated.")
    generate(home, variant="both", n_jobs=2, progress=progress, **V2_GENERATE)
    return home


def bias_rows(rows: pd.DataFrame, *, vocals: dict, target: str, variants: dict) -> pd.DataFrame:
    """Stem-level attribution of ``target`` per (model, clip with vocals): ``model, variant, track_id, stem,
    weight, biased`` (seed = the suite's first seed; segments summed per stem) -- the input of
    :class:`~mer_audiolime.evaluation.metrics.PlantedBias`."""
    w = rows[(rows["metric"] == "weight") & (rows["target"] == target)]
    w = w[(w["seed"] == w["seed"].min()) & w["track_id"].map(lambda t: bool(vocals.get(t, False)))].copy()
    w["stem"] = w["component"].str.split("@").str[0]
    per = w.groupby(["model", "track_id", "stem"], as_index=False, sort=True)["value"].sum()
    per = per.rename(columns={"value": "weight"})
    per["variant"] = per["model"].map(variants)
    per["biased"] = per["variant"] == "biased"
    return per


def per_clip(stems: pd.DataFrame, *, shortcut: str) -> pd.DataFrame:
    """One row per (model, clip): the shortcut's attribution and whether it is the top stem by |weight|
    (audioLIME's ranking; a tie is no detection, as in PlantedBias)."""
    top = top_stems(stems, keys=["model", "track_id"], by="abs")
    mine = stems[stems["stem"] == shortcut][["model", "variant", "track_id", "weight"]]
    out = mine.merge(top, on=["model", "track_id"]).rename(columns={"weight": "shortcut_weight"})
    out["shortcut_top"] = (out["top_stem"] == shortcut) & ~out["tie"]
    out["vocals_present"] = True
    return out.drop(columns=["tie"])


def rebuild_benchmark(folder) -> list:
    """Rewrite the tables and figures of a finished benchmark folder (``<out>/<version>``) and of each of its
    ``runs/<model>`` from the committed rows (``results.csv``, ``bias.csv``, ``bias_per_clip.csv``) with the
    current table code. No explanation is re-run and no row changes; each manifest notes the rebuild.

    Returns
    -------
    list of Path
        The files written.
    """
    root = Path(folder)
    if not (root / "manifest.json").is_file() or not (root / "results.csv").is_file():
        raise ParameterError(f"{root} is not a finished benchmark folder (manifest.json and results.csv).")
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    commit = git_commit()  # before anything is written
    written = []
    for run in sorted((root / "runs").glob("*/results.csv")):
        written += rebuild_outputs(run.parent, commit=commit)
    rows = read_results(root, manifest)  # only rows the manifest vouches for
    figures = replace_figures(rows, root / "figures")
    bias_cfg = manifest.get("suite", {}).get("bias", {"target": "valence", "shortcut_stem": "vocals"})
    if (root / "bias_per_clip.csv").is_file():
        scores = pd.read_csv(root / "bias_per_clip.csv", dtype={"track_id": str})
        figures += bias_figure(scores, root / "figures", shortcut_stem=bias_cfg["shortcut_stem"],
                               target=bias_cfg["target"])
    extra = {}
    if (root / "bias.csv").is_file():
        extra["Planted-bias detection"] = pd.read_csv(root / "bias.csv")
    notes = [LEGACY_NOTE] if "source" not in rows.columns else None
    written += write_tables(rows, root, extra=extra, notes=notes) + figures

    def update(m):
        m["figures"] = [str(p.relative_to(root)) for p in figures]

    record_rebuild(root / "manifest.json", update, commit)
    return written


def run_benchmark(*, preset: str = "quick", out_dir, data_home=None, jobs: int = 1, progress: bool = True,
                  limit: int | None = None) -> Path:
    """Run the benchmark; returns the ``<out>/<BENCHMARK_VERSION>`` folder.

    Parameters
    ----------
    preset : {"quick", "full"}
        ``quick``: the first 12 test clips per model; ``full``: every test clip.
    out_dir : path
        Results go to ``<out_dir>/<BENCHMARK_VERSION>``.
    data_home : path, optional
        Where the synthetic set is (generated there when missing).
    jobs : int
        Worker processes.
    progress : bool
        Show progress bars.
    limit : int, optional
        At most this many test clips per model (a smoke run; the numbers are not the benchmark's).
    """
    t0 = time.perf_counter()
    check_choice(preset, "preset", ("quick", "full"))
    jobs = check_int(jobs, "jobs", minimum=1)
    out_dir = check_writable_dir(out_dir, name="out")
    suite = load_suite("quick" if preset == "quick" else "standard")
    if limit is not None:
        limit = check_int(limit, "limit", minimum=1)
        current = suite["tracks"]["limit"]
        suite["tracks"]["limit"] = min(limit, current) if current else limit
    home = _ensure_data(Path(data_home) if data_home else default_data_home(), progress,
                        cues=preset == "quick")
    out = Path(out_dir) / BENCHMARK_VERSION
    runs, variants = [], {}
    for name, variant in benchmark_models():
        run = evaluate(name, dataset="synthetic", data_home=home, version=variant, suite=suite,
                       out_dir=out / "runs" / name, jobs=jobs, progress=progress)
        runs.append(run)
        variants[name] = variant
    rows = pd.concat([r.rows for r in runs], ignore_index=True)
    remove_owned(out, ("figures", "bias_per_clip.csv"))  # outputs of an earlier run this one may not rewrite
    hashes = write_rows(rows, out)
    ds = load_cached("synthetic", str(Path(home).resolve()), "clean")
    vocals = {tid: bool(ds.track(tid).vocals_present) for tid in rows["track_id"].unique()}
    bias_cfg = suite["bias"]

    stems = bias_rows(rows, vocals=vocals, target=bias_cfg["target"], variants=variants)
    figures = run_figures(drop_exact_stability(rows), out / "figures")
    head = {"target": bias_cfg["target"], "shortcut_stem": bias_cfg["shortcut_stem"], "rule": "top |a|"}
    if stems.empty:  # e.g. a --limit run whose clips all lack the shortcut stem: nothing to score
        bias = pd.DataFrame([{**head, "n_scored": 0, "note": "no evaluated clip holds the shortcut stem"}])
    else:
        scores = per_clip(stems, shortcut=bias_cfg["shortcut_stem"])
        atomic_write_text(out / "bias_per_clip.csv", scores.to_csv(index=False))
        planted = get_metric("planted_bias", shortcut=bias_cfg["shortcut_stem"], by="abs")
        bias = pd.DataFrame([{**head, **planted(stems)}])
        figures += bias_figure(scores, out / "figures", shortcut_stem=bias_cfg["shortcut_stem"],
                               target=bias_cfg["target"])
    atomic_write_text(out / "bias.csv", bias.to_csv(index=False))
    tables = write_tables(rows, out, extra={"Planted-bias detection": bias})
    hashes.update(file_hashes(out, ["bias.csv"] + [p.name for p in tables]))
    manifest = {
        "benchmark_version": BENCHMARK_VERSION, "preset": preset, "limit": limit, "suite": suite, "synthetic": _SYNTH,
        "data_home": str(home), "models": variants, "package_versions": package_versions(),
        "git_commit": git_commit(), "elapsed_s": round(time.perf_counter() - t0, 2),
        "failures": {r.out_dir.name: [f["track_id"] for f in r.failures] for r in runs},
        "bias": bias.to_dict(orient="records"),
        "figures": [str(p.relative_to(out)) for p in figures],
        "n_tracks": int(rows["track_id"].nunique()) if len(rows) else 0,
        "n_rows": int(len(rows)),
        "outputs_sha256": hashes,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str))
    if preset == "quick":  # the synthetic-v2 quick preset, with oracle and estimated stems
        run_quick(out_dir, data_home=home, progress=progress,
                  clips=min(limit, QUICK_CLIPS) if limit is not None else QUICK_CLIPS)
    return out
