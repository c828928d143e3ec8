"""``mer-audiolime datasets``: list the supported datasets, describe one, build and validate an index of a
local copy."""

from __future__ import annotations

import argparse
import importlib
import json
import textwrap

__all__ = ["register"]

_SYNTH_CLI = "mer_audiolime.datasets.synthetic._cli"


def register(subparsers) -> None:
    """Add the ``datasets`` subcommand (and its sub-subcommands) to the top-level parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "datasets",
        help="list datasets, show a dataset card, build or validate an index of a local copy",
        description="Music-emotion datasets supported through mirdata-style loaders.",
        epilog="Examples:\n  mer-audiolime datasets list\n  mer-audiolime datasets info deam\n"
        "  mer-audiolime datasets index deam --data-home ~/data/DEAM\n"
        "  mer-audiolime datasets validate deam --data-home ~/data/DEAM",
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="datasets_command", metavar="ACTION")
    parser.set_defaults(func=_print_help(parser))

    p_list = sub.add_parser(
        "list",
        help="print the supported datasets",
        description="Print every supported dataset with its index version and whether its loader imports.",
        epilog="Example:\n  mer-audiolime datasets list\n  mer-audiolime datasets list --json",
        formatter_class=fmt,
    )
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.set_defaults(func=cmd_list)

    p_info = sub.add_parser(
        "info",
        help="describe one dataset (targets, license, citation, how to obtain it)",
        description="Describe a dataset without touching its data; with --data-home, also report its index.",
        epilog="Example:\n  mer-audiolime datasets info pmemo\n"
        "  mer-audiolime datasets info pmemo --data-home ~/data",
        formatter_class=fmt,
    )
    p_info.add_argument("name", help="dataset name (see `mer-audiolime datasets list`)")
    p_info.add_argument("--data-home", default=None, help="folder of a local copy, to report its index")
    p_info.add_argument("--json", action="store_true", help="print JSON")
    p_info.set_defaults(func=cmd_info)

    p_index = sub.add_parser(
        "index",
        help="build a dataset's index (paths + md5) from a local copy",
        description=(
            "Walk a local copy of the dataset, find its annotation files and audio, hash them, and write a "
            "mirdata index. By default it is written into DIR, where "
            "`datasets.load(name, data_home=DIR)` finds "
            "it; use --out for a read-only copy and pass index_path= or set MER_AUDIOLIME_INDEX_DIR."
        ),
        epilog="Example:\n  mer-audiolime datasets index deam --data-home ~/data/DEAM\n"
        "  mer-audiolime datasets index pmemo --data-home /ro/PMEmo --out ~/indexes/pmemo_index_2019.json",
        formatter_class=fmt,
    )
    p_index.add_argument("name", help="dataset name")
    p_index.add_argument(
        "--data-home", required=True, metavar="DIR", help="folder where the dataset was unpacked"
    )
    p_index.add_argument("--out", default=None, metavar="PATH",
                         help="index file to write, or a folder to write <name>_index_<version>.json into "
                              "(default: in DIR)")
    p_index.add_argument("--variant", "--version", dest="version", default="default", metavar="VARIANT",
                         help="dataset variant / index version (default: the current one)")
    p_index.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_index.add_argument("--no-validate", action="store_true", help="skip validate() after writing")
    p_index.set_defaults(func=cmd_index)

    p_validate = sub.add_parser(
        "validate",
        help="md5-check a local copy against its index and count its tracks against the published size",
        description=(
            "Check every file of the index (mirdata's validate: missing files and changed md5s) and report "
            "how many tracks of the dataset's published total the index holds. Exit status 1 when a file is "
            "missing or changed."
        ),
        epilog="Example:\n  mer-audiolime datasets validate deam --data-home ~/data/DEAM\n"
        "  mer-audiolime datasets validate pmemo --data-home /ro/PMEmo \\\n"
        "      --index ~/indexes/pmemo_index_2019.json",
        formatter_class=fmt,
    )
    p_validate.add_argument("name", help="dataset name")
    p_validate.add_argument("--data-home", required=True, metavar="DIR", help="folder of the local copy")
    p_validate.add_argument("--index", default=None, metavar="FILE",
                            help="index file (default: looked up as datasets.load does)")
    p_validate.add_argument("--variant", "--version", dest="version", default="default", metavar="VARIANT",
                            help="dataset variant / index version (default: the current one)")
    p_validate.add_argument("--json", action="store_true", help="print JSON")
    p_validate.set_defaults(func=cmd_validate)

    try:
        synth_cli = importlib.import_module(_SYNTH_CLI)
    except ModuleNotFoundError as err:
        if err.name not in (_SYNTH_CLI, "mer_audiolime.datasets.synthetic"):
            raise
    else:
        synth_cli.add_synth_parser(sub)


def _print_help(parser):
    def handler(args) -> int:
        parser.print_help()
        return 2

    return handler


def cmd_list(args) -> int:
    """Print the registry: name, version, loader status."""
    from . import dataset_info, list_datasets
    from ..exceptions import DatasetError

    rows = []
    for name in list_datasets():
        try:
            info = dataset_info(name)
            rows.append({"name": name, "version": info["version"], "available": True,
                         "targets": list(info["targets"])})
        except DatasetError:
            rows.append({"name": name, "version": None, "available": False, "targets": []})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        status = "" if r["available"] else "  (loader not installed yet)"
        version = r["version"] or "-"
        targets = ", ".join(r["targets"]) or "-"
        print(f"{r['name']:<{width}}  version {version:<6}  targets: {targets}{status}")
    return 0


def cmd_info(args) -> int:
    """Print a dataset's description; with --data-home, where its index is and how many tracks it has."""
    from . import dataset_info, load
    from ..exceptions import IndexMissingError

    info = dataset_info(args.name)
    if args.data_home is not None:
        try:
            ds = load(args.name, data_home=args.data_home)
            info["index_path"] = ds.index_path
            info["n_tracks"] = len(ds.track_ids)
            info["coverage"] = _coverage(ds)
        except IndexMissingError as err:
            info["index_path"] = None
            info["index_status"] = str(err)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{info['name']}  (module {info['module']}, index version {info['version']})")
    if info["targets"]:
        print("targets: " + ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in info["targets"].items()))
    print(f"card: {info['card']}")
    if info.get("published"):
        note = f" ({info['published_note']})" if info.get("published_note") else ""
        print(f"published: {info['published']} tracks{note}")
    if info.get("license"):
        print("license: " + textwrap.fill(info["license"], 100, subsequent_indent="  "))
    if info.get("download_info"):
        print("how to obtain:\n" + textwrap.indent(textwrap.dedent(info["download_info"]), "  "))
    if "index_path" in info:
        if info["index_path"]:
            print(f"index: {info['index_path']} ({info['n_tracks']} tracks)")
            if info.get("coverage"):
                print(_describe(info["coverage"]))
        else:
            print(f"index: none — {info['index_status']}")
    if info.get("bibtex"):
        print("citation:\n" + textwrap.indent(info["bibtex"], "  "))
    return 0


def _coverage(ds):
    coverage = getattr(ds, "coverage", None)
    return coverage() if callable(coverage) else None


def _describe(cov) -> str:
    from ._base import describe_coverage

    return describe_coverage(cov)


def cmd_index(args) -> int:
    """Build the index, then validate the copy against it and print a summary."""
    import logging

    from . import build_index, load
    from ..exceptions import DatasetError

    path = build_index(args.name, args.data_home, out=args.out, version=args.version,
                       progress=not args.no_progress)
    index = json.loads(path.read_text(encoding="utf-8"))
    n_tracks, excluded = len(index.get("tracks", {})), index.get("excluded", {}) or {}
    print(f"wrote {path} ({n_tracks} tracks, {len(excluded)} annotated tracks without audio left out)")
    for tid, reason in list(excluded.items())[:10]:
        print(f"  left out {tid}: {reason}")
    if len(excluded) > 10:
        print(f"  ... and {len(excluded) - 10} more (see 'excluded' in the index)")
    ds = load(args.name, data_home=args.data_home, version=args.version, index_path=path)
    cov = _coverage(ds)
    if cov is not None:
        print(_describe(cov))
    if args.no_validate:
        return 0
    logging.getLogger().setLevel(logging.ERROR)
    missing, invalid = ds.validate(verbose=False)
    n_bad = sum(len(v) for group in (missing, invalid) for v in group.values())
    if n_bad:
        raise DatasetError(
            f"validate() found {n_bad} missing or changed files right after indexing: {missing} {invalid}"
        )
    print("validate(): all files present and matching")
    return 0


def cmd_validate(args) -> int:
    """md5-check a copy against its index; print missing/changed files and the found/published count."""
    import logging

    from . import load

    ds = load(args.name, data_home=args.data_home, version=args.version, index_path=args.index)
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # mirdata logs every file as a warning; we list them below
    try:
        missing, invalid = ds.validate(verbose=False)
    finally:
        logging.getLogger().setLevel(previous)
    flat = {kind: {key: paths for group in result.values() for key, paths in group.items() if paths}
            for kind, result in (("missing", missing), ("changed", invalid))}
    cov = _coverage(ds)
    report = {"name": args.name, "index_path": ds.index_path, "n_tracks": len(ds.track_ids),
              "missing": flat["missing"], "changed": flat["changed"], "coverage": cov}
    ok = not flat["missing"] and not flat["changed"]
    if args.json:
        print(json.dumps(report, indent=1))
        return 0 if ok else 1
    print(f"index: {ds.index_path}")
    for kind in ("missing", "changed"):
        entries = flat[kind]
        if entries:
            print(f"{kind}: {len(entries)} entries")
            for key, paths in list(entries.items())[:20]:
                print(f"  {key}: {', '.join(str(p) for p in paths)}")
            if len(entries) > 20:
                print(f"  ... and {len(entries) - 20} more (use --json for all)")
    if ok:
        print("all files present and matching their md5")
    if cov is not None:
        print(_describe(cov))
    return 0 if ok else 1
