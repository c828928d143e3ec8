"""``mer-audiolime explain``: explain one audio file and write tidy results plus listenable audio."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..exceptions import ParameterError

EXAMPLE = """examples:
  mer-audiolime explain song.wav --model mypkg.models:factory --out out/
  mer-audiolime explain song.wav --model my_model.py:build --separator umxl --segments 10 --num-samples 2000 \\
      --seed 1 --targets valence,arousal --top-k 3 --out out/
  mer-audiolime explain song.wav --model my_model.py:build --stems stems_dir/ --out out/   # oracle stems
  mer-audiolime explain synth/tracks/synth0003/mix.wav --model mer_audiolime.models.zoo:a2mid2e_synth_clean \
      --separator umx-synth --out out/   # estimated stems on synthetic-benchmark audio
  mer-audiolime explain song.wav --model my_model.py:build --separator tf-grid --segments 8 --out out/
  mer-audiolime explain song.wav --model my_model.py:build --stems stems_dir/ --out out/ --html   # + report
  mer-audiolime explain song.mp3 --model a2mid2e_synth_clean --separator tf-grid --offset 60 --duration 30 \
      --segments 6 --out out/ --html                 # a zoo model on a 30-s excerpt

writes: out/attributions.csv (tidy: target, component, weight, rank, ...), out/predictions.csv,
        out/midlevel_effects.csv (models with a linear emotion head), out/explanation.json (settings, seed,
        R^2, reconstruction gap, timings) and out/audio/ (mix, top-k components and their sum per target);
        with --html also out/report.html (a self-contained page to listen to it all; docs/report.md)."""


def register(subparsers) -> None:
    from .samplers import SAMPLERS  # numpy only

    p = subparsers.add_parser(
        "explain",
        help="explain a model's prediction on one audio file (stems x segments, audioLIME)",
        description="Explain a model's prediction on one audio file in terms of listenable components: "
        "separated stems (open-unmix or oracle) x time segments, or a time x frequency grid.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", help="audio file (anything soundfile or librosa can read)")
    p.add_argument("--model", required=True,
                   help="a zoo model name (mer-audiolime models list), a checkpoint .pt written by `train`, "
                        "or 'package.module:factory' / 'path/to/file.py:factory' (the factory returns a "
                        "Predictor, a torch.nn.Module with sample_rate/output_names attributes, or a "
                        "callable)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--offset", type=float, default=0.0, metavar="SECONDS",
                   help="explain an excerpt starting this many seconds into the file (default 0)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="length of the excerpt in seconds (default: to the end); only the excerpt is decoded")
    p.add_argument("--separator", default=None,
                   help="'umxhq' (default), 'umxl', 'umx', 'umx-synth' (shipped, trained on the synthetic "
                        "benchmark's stems), a local open-unmix model directory, or 'tf-grid' "
                        "(no separation: time x frequency cells)")
    p.add_argument("--no-pretrained", action="store_true",
                   help="open-unmix with random weights (for testing the pipeline offline; stems are meaningless)")
    p.add_argument("--stems", default=None,
                   help="directory of oracle stems <name>.wav matching the audio (instead of a separator)")
    p.add_argument("--segments", type=int, default=1, help="number of equal time segments per stem (default 1)")
    p.add_argument("--segment-seconds", type=float, default=None,
                   help="fixed segment length in seconds (instead of --segments)")
    p.add_argument("--no-residual", action="store_true",
                   help="do not add the residual component mix - sum(stems)")
    p.add_argument("--num-samples", type=int, default=1000,
                   help="budget N of model evaluations; all 2^K coalitions are used when 2^K <= N, each "
                        "counting N/2^K times in LIME (default 1000)")
    p.add_argument("--estimator", choices=("lime", "shapley", "occlusion"), default="lime",
                   help="lime (audioLIME, default), shapley (exact when enumerated, else a seeded "
                        "permutation estimate within N), or occlusion (K+1 masks)")
    p.add_argument("--occlusion", choices=("leave_one_out", "add_one_in"), default="leave_one_out",
                   help="occlusion effect: f(all) - f(all - k) or f({k}) - f(none) (default leave_one_out)")
    p.add_argument("--enumeration", choices=("expected", "plain"), default="expected",
                   help="enumerated LIME: each coalition counts N/2^K times, what sampled LIME converges to "
                        "(expected, default), or once, audioLIME's exhaustive mode (plain)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the masks (default 0)")
    p.add_argument("--sampler", choices=SAMPLERS, default="uniform",
                   help="design of the sampled masks: 'uniform' (audioLIME's i.i.d. masks, default), "
                        "'paired' or 'orthogonal' (the same answer with fewer samples; docs/explain.md)")
    p.add_argument("--batch-size", type=int, default=16, help="perturbed inputs per model call (default 16)")
    p.add_argument("--kernel-width", type=float, default=0.25, help="LIME kernel width (default 0.25)")
    p.add_argument("--alpha", type=float, default=1.0, help="ridge penalty of the surrogate (default 1.0)")
    p.add_argument("--targets", default=None, help="comma-separated outputs to explain (default: all)")
    p.add_argument("--mode", choices=("regression", "classification"), default="regression",
                   help="classification expects class probabilities as outputs (default regression)")
    p.add_argument("--top-k", type=int, default=3, help="components exported as audio per target (default 3)")
    p.add_argument("--n-bands", type=int, default=4, help="frequency bands for --separator tf-grid (default 4)")
    p.add_argument("--cache-dir", default=None,
                   help="separation cache directory (default $MER_AUDIOLIME_CACHE or ~/.cache/mer_audiolime)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--html", action="store_true",
                   help="also write out/report.html: one self-contained page to listen to the explanation")
    p.set_defaults(func=run)


def _read_stems(folder: str) -> tuple[dict, int]:
    from ..audio import load_audio

    path = Path(folder)
    if not path.is_dir():
        raise ParameterError(f"--stems {folder!r} is not a directory of <stem>.wav files.")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg"))
    if not files:
        raise ParameterError(f"--stems {folder!r} holds no .wav/.flac/.ogg files.")
    stems, rate = {}, None
    for f in files:
        y, sr = load_audio(f)
        if rate is not None and sr != rate:
            raise ParameterError(f"stem {f.name} has {sr} Hz but the others {rate} Hz; use one rate.")
        stems[f.stem], rate = y, sr
    return stems, rate


def run(args) -> int:
    from .lime_audio import explain
    from .separation import OpenUnmixSeparator

    stems = stems_sr = None
    if args.stems:
        stems, stems_sr = _read_stems(args.stems)
    separator = args.separator
    if args.no_pretrained:
        separator = OpenUnmixSeparator(separator or "umxhq", pretrained=False, show_progress=not args.no_progress)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    exp = explain(
        args.audio, model=args.model, separator=separator, stems=stems, stems_sr=stems_sr,
        segments=args.segments, segment_seconds=args.segment_seconds, residual=not args.no_residual,
        num_samples=args.num_samples, seed=args.seed, sampler=args.sampler, batch_size=args.batch_size,
        kernel_width=args.kernel_width, alpha=args.alpha, targets=targets, mode=args.mode,
        estimator=args.estimator, occlusion=args.occlusion, enumeration=args.enumeration,
        n_bands=args.n_bands, cache_dir=args.cache_dir, show_progress=not args.no_progress,
        offset=args.offset, duration=args.duration,
    )
    out = write_explanation(exp, args.out, top_k=args.top_k)
    if args.html:
        from ..report import write_explanation_html

        write_explanation_html(exp, out / "report.html", top_k=args.top_k)
    frame = exp.to_frame()
    best = frame[frame["rank"] == 1][["target", "component", "weight", "score", "source"]]
    print(best.to_string(index=False))
    print(f"wrote {out}")
    return 0


def write_explanation(exp, out_dir, *, top_k: int = 3) -> Path:
    """Write an explanation's tables, settings and audio into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exp.to_frame().to_csv(out / "attributions.csv", index=False)
    exp.predictions.to_frame().to_csv(out / "predictions.csv", index_label="output")
    if exp.midlevel_effects is not None:
        exp.midlevel_effects.to_csv(out / "midlevel_effects.csv", index_label="emotion")
    meta = {
        "settings": exp.settings,
        "predictions": exp.predictions.to_dict(),
        "reconstruction_gap": exp.reconstruction_gap.to_dict(),
        # NaN (occlusion's score on its own masks is undefined) becomes null: valid JSON
        "scores": {t: (a.score if math.isfinite(a.score) else None)
                   for t, a in ((t, exp.attribution(t)) for t in exp.targets)},
        "sources": {t: exp.default_source(t) for t in exp.targets},
        "components": exp.components.names,
        "timings": exp.timings,
    }
    (out / "explanation.json").write_text(json.dumps(meta, indent=2, default=str))
    exp.export_audio(out / "audio", top_k=top_k)
    return out
