"""``mer-audiolime datasets synth``: generate the synthetic benchmark (the ``datasets`` command adds it)."""

from __future__ import annotations

import argparse
import time

__all__ = ["add_synth_parser", "run_synth"]

_EPILOG = """\
Example:
  mer-audiolime datasets synth --out synth --n 200 --seed 0
  mer-audiolime datasets synth --out synth2 --cues          # synthetic-v2: v1 files + cue variants
  python -c "from mer_audiolime.datasets.synthetic import Dataset; Dataset(data_home='synth').validate()"

The same arguments give byte-identical files. --variant both (default) writes the clean and the
planted-bias annotations over the same audio; load them with Dataset(data_home=DIR, version='biased').
See datasets/synthetic/README.md for the parameters, the emotion map and the relevance table."""


def add_synth_parser(datasets_subparsers) -> argparse.ArgumentParser:
    """Add the ``synth`` subcommand to the ``datasets`` subparsers; its handler is ``args.func``.

    Parameters
    ----------
    datasets_subparsers : argparse._SubParsersAction
        What ``add_subparsers()`` of the ``datasets`` parser returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``synth`` parser.
    """
    p = datasets_subparsers.add_parser(
        "synth",
        help="generate the synthetic multitrack benchmark with known truth",
        description="Render clips from generated MIDI (one exact stem per source) with known mid-level, "
        "emotion and relevance truth, plus a mirdata index so Dataset(data_home=OUT).validate() works.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    p.add_argument("--n", type=int, default=200, help="number of clips (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random (default 0)")
    p.add_argument("--duration", type=float, default=10.0, help="clip length in seconds (default 10)")
    p.add_argument("--sr", type=int, default=22050, help="sample rate in Hz (default 22050)")
    p.add_argument("--variant", choices=("clean", "biased", "both"), default="both",
                   help="annotation variants to write (default both; the audio is shared)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2; -1 = all cores)")
    p.add_argument("--vocals-prob", type=float, default=0.5, help="share of clips with vocals (default 0.5)")
    p.add_argument("--shortcut", type=float, default=None,
                   help="valence added to biased training/validation clips with vocals (default: the documented 0.6)")
    p.add_argument("--cues", action="store_true",
                   help="also write the cue audio and the task variants of synthetic-v2 (redundant, "
                   "interaction, time_local, confounded, clean_cues); the v1 files are unchanged")
    p.add_argument("--overwrite", action="store_true", help="regenerate a folder that holds a previous set")
    p.add_argument("--no-progress", "--quiet", dest="quiet", action="store_true",
                   help="hide the progress bar (--quiet: older spelling)")
    p.set_defaults(func=run_synth)
    return p


def run_synth(args) -> int:
    """Handler of ``datasets synth``: generate, validate the index, print a summary; returns the exit code."""
    from . import SHORTCUT, Dataset, generate

    start = time.perf_counter()
    out = generate(
        args.out, n=args.n, seed=args.seed, duration=args.duration, sr=args.sr, variant=args.variant,
        n_jobs=args.jobs, vocals_prob=args.vocals_prob,
        shortcut=SHORTCUT if args.shortcut is None else args.shortcut, cues=args.cues,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - start
    version = "clean" if args.variant in ("clean", "both") else "biased"
    missing, invalid = Dataset(data_home=str(out), version=version).validate(verbose=False)
    bad = sum(len(v) for part in (missing, invalid) for v in part.values())
    print(f"wrote {args.n} clips ({args.duration:g} s, {args.sr} Hz) to {out} in {elapsed:.1f} s; "
          f"index check: {'ok' if bad == 0 else f'{bad} problem(s)'}")
    return 0 if bad == 0 else 1
