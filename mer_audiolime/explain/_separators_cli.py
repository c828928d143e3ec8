"""``mer-audiolime separators``: which separators work offline, and fetching open-unmix weights on request."""

from __future__ import annotations

import argparse

__all__ = ["register"]

_FMT = argparse.RawDescriptionHelpFormatter

LIST_EPILOG = """examples:
  mer-audiolime separators list
  mer-audiolime separators fetch umxhq

Every separator listed can be passed to `explain --separator NAME`; oracle stems go to `explain --stems DIR`.
open-unmix's pretrained models need their weights once, from Zenodo: `mer-audiolime separators fetch umxhq`.
Nothing downloads without that command."""

FETCH_EPILOG = """examples:
  mer-audiolime separators fetch umxhq                   # the four stems of UMX-HQ (MUSDB18-HQ)
  mer-audiolime separators fetch umxl --targets vocals   # one stem of UMX-L
  mer-audiolime separators fetch umxhq --base-url file:///mnt/mirror/umxhq/   # a local copy of the files

The files go to $TORCH_HOME/hub/checkpoints (default ~/.cache/torch/hub/checkpoints), where open-unmix looks
for them. Each is checked (not empty, sha256 matching the hash prefix in its name, loadable by
torch.load(weights_only=True)) before it is put in place, and its sha256 is written beside it
(<file>.sha256)."""


def register(subparsers) -> None:
    """Add the ``separators`` command group (``list``, ``fetch``)."""
    p = subparsers.add_parser(
        "separators", help="list source separators (offline or not) and fetch open-unmix weights",
        description="Source separators for `explain --separator`: what is available offline, and fetching "
                    "the pretrained open-unmix weights on request.",
        epilog=LIST_EPILOG, formatter_class=_FMT)
    sub = p.add_subparsers(dest="separators_command", metavar="ACTION")
    p_list = sub.add_parser("list", help="every separator and whether it works offline",
                            description="Every separator and whether it works offline on this machine.",
                            epilog=LIST_EPILOG, formatter_class=_FMT)
    p_list.set_defaults(func=run_list)
    p_fetch = sub.add_parser("fetch", help="download and verify an open-unmix model's weights",
                             description="Download the pretrained weights of an open-unmix separator from "
                                         "the URLs the openunmix package uses, verify them and put them "
                                         "where open-unmix finds them offline.",
                             epilog=FETCH_EPILOG, formatter_class=_FMT)
    p_fetch.add_argument("name", help="umxhq, umxl, umx or umxse")
    p_fetch.add_argument("--targets", default=None, metavar="STEMS",
                         help="comma-separated stems to fetch (default: all of the model's)")
    p_fetch.add_argument("--base-url", default=None, metavar="URL",
                         help="fetch the same file names from this location instead (a mirror or "
                              "file:///dir/)")
    p_fetch.add_argument("--force", action="store_true", help="download again even if verified files exist")
    p_fetch.add_argument("--no-progress", action="store_true", help="hide the download progress bars")
    p_fetch.set_defaults(func=run_fetch)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def separator_table():
    """Rows ``(name, kind, offline, how)`` of every separator known to ``explain``."""
    from .fetch import FETCH_COMMAND, PRETRAINED_SEPARATORS, weight_paths

    kinds = {"umxhq": "open-unmix, pretrained on MUSDB18-HQ (4 stems)",
             "umxl": "open-unmix, pretrained on a large private set (4 stems)",
             "umx": "open-unmix, pretrained on MUSDB18 (4 stems)",
             "umxse": "open-unmix speech enhancement (speech/noise)"}
    rows = []
    for name in PRETRAINED_SEPARATORS:
        status = weight_paths(name)
        missing = [t for t, path in status.items() if not path.is_file()]
        offline = "yes" if not missing else f"no ({len(missing)} of {len(status)} files missing)"
        how = "ready" if not missing else FETCH_COMMAND.format(name=name)
        rows.append((name, kinds.get(name, "open-unmix"), offline, how))
    from .separators import list_separators, separator_card

    for name in list_separators():  # shipped inside the package: always offline
        card = separator_card(name)
        synthetic = "synthetic" in card.get("description", "")
        scope = "synthetic-benchmark audio only" if synthetic else "see its card"
        what = f"open-unmix shipped with the package ({', '.join(card['targets'])}), {scope}"
        rows.append((name, what, "yes (shipped)", f"--separator {name}"))
    rows.append(("tf-grid", "time x frequency cells of the mix (no separation)", "yes",
                 "--separator tf-grid"))
    rows.append(("DIR", "a local open-unmix model directory (separator.json, <target>.json/.pth)", "yes",
                 "--separator path/to/dir"))
    rows.append(("stems", "oracle stems you supply (one audio file per stem)", "yes", "--stems DIR"))
    return rows


def run_list(args) -> int:
    from .fetch import checkpoint_dir

    rows = separator_table()
    header = ("name", "what", "offline", "use / get it")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(3)]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    print(f"\nopen-unmix weights are looked up in {checkpoint_dir()} ($TORCH_HOME/hub/checkpoints).")
    return 0


def run_fetch(args) -> int:
    from .fetch import fetch_weights

    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    files = fetch_weights(args.name, targets=targets, base_url=args.base_url, force=args.force,
                          progress=not args.no_progress)
    for f in files:
        state = "downloaded" if f.downloaded else "already present"
        print(f"{f.target:8s} {f.path}  {f.size / 1e6:.1f} MB  sha256 {f.sha256}  ({state}, verified)")
    records = sorted({f.url.split("/files/")[0] for f in files if "/files/" in f.url})
    if records:
        print(f"source: {', '.join(records)} (see the record for the weights' licence and citation)")
    folder = files[0].path.parent if files else None
    print(f"{args.name} is ready offline (weights in {folder}; sha256 recorded as <file>.sha256): "
          f"mer-audiolime explain song.wav --model MODEL --separator {args.name} --out out/")
    return 0
