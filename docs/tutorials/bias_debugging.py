"""Tutorial 3 — debug a biased emotion model: subgroup error -> mid-level effects -> stems.

This reproduces the analysis of Chowdhury, Praher & Widmer (SMC 2021) on data whose bias is known. In the
paper a model trained on DEAM over-estimated the valence of PMEmo's hip-hop songs; its mid-level effects
pointed at rhythm stability and audioLIME's stem attributions at the vocals. Here the **planted-bias
synthetic set** plays that role: in its ``biased`` version every *training and validation* clip with vocals has its valence
raised by 0.6, although vocals carry nothing that the true valence depends on. A model trained on it can learn
the shortcut "vocals -> higher valence", and the three steps below should expose it:

1. **Subgroup error.** Predict valence on held-out clips (whose labels are clean) and compare the signed error
   of clips *with* vocals against those *without*
   (:class:`~mer_audiolime.evaluation.metrics.SubgroupError`: Mann-Whitney U + Benjamini-Hochberg;
   :class:`~mer_audiolime.evaluation.metrics.SubgroupErrorShare`: the subgroup's share per error quantile,
   the paper's hip-hop figure). A biased model over-estimates the vocal clips.
2. **Mid-level effects.** For a model whose emotions are a bias-free linear map of the 7 mid-level
   predictions, the effect of feature j on valence is ``W[valence, j] * m_j``. Comparing the effect profiles
   of the two subgroups (:class:`~mer_audiolime.evaluation.metrics.SubgroupEffectProfile`) shows *through
   which perceptual qualities* the extra valence flows (in the synthetic set valence truly depends on rhythm
   complexity/stability, dissonance, tonal stability and minorness, never on the vocal qualities).
3. **Stems.** audioLIME explains valence in terms of the 5 exact stems (the chain emotion <- mid-level <-
   stems); :class:`~mer_audiolime.evaluation.metrics.SubgroupTopStems` counts which stem is the top
   contributor per subgroup and tests each stem's attribution. For a biased model ``vocals`` should stand out
   in the clips with vocals — the listenable evidence: the script exports the top components of the most
   over-estimated vocal clip as WAV files.

The model
---------
``--model auto`` (default) uses the shipped zoo model ``a2mid2e_synth_biased`` (A2Mid2E, trained on the
planted-bias benchmark ``synthetic-v1``: 200 clips x 10 s, seed 0) when it is installed; then the data are the
same benchmark set (the benchmark's cached copy, generated on first use), so the evaluated clips are really
held out. Otherwise (or with ``--model train``) the
script trains a small A2Mid2E model on the biased training split with the project's training function
(:func:`mer_audiolime.models.training.train`). Tiny settings (the test suite runs ``--n 40 --duration 3
--epochs 1``) only exercise the code: such a model has learnt nothing, and the numbers are noise. A
``module:factory`` string or a checkpoint ``.pt`` also works.

Run it
------
::

    python docs/tutorials/bias_debugging.py                            # zoo model if installed
    python docs/tutorials/bias_debugging.py --model train --n 200 --duration 10 --epochs 60

The same functions (:func:`explain_clips`, :func:`analyse`) run the paper's analysis on real data; the recipe
for DEAM -> PMEmo is in ``docs/tutorials/bias_debugging.md``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from mer_audiolime import datasets
from mer_audiolime.evaluation.metrics import (
    SubgroupEffectProfile,
    SubgroupError,
    SubgroupErrorShare,
    SubgroupTopStems,
    effect_frame,
    stem_frame,
)
from mer_audiolime.explain import explain

ZOO_MODEL = "a2mid2e_synth_biased"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="auto",
                        help="auto (zoo model if installed, else train), zoo, train, module:factory or .pt")
    parser.add_argument("--data-home", default=None,
                        help="a synthetic set with both versions (default: generate one)")
    parser.add_argument("--work-dir", default=None, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--n", type=int, default=80, help="clips to generate when training here (default 80)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per generated clip (default 5)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs when training here (default 20)")
    parser.add_argument("--splits", default="validation,test",
                        help="held-out splits to analyse (their labels are clean; default validation,test)")
    parser.add_argument("--num-samples", type=int, default=64, help="LIME samples per clip (default 64)")
    parser.add_argument("--min-size", type=int, default=3, help="smallest subgroup tested (default 3)")
    parser.add_argument("--quantiles", type=int, default=4, help="error quantiles (default 4)")
    return parser.parse_args(argv)


def section(title: str) -> None:
    print(f"\n=== {title} ===")


# ----------------------------------------------------------------------------------------------------------
# Step 0: data and model
# ----------------------------------------------------------------------------------------------------------
def zoo_available() -> bool:
    from mer_audiolime.models.zoo import list_models

    return ZOO_MODEL in list_models()


def ensure_synthetic(home: Path, *, n: int, duration: float) -> Path:
    """Generate both versions of the synthetic set into ``home`` unless it already holds one."""
    from mer_audiolime.datasets.synthetic import generate

    if not (home / "synthetic_index_biased.json").is_file():
        generate(home, n=n, seed=0, duration=duration, variant="both", n_jobs=1, progress=False)
    return home


def train_biased_model(home: Path, *, epochs: int, clip_seconds: float, out_dir: Path):
    """Train a small A2Mid2E model on the *biased* training split (early stopping on the validation split).

    Returns the predictor and the target scaling of its card (the model predicts z-scores).
    """
    from mer_audiolime.datasets import TrackDataset
    from mer_audiolime.datasets.synthetic import EMOTIONS, MIDLEVEL
    from mer_audiolime.models import to_predictor
    from mer_audiolime.models.training import train

    ds = datasets.load("synthetic", data_home=home, version="biased")
    ids = {s: [t for t in ds.track_ids if ds.track(t).split == s] for s in ("train", "validation")}
    # items are (audio (1, L), targets (9,)): the 7 mid-level values first, then valence and arousal
    kw = dict(targets=list(MIDLEVEL) + list(EMOTIONS), sample_rate=22050, clip_seconds=clip_seconds,
              crop="start")
    result = train(TrackDataset(ds, track_ids=ids["train"], **kw),
                   valid_set=TrackDataset(ds, track_ids=ids["validation"], **kw),
                   emotion_names=list(EMOTIONS), name="tutorial_biased", epochs=epochs, patience=epochs,
                   checkpoint_dir=out_dir, progress=False)
    print(f"trained for {len(result.history)} epochs in {result.seconds:.1f} s; "
          f"validation valence R² {result.card.metrics['valid']['valence']['r2']:.2f}")
    return to_predictor(result.model, name="tutorial_biased"), dict(result.card.target_scaling)


def get_model(args, work: Path):
    """(predictor, target_scaling, data_home) for ``--model``."""
    choice = args.model
    if choice == "auto":
        choice = "zoo" if zoo_available() else "train"
    if choice == "zoo":
        from mer_audiolime.datasets.synthetic import V1_GENERATE as GENERATE
        from mer_audiolime.evaluation.benchmark import default_data_home
        from mer_audiolime.models.zoo import pretrained_predictor

        # the zoo model's own data: the benchmark's cached copy (shared with `mer-audiolime benchmark`,
        # ~470 MB) unless --data-home says otherwise; generated on first use
        home = Path(args.data_home) if args.data_home else default_data_home()
        ensure_synthetic(home, n=GENERATE["n"], duration=GENERATE["duration"])
        predictor = pretrained_predictor(ZOO_MODEL, download=False)
        print(f"model: zoo {ZOO_MODEL} ({predictor.module.card.description})")
        return predictor, dict(predictor.module.card.target_scaling), home
    home = Path(args.data_home) if args.data_home else work / "synth"
    ensure_synthetic(home, n=args.n, duration=args.duration)
    if choice == "train":
        print(f"model: A2Mid2E trained here on the biased training split ({args.epochs} epochs)")
        biased = datasets.load("synthetic", data_home=home, version="biased")
        duration = biased.track(biased.track_ids[0]).audio[0].shape[-1] / 22050
        predictor, scaling = train_biased_model(home, epochs=args.epochs, clip_seconds=duration,
                                                out_dir=work / "model")
        return predictor, scaling, home
    from mer_audiolime.evaluation.runner import resolve_model

    predictor = resolve_model(choice)   # module:factory, file.py:factory or a checkpoint .pt
    return predictor, dict(getattr(predictor, "target_scaling", None) or {}), home


# ----------------------------------------------------------------------------------------------------------
# Step 1-3 building blocks (dataset-agnostic: the PMEmo recipe calls the same two functions)
# ----------------------------------------------------------------------------------------------------------
def explain_clips(ds, track_ids, predictor, *, group_of, truth_of, scaling=None, target="valence",
                  separator=None, segments=1, num_samples=64, seed=0):
    """Explain ``target`` on every clip and collect the three tidy frames the subgroup metrics read.

    Parameters
    ----------
    ds : mirdata Dataset
        Tracks with ``audio``; tracks with exact ``stems`` (the synthetic set) are explained with them,
        others are separated by ``separator`` (default open-unmix ``umxhq``).
    track_ids : list of str
    predictor : Predictor
        With a linear mid-level -> emotion head (``emotion_weights``) for the effect profiles.
    group_of, truth_of : callable
        ``track -> subgroup label`` and ``track -> annotated target`` (on the annotation scale).
    scaling : dict, optional
        The model card's ``target_scaling`` (``{target: {"mean", "std"}}``) to bring z-score predictions back
        to the annotation scale; or a callable ``prediction -> value on the annotation scale``.

    Returns
    -------
    clips : DataFrame
        ``track_id, group, prediction, truth`` (one row per clip).
    effects : DataFrame
        ``track_id, group, feature, effect`` (mid-level effects on ``target``).
    stems : DataFrame
        ``track_id, group, stem, weight`` (attribution of ``target`` per stem, segments summed).
    explanations : dict
        track_id -> Explanation (for listening: ``exp.export_audio(folder, top_k=3)``).
    """
    clips, effects, stems, explanations = [], [], [], {}
    for tid in track_ids:
        track = ds.track(tid)
        audio, sr = track.audio
        kwargs = dict(model=predictor, sr=int(sr), segments=segments, num_samples=num_samples, seed=seed,
                      targets=None, show_progress=False)
        oracle = getattr(track, "stems", None)
        if oracle is not None:
            kwargs.update(stems=oracle, stems_sr=int(sr))
        else:
            kwargs.update(separator=separator or "umxhq")
        exp = explain(np.asarray(audio), **kwargs)
        explanations[tid] = exp
        raw = float(exp.predictions[target])
        if callable(scaling):
            value = scaling(raw)
        elif scaling and target in scaling:
            value = raw * scaling[target]["std"] + scaling[target]["mean"]
        else:
            value = raw
        group = group_of(track)
        clips.append({"track_id": tid, "group": group, "prediction": value, "truth": truth_of(track)})
        effects.append(effect_frame(exp, emotion=target, track_id=tid, group=group))
        stems.append(stem_frame(exp, target=target, track_id=tid, group=group))
    return pd.DataFrame(clips), pd.concat(effects, ignore_index=True), pd.concat(stems, ignore_index=True), \
        explanations


def analyse(clips, effects, stems, *, min_size=5, n_quantiles=10, subgroup=None):
    """The paper's three steps as tidy frames: error, error share per quantile, effect profile, top stems."""
    return {
        "error": SubgroupError(min_size=min_size)(clips, group="group"),
        "error_share": SubgroupErrorShare(n_quantiles=n_quantiles)(
            clips, group="group", subgroups=None if subgroup is None else [subgroup]),
        "effects": SubgroupEffectProfile(min_size=min_size)(effects, group="group"),
        "stems": SubgroupTopStems(min_size=min_size)(stems, group="group"),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="mer_tutorial3_"))
    work.mkdir(parents=True, exist_ok=True)
    pd.set_option("display.width", 140)

    section("model")
    predictor, scaling, home = get_model(args, work)
    clean = datasets.load("synthetic", data_home=home, version="clean")   # held-out labels are clean
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    ids = [t for t in clean.track_ids if clean.track(t).split in splits]
    print(f"{len(ids)} held-out clips ({', '.join(splits)}) from {home}")

    section("explain every held-out clip (5 exact stems, the emotion <- mid-level <- stems chain)")
    clips, effects, stems, explanations = explain_clips(
        clean, ids, predictor, scaling=scaling, num_samples=args.num_samples,
        group_of=lambda t: "vocals" if t.vocals_present else "no vocals",
        truth_of=lambda t: t.valence)
    print(clips.assign(error=clips["prediction"] - clips["truth"]).round(3).head(8).to_string(index=False))

    result = analyse(clips, effects, stems, min_size=args.min_size, n_quantiles=args.quantiles,
                     subgroup="vocals")
    cols = ["subgroup", "n", "mean_error", "mean_error_rest", "auc", "p_value", "q_value"]

    section("1. subgroup error: is valence over-estimated for clips with vocals?")
    print(result["error"][cols].round(3).to_string(index=False))
    share = result["error_share"][["bin", "error_low", "error_high", "share", "overall_share", "enrichment"]]
    print("share of clips with vocals per error quantile (last bin = most over-estimated):")
    print(share.round(3).to_string(index=False))

    section("2. mid-level effects on valence: clips with vocals vs the rest")
    prof = result["effects"]
    prof = prof[prof["subgroup"] == "vocals"].assign(difference=lambda f: f["mean"] - f["mean_rest"])
    prof = prof.reindex(prof["difference"].abs().sort_values(ascending=False).index)
    show = ["feature", "mean", "mean_rest", "difference", "auc", "q_value"]
    print(prof[show].round(4).to_string(index=False))

    section("3. stems: which stem drives valence?")
    top = result["stems"]
    top = top[top["subgroup"] == "vocals"].sort_values("top_share", ascending=False)
    print(top[["stem", "top_count", "top_share", "mean", "mean_rest", "auc", "q_value"]].round(4)
          .to_string(index=False))

    # Listen: the top components of the most over-estimated clip with vocals, as WAV files.
    vocal = clips[clips["group"] == "vocals"]
    worst = vocal.loc[(vocal["prediction"] - vocal["truth"]).idxmax(), "track_id"] if len(vocal) else None
    if worst is not None:
        folder = work / "listen" / worst
        explanations[worst].export_audio(folder, top_k=2)
        print(f"\nlisten: {folder} (mix.wav, valence/rank01_*.wav, valence/top2_sum.wav ...)")

    section("reading the result")
    err = result["error"].set_index("subgroup")
    if "vocals" in err.index:
        row = err.loc["vocals"]
        print(f"mean valence error with vocals {row['mean_error']:+.3f} vs {row['mean_error_rest']:+.3f} "
              f"without (q = {row['q_value']:.3g}).")
    if len(prof):
        lead = prof.iloc[0]
        print(f"largest mid-level difference: {lead['feature']} ({lead['difference']:+.4f}).")
    if len(top):
        print(f"most frequent top stem for clips with vocals: {top.iloc[0]['stem']} "
              f"({top.iloc[0]['top_share']:.0%} of them).")
    return {"clips": clips, "effects": effects, "stems": stems, "analysis": result, "work": work,
            "scaling": scaling}


if __name__ == "__main__":
    main()
