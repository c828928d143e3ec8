"""The ``mer-audiolime`` command line.

Each subsystem registers its own subcommands (``register(subparsers)`` in its ``_cli`` module); this module
only builds the parser, runs the chosen handler, and maps errors to exit codes: 0 ok, 1 failure (message, no
traceback unless ``--debug``), 2 usage.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._version import __version__
from .exceptions import MerAudioLimeError

__all__ = ["main", "build_parser"]

# Modules that contribute subcommands, in the order they appear in --help.
_SUBCOMMAND_MODULES = (
    "mer_audiolime.explain._cli",
    "mer_audiolime.explain._separators_cli",
    "mer_audiolime.datasets._cli",
    "mer_audiolime.models._cli",
    "mer_audiolime.evaluation._cli",
    "mer_audiolime.report._cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer-audiolime",
        description="Explainable music-emotion recognition: emotion <- mid-level features <- sources x time.",
        epilog="Example: mer-audiolime explain song.wav --model mypkg.models:factory --out out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mer_audiolime {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # that subsystem is not part of this build
                continue
            raise
        module.register(sub)
    _debug_everywhere(parser)
    return parser


def _debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``--debug`` after any (sub)command too: each subparser gets the flag with a suppressed default,
    so it sets ``args.debug`` only when given there and never resets the top-level value."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if not any("--debug" in a.option_strings for a in child._actions):
                    child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                       help="show full tracebacks on errors")
                _debug_everywhere(child)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except MerAudioLimeError as err:
        if args.debug:
            raise
        print(f"mer-audiolime: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mer-audiolime: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # e.g. a user's model raising, or OSError writing --out: exit 1, no traceback
        if args.debug:
            raise
        print(f"mer-audiolime: error: {type(err).__name__}: {err} (unexpected; rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
