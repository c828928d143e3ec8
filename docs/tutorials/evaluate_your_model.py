"""Tutorial 2 — evaluate the explanations of your own model with the harness.

What you learn
--------------
1. how to hand your model to the harness as a ``module:factory`` string (here the file
   ``docs/tutorials/my_model.py`` and its factory ``build``: a tiny torch CNN with a mid-level -> emotion
   head);
2. how to write a **suite** (a TOML file: which tracks, explanation settings, metric options);
3. how to run :func:`mer_audiolime.evaluation.evaluate` (or the CLI ``mer-audiolime evaluate``) on a small
   synthetic set, and what lands in the output folder;
4. how to read the **tidy rows** (one measured number per row) and the **summary** (mean ± sd over tracks),
   and that rerunning into the same folder resumes instead of recomputing.

Run it
------
::

    python docs/tutorials/evaluate_your_model.py                       # generates 20 clips x 3 s first
    python docs/tutorials/evaluate_your_model.py --data-home synth/    # an existing synthetic set

The same evaluation from the command line (``--suite`` takes a suite name or a TOML path)::

    mer-audiolime datasets synth --out synth --n 20 --duration 3 --seed 0
    mer-audiolime evaluate --model docs/tutorials/my_model.py:build --dataset synthetic \\
        --data-home synth --version clean --suite tutorial_suite.toml --out results/my_model

Why the synthetic set: its stems are exact (oracle separation, no open-unmix weights needed) and its truth is
known, so every metric is defined. Any registered dataset works the same way with ``--dataset`` and a
separator. The harness explains each clip's 5 stems x 1 segment (2**5 = 32 coalitions, enumerated exactly)
and measures fidelity (surrogate R², deletion/insertion AOPC against random orders, faithfulness
correlation, relative infidelity) and the convergence of LIME with N; stability over seeds (top-k Jaccard,
Kendall tau, VSI/CSI) only varies where the masks are sampled, so it is measured on 5 stems x 2 segments
(2**10 > N). Definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from mer_audiolime.datasets import synthetic
from mer_audiolime.evaluation import evaluate
from mer_audiolime.evaluation.results import summarise

HERE = Path(__file__).resolve().parent
MODEL_SPEC = f"{HERE / 'my_model.py'}:build"   # path/to/file.py:factory (a module:factory string also works)

SUITE = """\
# A small suite for the tutorial; keys not named here keep their defaults (mer_audiolime/evaluation/suites/standard.toml).
name = "tutorial"
version = "1"
description = "Tutorial 2: few test clips, two seeds."

[tracks]
split = "test"       # "all" for every track
limit = {limit}      # 0 = no limit

[explain]
segments = 1         # 5 stems x 1 segment = 5 components
num_samples = {num_samples}
kernel_width = 0.25  # audioLIME's defaults
alpha = 1.0
batch_size = 16
seeds = {seeds}      # the first seed explains; all seeds are compared where the masks are sampled

[fidelity]
random_orders = 10
faithfulness_subsets = 32

[stability]
top_k = 2
segments = 2         # stability over seeds on 5 stems x 2 segments: 2**10 > N, the masks are sampled
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-home", default=None, help="an existing synthetic set (default: generate one)")
    parser.add_argument("--work-dir", default=None, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--out", default=None, help="results folder (default: <work-dir>/results)")
    parser.add_argument("--model", default=MODEL_SPEC, help="module:factory or path/file.py:factory")
    parser.add_argument("--n", type=int, default=20, help="clips to generate (default 20)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per clip (default 3)")
    parser.add_argument("--limit", type=int, default=4, help="test clips to evaluate (0 = all; default 4)")
    parser.add_argument("--num-samples", type=int, default=64, help="LIME samples per clip (default 64)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per clip (default 2)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    return parser.parse_args(argv)


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def main(argv=None) -> dict:
    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="mer_tutorial2_"))
    work.mkdir(parents=True, exist_ok=True)

    # 1. Data: a small clean synthetic set (or yours). Only the test split is evaluated by the suite.
    if args.data_home is None:
        data_home = work / "synth"
        if not (data_home / "settings.json").is_file():
            synthetic.generate(data_home, n=args.n, seed=0, duration=args.duration, variant="both", n_jobs=1,
                               progress=False)
    else:
        data_home = Path(args.data_home)

    # 2. The suite, written as a TOML file so the same file can be passed to the CLI's --suite.
    suite_path = work / "tutorial_suite.toml"
    seeds = list(range(args.seeds))
    suite_path.write_text(SUITE.format(limit=args.limit, num_samples=args.num_samples, seeds=seeds),
                          encoding="utf-8")

    # 3. Run. The model travels as a string so worker processes (jobs > 1, dask) can build it themselves.
    #    Each finished track is written at once to <out>/tracks/<track_id>.csv; a failing track goes to
    #    <out>/failures/ and the run continues.
    section("evaluate")
    out = Path(args.out) if args.out else work / "results"
    print(f"mer-audiolime evaluate --model {args.model} --dataset synthetic --data-home {data_home} "
          f"--version clean --suite {suite_path} --out {out}")
    run = evaluate(args.model, dataset="synthetic", data_home=data_home, version="clean", suite=suite_path,
                   out_dir=out, jobs=args.jobs, progress=False)
    print(f"{len(run.computed)} tracks computed, {len(run.reused)} reused, {len(run.failures)} failed")
    print("files:", sorted(str(p.relative_to(out)) for p in out.iterdir()))

    # 4. The tidy rows: track_id, model, target, metric, value, component, step, seed, num_samples,
    #    k_components, suite, version, source (the attribution a row measures: "chain:lime" for the emotions
    #    of this model, "lime" for its mid-level outputs). Filter and pivot them with pandas.
    rows = run.rows
    section("tidy rows")
    print(rows.head(3).to_string(index=False))
    print("metrics:", sorted(rows["metric"].unique()))

    # predictions next to the annotations (this untrained model's errors are large — it is a stand-in)
    pred = rows[rows["metric"].isin(["prediction", "truth"]) & rows["target"].isin(["valence", "arousal"])]
    table = pred.pivot_table(index=["track_id", "target"], columns="metric", values="value")
    print(table.round(3).to_string())

    # stem attributions of valence through the chain (emotion <- mid-level <- stems), first seed
    w = rows[(rows["metric"] == "weight") & (rows["target"] == "valence") & (rows["seed"] == seeds[0])
             & (rows["source"] == "chain:lime")]
    print("valence attribution per stem (first seed):")
    print(w.pivot_table(index="track_id", columns="component", values="value").round(4).to_string())

    # 5. The summary: mean, sd and count over tracks per (model, target, source, metric); summary.md holds
    #    the headline metrics as a table (summary.tex the same for papers), manifest.json every setting.
    section("summary")
    summary = summarise(rows)
    headline = summary[summary["metric"].isin(["surrogate_r2", "faithfulness_correlation",
                                               "norm_abc_minus_random", "kendall_tau"])
                       & summary["target"].isin(["valence", "arousal"])]
    print(headline.round(3).to_string(index=False))
    table = (out / "summary.md").read_text(encoding="utf-8").splitlines()
    print("summary.md (first rows):")
    print("\n".join(line[:140] for line in table[:8]))

    # 6. Resume: the same call into the same folder reads the finished tracks back (nothing recomputed).
    #    write_reports=False skips rewriting the tables and figures (the figures are the slow part here).
    again = evaluate(args.model, dataset="synthetic", data_home=data_home, version="clean", suite=suite_path,
                     out_dir=out, jobs=args.jobs, progress=False, write_reports=False)
    print(f"\nrerun: {len(again.computed)} computed, {len(again.reused)} reused; identical rows: "
          f"{again.rows.equals(rows)}")
    return {"out": out, "rows": rows, "summary": summary, "rerun": again,
            "results": pd.read_csv(out / "results.csv")}


if __name__ == "__main__":
    main()
