"""Tables of the synthetic-v2 benchmark, computed only from its per-clip CSVs.

:func:`clip_verdicts` applies the pre-registered detection rules to the tidy attributions (one row per
(task, model, clip, source, explainer, ranking), with the exclusion verdict read from the model cards);
:func:`metrics_table` pools them into the registered metrics with Wilson intervals, beside the chance rates
of a random ranking; :func:`summary_markdown` renders the tables a reader cites. Nothing here runs a model.

Examples
--------
>>> verdicts = clip_verdicts(attributions, suite=suite, exclusions=excluded)   # doctest: +SKIP
>>> metrics_table(verdicts, costs, suite=suite).head()                          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from .v2_explainers import SUITE_EXPLAINERS
from .v2_scoring import auc, chance_rate, clip_detections, rate_row

__all__ = ["KEYS", "stored_explainer", "primary_ranking", "clip_verdicts", "metrics_table", "seed_table",
           "read_units", "summary_markdown", "headline_matrix"]

#: Columns identifying one explanation.
KEYS = ["task", "head", "role", "model", "track_id", "source"]


def stored_explainer(name: str) -> str:
    """The stored attributions a suite explainer reads (``lime_signed`` and ``lime_abs`` read ``lime``)."""
    if name not in SUITE_EXPLAINERS:
        raise ParameterError(f"unknown explainer {name!r}; known: {list(SUITE_EXPLAINERS)}.")
    return "lime" if name.startswith("lime_") else name


def primary_ranking(name: str) -> str:
    """The ranking an explainer is cited under: ``abs`` for ``lime_abs``, the signed primary ranking else."""
    return "abs" if name == "lime_abs" else "signed"


def read_units(runs_dir) -> tuple:
    """``(attributions, costs, failures)`` concatenated from a run folder's unit files (``runs/``)."""
    runs = Path(runs_dir)
    attrs = [pd.read_csv(p, dtype={"track_id": str}) for p in sorted(runs.glob("*.csv"))
             if not p.name.endswith("_cost.csv")]
    costs = [pd.read_csv(p, dtype={"track_id": str}) for p in sorted(runs.glob("*_cost.csv"))]
    failures = sorted(p.name[: -len(".failed.txt")] for p in runs.glob("*.failed.txt"))
    if not attrs:
        raise ParameterError(f"{runs} holds no finished unit (<model>__<source>.csv).")
    return pd.concat(attrs, ignore_index=True), pd.concat(costs, ignore_index=True), failures


def clip_verdicts(attributions: pd.DataFrame, *, suite: dict, exclusions: pd.DataFrame) -> pd.DataFrame:
    """Per-clip detection verdicts of every stored explainer (first seed), both rankings.

    Parameters
    ----------
    attributions : pandas.DataFrame
        ``task, head, role, model, track_id, source, explainer, seed, component, score``.
    suite : dict
        The loaded pre-registration.
    exclusions : pandas.DataFrame
        ``model, track_id, passed`` (:func:`~mer_audiolime.evaluation.truths.exclusions`).

    Returns
    -------
    pandas.DataFrame
        ``task, head, role, model, track_id, source, explainer, ranking, hit, truth_score, distractor_alarm,
        credit_share, passed``.
    """
    first = int(suite["explain"]["seeds"][0])
    out = []
    for task, spec in suite["tasks"].items():
        sub = attributions[(attributions["task"] == task) & (attributions["seed"] == first)]
        for explainer, group in sub.groupby("explainer", sort=True):
            d = clip_detections(group, list(spec["truth"]), keys=KEYS,
                                distractors=list(spec.get("distractors", [])))
            out.append(d.assign(explainer=explainer))
    verdicts = pd.concat(out, ignore_index=True)
    passed = exclusions[["model", "track_id", "passed"]]
    merged = verdicts.merge(passed, on=["model", "track_id"], how="left")
    if merged["passed"].isna().any():
        missing = merged[merged["passed"].isna()][["model", "track_id"]].drop_duplicates()
        raise ParameterError(f"no learned-rule verdict for {len(missing)} (model, clip) pairs, e.g. "
                             f"{missing.head(3).values.tolist()}.")
    merged["passed"] = merged["passed"].astype(bool)
    return merged[KEYS + ["explainer", "ranking", "hit", "truth_score", "distractor_alarm", "credit_share",
                          "passed"]]


def _model_seed(name: str) -> str:
    return name.rsplit("_", 1)[-1]


def metrics_table(verdicts: pd.DataFrame, costs: pd.DataFrame, *, suite: dict, expected=None) -> pd.DataFrame:
    """The registered metrics per task, head, stem source, explainer and ranking.

    Parameters
    ----------
    verdicts : pandas.DataFrame
        :func:`clip_verdicts`.
    costs : pandas.DataFrame
        ``task, head, role, model, track_id, source, explainer, model_calls, wall_seconds, k_components``.
    suite : dict
    expected : pandas.DataFrame, optional
        ``task, head, role, model, track_id, source``: every explanation the plan calls for; the ones
        without verdicts are counted in ``n_missing`` (failed or unfinished units).

    Returns
    -------
    pandas.DataFrame
        One row per (task, head, source, explainer, ranking): ``hit_*``, ``false_alarm_*``,
        ``distractor_alarm_*`` (rate, Wilson lo/hi, k, n), ``auc``, ``credit_share_task`` /
        ``credit_share_control`` (medians), ``chance_rate``, ``k_components``, ``n_scored``, ``n_excluded``,
        ``n_control_scored``, ``n_control_excluded``, ``n_missing``, ``model_calls_per_clip`` and
        ``wall_seconds_per_clip`` (medians over the explanations), ``hits_by_seed``, ``primary``, and
        ``reconstruction_gap``: the median over explanations of ``|f(mix) - f(sum of stems)|`` (valence
        units; 0 for oracle stems, which sum to the mix).
    """
    level = float(suite["intervals"]["level"])
    rows = []
    for task, spec in suite["tasks"].items():
        n_truth = len(spec["truth"])
        for head in spec["heads"]:
            for source in suite["stems"]["sources"]:
                here = verdicts[(verdicts["task"] == task) & (verdicts["head"] == head)
                                & (verdicts["source"] == source)]
                cost = costs[(costs["task"] == task) & (costs["head"] == head) & (costs["source"] == source)]
                ks = sorted(set(cost["k_components"].astype(int)))
                k = ks[0] if len(ks) == 1 else float("nan")
                whole = cost[cost["explainer"] == "all"]
                gap = (float((whole["f_all"] - whole["f_stems_only"]).abs().median())
                       if "f_stems_only" in whole and len(whole) else np.nan)
                n_missing = 0
                if expected is not None:
                    exp = expected[(expected["task"] == task) & (expected["head"] == head)
                                   & (expected["source"] == source)]
                    have = here[KEYS].drop_duplicates()
                    n_missing = len(exp.merge(have, on=KEYS, how="left", indicator=True)
                                    .query("_merge == 'left_only'"))
                for explainer in suite["explainers"]["names"]:
                    stored = stored_explainer(explainer)
                    mine = here[here["explainer"] == stored]
                    c = cost[cost["explainer"] == stored]
                    for ranking in suite["detection"]["rankings"]:
                        v = mine[mine["ranking"] == ranking]
                        t = v[(v["role"] == "task")]
                        ctl = v[(v["role"] == "control")]
                        ts, cs = t[t["passed"]], ctl[ctl["passed"]]
                        row = {"task": task, "head": head, "source": source, "explainer": explainer,
                               "ranking": ranking, "primary": ranking == primary_ranking(explainer)}
                        row.update(rate_row("hit", ts["hit"], level=level))
                        row.update(rate_row("false_alarm", cs["hit"], level=level))
                        if spec.get("distractors"):
                            row.update(rate_row("distractor_alarm", ts["distractor_alarm"], level=level))
                        row["auc"] = auc(ts["truth_score"], cs["truth_score"])
                        shared = n_truth > 1
                        row["credit_share_task"] = float(ts["credit_share"].median()) if shared else np.nan
                        row["credit_share_control"] = float(cs["credit_share"].median()) if shared else np.nan
                        row["chance_rate"] = chance_rate(k, n_truth) if k == k else np.nan
                        row["reconstruction_gap"] = gap
                        row["k_components"] = k
                        row.update(n_scored=len(ts), n_excluded=int((~t["passed"]).sum()),
                                   n_control_scored=len(cs), n_control_excluded=int((~ctl["passed"]).sum()),
                                   n_missing=n_missing)
                        row["model_calls_per_clip"] = float(c["model_calls"].median()) if len(c) else np.nan
                        row["wall_seconds_per_clip"] = float(c["wall_seconds"].median()) if len(c) else np.nan
                        by_seed = ts.assign(s=ts["model"].map(_model_seed)).groupby("s")["hit"]
                        row["hits_by_seed"] = "; ".join(f"{s} {int(g.sum())}/{len(g)}" for s, g in by_seed)
                        rows.append(row)
    return pd.DataFrame(rows)


def seed_table(attributions: pd.DataFrame, *, suite: dict, exclusions: pd.DataFrame) -> pd.DataFrame:
    """Hit rate of seed-dependent explainers per estimator seed (stability; seed 0 is the scored one).

    Returns
    -------
    pandas.DataFrame
        ``task, head, source, explainer, ranking, seed, hits, n`` for the stored explainers with more than one
        seed in some task (sampled Shapley; LIME where its masks are sampled).
    """
    passed = exclusions[["model", "track_id", "passed"]]
    out = []
    for task, spec in suite["tasks"].items():
        sub = attributions[attributions["task"] == task]
        multi = sub.groupby("explainer")["seed"].nunique()
        for explainer in multi[multi > 1].index:
            for seed, group in sub[sub["explainer"] == explainer].groupby("seed"):
                d = clip_detections(group, list(spec["truth"]), keys=KEYS)
                d = d.merge(passed, on=["model", "track_id"])
                d = d[(d["role"] == "task") & d["passed"].astype(bool)]
                for (head, source, ranking), g in d.groupby(["head", "source", "ranking"]):
                    out.append({"task": task, "head": head, "source": source, "explainer": explainer,
                                "ranking": ranking, "seed": int(seed), "hits": int(g["hit"].sum()),
                                "n": len(g)})
    return pd.DataFrame(out, columns=["task", "head", "source", "explainer", "ranking", "seed", "hits", "n"])


def _cell(rate, lo, hi, k, n) -> str:
    if not n:
        return "n/a (0 scored)"
    return f"{rate:.2f} [{lo:.2f}, {hi:.2f}] ({int(k)}/{int(n)})"


def headline_matrix(metrics: pd.DataFrame, *, source: str, primary_only: bool = True,
                    ranking: str | None = None) -> pd.DataFrame:
    """Explainer x (task, head) hit rates with Wilson intervals (strings), for one stem source.

    ``primary_only``: each explainer under its cited ranking (signed; ``lime_abs``: abs); else ``ranking``.
    """
    m = metrics[metrics["source"] == source]
    m = m[m["primary"]] if primary_only else m[m["ranking"] == ranking]
    m = m.assign(column=m["task"] + " / " + m["head"],
                 cell=[_cell(*r) for r in m[["hit_rate", "hit_lo", "hit_hi", "hit_k", "hit_n"]].itertuples(
                     index=False)])
    order = list(dict.fromkeys(m["column"]))
    table = m.pivot(index="explainer", columns="column", values="cell")[order]
    return table.reindex([e for e in SUITE_EXPLAINERS if e in table.index])


def _md(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_markdown(index=index)


def _phases_text(phases: list) -> str:
    if len(phases) < 2:
        return ""
    parts = [f"{p['units']} units in {p['wall_seconds']:.0f} s from {p['started']} UTC" for p in phases]
    return f" in {len(phases)} phases ({', '.join(parts)})"


def summary_markdown(metrics: pd.DataFrame, *, manifest: dict, analysis: pd.DataFrame | None = None,
                     seeds: pd.DataFrame | None = None) -> str:
    """The summary page: headline matrices (both sources), per-task detail, costs, chance rates, notes."""
    lines = [f"# Benchmark {manifest['benchmark']}: explainers x planted truths", ""]
    status = manifest.get("status", "complete")
    if status != "complete":
        lines += [f"**Status: {status}.** {manifest.get('status_note', '')}", ""]
    if manifest.get("preset") == "quick":
        lines += ["**Quick preset** (the demo): the seed-0 models of two tasks on a few scored clips, to show "
                  "the pipeline end to end. These numbers are not the benchmark's; cite the full run "
                  "(evaluation/results/synthetic-v2).", ""]
    lines += [
        f"Pre-registration: `{manifest['suite']}` (sha256 `{manifest['suite_sha256']}`), run once on the "
        f"test split. Units computed at commit {', '.join(f'`{c}`' for c in manifest.get('run_commits', []))}"
        f"; tables written at `{manifest.get('git_commit')}`. "
        f"{'Quick-preset' if manifest.get('preset') == 'quick' else 'Full'} run wall time: "
        f"{manifest.get('wall_seconds', float('nan')):.0f} s"
        + _phases_text(manifest.get("phases") or [])
        + f" on {manifest.get('machine', {}).get('cpus')} shared CPU cores (see the manifest for the "
        "load).", "",
        "Cells: hit rate [Wilson 95 % interval] (hits / scored (model, clip) pairs, pooled over "
        f"{'one training seed' if manifest.get('preset') == 'quick' else 'three training seeds'}; "
        "the pairs share clips across seeds). Every explainer is listed under its cited "
        "ranking: signed (the pre-registered primary), and `lime_abs` under |a|. A tie at the top is no "
        "detection. Chance: the hit probability of a uniformly random ranking, 1/K (single truth) or "
        "1/C(K, 2) (shared truth).", ""]
    for source in ("oracle", "estimated"):
        if not (metrics["source"] == source).any():
            continue
        lines += [f"## Hit rate, {source} stems", "", _md(headline_matrix(metrics, source=source)), ""]
        chance = (metrics[(metrics["source"] == source) & (metrics["explainer"] == "random")]
                  .drop_duplicates(["task", "head"]))
        lines += ["Chance rates (random ranking): " + ", ".join(
            f"{r.task}/{r.head} {r.chance_rate:.3f} (K = {r.k_components:g})"
            for r in chance.itertuples()), ""]
    lines += ["## Leave-one-out by its own numbers", ""]
    loo = metrics[(metrics["explainer"] == "leave_one_out") & metrics["primary"]]
    for r in loo.itertuples():
        verdict = ("misses the truth on most scored clips" if r.hit_n and r.hit_rate < 0.5
                   else "finds the truth on most scored clips" if r.hit_n else "no scored clips")
        cell = _cell(r.hit_rate, r.hit_lo, r.hit_hi, r.hit_k, r.hit_n)
        lines.append(f"- {r.task} / {r.head}, {r.source}: {cell} -- {verdict}.")
    lines += ["", "## Every metric, per task (primary ranking)", ""]
    cols = ["explainer", "hit", "false_alarm", "auc", "credit_share_task", "credit_share_control",
            "model_calls_per_clip", "wall_seconds_per_clip", "hits_by_seed"]
    def cells(m, prefix):
        cols = [f"{prefix}_{x}" for x in ("rate", "lo", "hi", "k", "n")]
        return [_cell(*r) for r in m[cols].itertuples(index=False)]

    primary = metrics[metrics["primary"]]
    for (task, head, source), m in primary.groupby(["task", "head", "source"], sort=False):
        t = m.assign(hit=cells(m, "hit"), false_alarm=cells(m, "false_alarm"))
        show = list(cols)
        if "distractor_alarm_rate" in m and m["distractor_alarm_n"].notna().all():
            t = t.assign(distractor_alarm=cells(m, "distractor_alarm"))
            show.insert(3, "distractor_alarm")
        if not m["credit_share_task"].notna().any():
            show = [c for c in show if not c.startswith("credit_share")]
        first = m.iloc[0]
        lines += [f"### {task} / {head}, {source} stems", "",
                  f"Scored task pairs {int(first.n_scored)} (excluded {int(first.n_excluded)}), "
                  f"control pairs {int(first.n_control_scored)} (excluded {int(first.n_control_excluded)}), "
                  "missing "
                  f"{int(first.n_missing)}; K = {first.k_components:g}; chance {first.chance_rate:.3f}; "
                  f"median reconstruction gap |f(mix) - f(sum of stems)| {first.reconstruction_gap:.4f}.", "",
                  _md(t[show].round(3), index=False), ""]
        if first.n_excluded > first.n_scored:
            lines[-2:-2] = ["**Most task pairs are excluded**: the task models do not follow the planted "
                            "rule on most scored clips (learned-rule check), so these rates rest on few "
                            "pairs.", ""]
    lines += ["## Secondary ranking |a| (every explainer)", ""]
    for source in ("oracle", "estimated"):
        if (metrics["source"] == source).any():
            lines += [f"### {source} stems", "",
                      _md(headline_matrix(metrics, source=source, primary_only=False, ranking="abs")), ""]
    if seeds is not None and len(seeds):
        s = seeds[seeds["ranking"] == "signed"]
        piv = s.assign(cell=s["hits"].astype(str) + "/" + s["n"].astype(str)).pivot_table(
            index=["task", "head", "source", "explainer"], columns="seed", values="cell", aggfunc="first")
        lines += ["## Seed stability (signed ranking; hits per estimator seed, seed 0 scored)", "",
                  _md(piv), ""]
    if analysis is not None and len(analysis):
        lines += ["## The SMC-2021 bias analysis on the shortcut task", "",
                  "Signed valence error (prediction - label, valence units) of biased vs clean models on "
                  "test clips with and without vocals; for A2Mid2E the mid-level effects "
                  "std_valence W[valence, j] m_j on the clips with vocals (valence units); and the "
                  "exact-Shapley stem attributions of valence behind them (valence units, scored clips). "
                  "Means over clips and the three seeds.", "",
                  _md(analysis.round(3), index=False), ""]
    return "\n".join(lines) + "\n"
