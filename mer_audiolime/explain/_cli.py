"""``mer-audiolime explain``: explain one audio file and write tidy results plus listenable audio."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..exceptions import ParameterError

EXAMPLE = """examples:
  mer-audiolime explain song.wav --model mypkg.models:factory --out out/
  mer-audiolime explain song.wav --model my_model.py:build --separator umxl --segments 10 --num-samples 2000 \\
      --seed 1 --targets valence,arousal --top-k 3 --out out/
  mer-audiolime explain song.wav --model my_model.py:build --stems stems_dir/ --out out/   # oracle stems
  mer-audiolime explain synth/tracks/synth0003/mix.wav --model mer_audiolime.models.zoo:a2mid2e_synth_clean \
      --separator umx-synth --out out/   # estimated stems on synthetic-benchmark audio
  mer-audiolime explain mix.wav --model a2mid2e_synth_clean --stems track_dir/ \\
      --stem-names vocals,bass,drums --out out/    # a zoo model; only the named stem files are read
  mer-audiolime explain song.wav --model runs/mine/best.pt --separator umxhq --out out/    # a checkpoint
  mer-audiolime explain song.wav --model my_model.py:build --separator tf-grid --segments 8 --out out/
  mer-audiolime explain song.wav --model my_model.py:build --stems stems_dir/ --out out/ --html   # + report
  mer-audiolime explain song.mp3 --model a2mid2e_synth_clean --separator tf-grid --offset 60 --duration 30 \
      --segments 6 --out out/ --html                 # a zoo model on a 30-s excerpt

writes: out/attributions.csv (tidy: target, component, weight, rank, ...), out/predictions.csv,
        out/midlevel_effects.csv (models with a linear emotion head), out/explanation.json (settings, seed,
        R^2, reconstruction gap, timings, trust warnings) and out/audio/ (mix, top-k components and their sum
        per target); with --html also out/report.html (a self-contained page to listen to it all).
        A rerun into the same --out replaces this whole set (stale files of an earlier run are removed);
        other files in the folder are left alone. Trust warnings (e.g. more components than samples, silent
        components, a constant output, truncated audio, input outside a zoo model's training domain) are
        printed and stored in explanation.json."""


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
    p.add_argument("--stems", default=None, metavar="DIR",
                   help="folder of oracle stems matching the audio (instead of a separator): the files "
                        "named by --stem-names, or else every audio file in DIR except the explained file "
                        "itself and files called mix.* or mixture.*")
    p.add_argument("--stem-names", default=None, metavar="NAMES",
                   help="comma-separated stems to read from --stems DIR as <name>.wav/.flac/.ogg/.mp3 "
                        "(e.g. vocals,piano,bass,drums,other)")
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
                        "'paired', 'orthogonal', 'grouped' or 'grouped-adjusted' (the same answer with "
                        "fewer samples; docs/explain.md)")
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


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff")
#: File names (without extension) that hold a mixture, never a stem.
MIX_NAMES = ("mix", "mixture")


def read_stem_folder(folder, *, audio=None, names=None) -> tuple[dict, int]:
    """Read oracle stems from a folder.

    Parameters
    ----------
    folder : path
    audio : path, optional
        The file being explained: never read as a stem, even when it lies in ``folder``.
    names : sequence of str, optional
        Read exactly ``<name>.<ext>`` for each name (ext: wav, flac, ogg, mp3, aif, aiff). Without names,
        every audio file in the folder is a stem except ``audio`` and files called ``mix.*``/``mixture.*``.

    Returns
    -------
    stems : dict of str to np.ndarray (C, L)
    sr : int

    Raises
    ------
    ParameterError
        No such folder, a named stem missing or ambiguous, no stems, or stems at different rates.
    """
    from ..audio import load_audio

    path = Path(folder)
    if not path.is_dir():
        raise ParameterError(f"--stems {str(folder)!r} is not a folder of stem audio files.")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if names is not None:
        chosen = []
        for name in names:
            matches = [p for p in files if p.stem == name]
            if not matches:
                raise ParameterError(f"no stem file {name}.<wav|flac|ogg|mp3> in {str(folder)!r}; it holds "
                                     f"{[p.name for p in files] or 'no audio files'}.")
            if len(matches) > 1:
                raise ParameterError(f"stem {name!r} is ambiguous in {str(folder)!r}: "
                                     f"{[p.name for p in matches]}; keep one file per stem.")
            chosen.append(matches[0])
    else:
        target = Path(audio).resolve() if audio is not None else None
        chosen = [p for p in files if p.resolve() != target and p.stem.lower() not in MIX_NAMES]
        dupes = sorted({p.stem for p in chosen if [q.stem for q in chosen].count(p.stem) > 1})
        if dupes:
            raise ParameterError(f"stems {dupes} appear with several extensions in {str(folder)!r}; keep one "
                                 "file per stem or pass --stem-names.")
    if not chosen:
        raise ParameterError(f"--stems {str(folder)!r} holds no stem files (.wav/.flac/.ogg/.mp3 other than "
                             "the explained audio and mix.*).")
    stems, rate = {}, None
    for f in chosen:
        y, sr = load_audio(f)
        if rate is not None and sr != rate:
            raise ParameterError(f"stem {f.name} has {sr} Hz but the others {rate} Hz; use one rate.")
        stems[f.stem], rate = y, sr
    return stems, rate


def parse_targets(text):
    """``--targets`` as a list of names (None when not given); refuses a value that names nothing."""
    if text is None:
        return None
    targets = [t.strip() for t in str(text).split(",") if t.strip()]
    if not targets:
        raise ParameterError(f"--targets {text!r} names no output; give comma-separated output names (see "
                             "the model's outputs) or leave it out to explain all.")
    return targets


def run(args) -> int:
    from ..fileio import removing_if_unused

    # everything that can be checked is checked before audio is decoded or a model runs; a refused or failed
    # run removes the --out folder again if it created it and wrote nothing
    with removing_if_unused(args.out):
        return _run(args)


def _run(args) -> int:
    import warnings

    from ..exceptions import ExplanationWarning, MerAudioLimeWarning
    from ..validation import check_int, check_names, check_seed, check_writable_dir
    from .lime_audio import explain
    from .openunmix_separator import OpenUnmixSeparator

    out_dir = check_writable_dir(args.out, name="--out")
    check_seed(args.seed, name="--seed")
    check_int(args.top_k, "--top-k", minimum=1)
    targets = parse_targets(args.targets)
    stem_names = check_names(parse_targets(args.stem_names) if args.stem_names is not None else None,
                             "--stem-names")
    if stem_names is not None and not args.stems:
        raise ParameterError("--stem-names needs --stems DIR (the folder to read them from).")
    stems = stems_sr = None
    if args.stems:
        stems, stems_sr = read_stem_folder(args.stems, audio=args.audio, names=stem_names)
    separator = args.separator
    if args.no_pretrained:
        separator = OpenUnmixSeparator(separator or "umxhq", pretrained=False, show_progress=not args.no_progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MerAudioLimeWarning)
        exp = explain(
            args.audio, model=args.model, separator=separator, stems=stems, stems_sr=stems_sr,
            segments=args.segments, segment_seconds=args.segment_seconds, residual=not args.no_residual,
            num_samples=args.num_samples, seed=args.seed, sampler=args.sampler,
            batch_size=args.batch_size,
            kernel_width=args.kernel_width, alpha=args.alpha, targets=targets, mode=args.mode,
            estimator=args.estimator, occlusion=args.occlusion, enumeration=args.enumeration,
            n_bands=args.n_bands, cache_dir=args.cache_dir, show_progress=not args.no_progress,
            offset=args.offset, duration=args.duration,
        )
    for w in caught:
        if issubclass(w.category, ExplanationWarning):
            continue  # printed below from exp.warnings
        if issubclass(w.category, MerAudioLimeWarning):
            print(f"mer-audiolime: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    out = write_explanation(exp, out_dir, top_k=args.top_k)
    if args.html:
        from ..report import write_explanation_html

        write_explanation_html(exp, out / "report.html", top_k=args.top_k)
    frame = exp.to_frame()
    best = frame[frame["rank"].eq(1).fillna(False).astype(bool)][["target", "component", "weight", "score",
                                                                  "source"]]
    if len(best):
        print(best.to_string(index=False))
    unranked = sorted(set(frame["target"][frame["rank"].isna()]))
    if unranked:
        print(f"not ranked (all weights equal): {', '.join(unranked)}")
    for w in exp.warnings:
        print(f"mer-audiolime: warning [{w.code}]{f' {w.target}:' if w.target else ''} {w.message}",
              file=sys.stderr)
    note = f" ({len(exp.warnings)} trust warning(s) in explanation.json)" if exp.warnings else ""
    print(f"wrote {out}{note}")
    return 0


#: What ``write_explanation`` owns in its folder: a rerun replaces this set as a whole.
OWNED = ("attributions.csv", "predictions.csv", "midlevel_effects.csv", "explanation.json", "audio",
         "report.html")


def json_safe(obj):
    """A copy of ``obj`` fit for strict JSON: NaN and infinities become None, numpy scalars Python numbers."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (TypeError, ValueError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_explanation(exp, out_dir, *, top_k: int = 3) -> Path:
    """Write an explanation's tables, settings, trust warnings and audio into ``out_dir``.

    The folder's earlier explanation files (``attributions.csv``, ``predictions.csv``,
    ``midlevel_effects.csv``, ``explanation.json``, ``audio/``, ``report.html``) are removed first, so the
    folder never mixes two runs; other files are left alone. Tables and JSON are written atomically.
    """
    from ..fileio import atomic_write_text, remove_owned
    from ..validation import check_writable_dir

    out = check_writable_dir(out_dir, name="--out")
    remove_owned(out, OWNED)
    atomic_write_text(out / "attributions.csv", exp.to_frame().to_csv(index=False))
    atomic_write_text(out / "predictions.csv", exp.predictions.to_frame().to_csv(index_label="output"))
    if exp.midlevel_effects is not None:
        atomic_write_text(out / "midlevel_effects.csv", exp.midlevel_effects.to_csv(index_label="emotion"))
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
        "warnings": [w.as_dict() for w in exp.warnings],
    }
    text = json.dumps(json_safe(meta), indent=2, default=str, allow_nan=False)
    atomic_write_text(out / "explanation.json", text)
    exp.export_audio(out / "audio", top_k=top_k)
    return out
