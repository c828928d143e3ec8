"""``mer-audiolime models list|info`` and ``mer-audiolime train``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..exceptions import MerAudioLimeError, ParameterError
from ..names import EMOTION_NAMES, MIDLEVEL_NAMES

__all__ = ["register"]

_FMT = argparse.RawDescriptionHelpFormatter


def register(subparsers) -> None:
    """Add ``models`` (``list``, ``info``) and ``train`` to the top-level parser."""
    from .train_config import ARCHITECTURE_NAMES, HEAD_NAMES, TrainConfig  # torch-free: keeps --help fast

    _D = TrainConfig()  # the CLI defaults are the library defaults
    parser = subparsers.add_parser(
        "models", help="list the model zoo, show a model card",
        description="The model zoo: pretrained mid-level / emotion models with model cards and "
                    "sha256-checked weights.",
        epilog="Examples:\n  mer-audiolime models list\n  mer-audiolime models info a2mid2e_synth_clean",
        formatter_class=_FMT)
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    p_list = sub.add_parser("list", help="print the registered models",
                            description="Print every zoo model: architecture, head, outputs, weights status.",
                            epilog="Example:\n  mer-audiolime models list --json", formatter_class=_FMT)
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.set_defaults(func=cmd_list)

    p_info = sub.add_parser("info", help="print a model card",
                            description="Print the full model card of a zoo model (add --check to verify and "
                                        "load its weights offline).",
                            epilog="Example:\n  mer-audiolime models info a2mid2e_synth_clean --check",
                            formatter_class=_FMT)
    p_info.add_argument("name", help="model name (see `mer-audiolime models list`)")
    p_info.add_argument("--check", action="store_true", help="verify the sha256 and load the weights")
    p_info.add_argument("--json", action="store_true", help="print the card as JSON")
    p_info.set_defaults(func=cmd_info)

    p_train = subparsers.add_parser(
        "train", help="train an A2Mid2E / A2E model",
        description=(
            "Train a mid-level -> emotion model (A2Mid2E) or a direct emotion model (A2E) on a dataset and "
            "write best.pt (weights + model card), card.json and history.csv to --out. --dataset is a "
            "registered "
            "loader name (its tracks need audio, and midlevel / emotion targets) or a 'module:factory' / "
            "'file.py:factory' spec; a factory is called as factory(split=..., data_home=..., **options) and "
            "returns a torch Dataset of (waveform, targets) items."),
        epilog=(
            "Examples:\n"
            "  mer-audiolime train --dataset synthetic --data-home ~/synth --variant clean \\\n"
            "      --model cp_resnet --head a2mid2e --out runs/a2mid2e\n"
            "  mer-audiolime train --dataset mydata.py:make --model vggish --width 16 \\\n"
            "      --emotions valence,arousal --epochs 40 --out runs/mine"),
        formatter_class=_FMT)
    p_train.add_argument("--dataset", required=True, help="loader name or module:factory spec")
    p_train.add_argument("--data-home", default=None, help="dataset folder")
    p_train.add_argument("--variant", default=None,
                         help="dataset variant / index version (e.g. clean or biased for synthetic)")
    p_train.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                         help="extra keyword for a dataset factory (repeatable)")
    p_train.add_argument("--train-split", default="train", help="split to train on (default: train)")
    p_train.add_argument("--valid-split", default="validation",
                         help="split for early stopping and card metrics ('none': hold out part of train)")
    p_train.add_argument("--test-split", default="test", help="split evaluated at the end ('none' to skip)")
    p_train.add_argument("--model", default=_D.architecture, choices=ARCHITECTURE_NAMES, help="architecture")
    p_train.add_argument("--head", default=_D.head, choices=HEAD_NAMES,
                         help="a2mid2e: audio -> 7 mid-level -> linear emotions; a2e: emotions directly")
    p_train.add_argument("--hidden", type=int, default=0,
                         help="width of a hidden ReLU layer between the pooled embedding and the head "
                              "(default 0: none, the paper's linear head); lets a model learn rules that "
                              "combine cues non-additively")
    p_train.add_argument("--width", type=int, default=16,
                         help="base channels (cp_resnet: paper 128) / width (vggish: paper 64); default 16")
    p_train.add_argument("--emotions", default=None,
                         help="comma-separated emotion targets (default: the dataset's)")
    p_train.add_argument("--epochs", type=int, default=_D.epochs, help=f"training epochs (default {_D.epochs})")
    p_train.add_argument("--batch-size", type=int, default=_D.batch_size,
                         help=f"clips per optimisation step (default {_D.batch_size})")
    p_train.add_argument("--lr", type=float, default=_D.learning_rate,
                         help=f"peak learning rate of the cosine schedule (default {_D.learning_rate})")
    p_train.add_argument("--weight-decay", type=float, default=_D.weight_decay,
                         help=f"Adam weight decay (L2; default {_D.weight_decay})")
    p_train.add_argument("--midlevel-weight", type=float, default=_D.midlevel_weight,
                         help=f"weight of the mid-level loss in the joint loss (default {_D.midlevel_weight})")
    p_train.add_argument("--emotion-weight", type=float, default=_D.emotion_weight,
                         help=f"weight of the emotion loss in the joint loss (default {_D.emotion_weight})")
    p_train.add_argument("--patience", type=int, default=_D.patience,
                         help=f"early stopping: epochs without validation improvement (default {_D.patience})")
    p_train.add_argument("--crop-seconds", type=float, default=_D.crop_seconds,
                         help="train on random crops of this length (default 5; 0 = whole clips)")
    p_train.add_argument("--clip-seconds", type=float, default=None,
                         help="crop / zero-pad every clip to this length (default: the first clip's length)")
    p_train.add_argument("--seed", type=int, default=_D.seed, help=f"random seed (default {_D.seed})")
    p_train.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p_train.add_argument("--name", default=None, help="model name in the card (default: from the options)")
    p_train.add_argument("--out", required=True, help="output folder")
    p_train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p_train.set_defaults(func=cmd_train)


def cmd_list(args) -> int:
    from . import zoo

    rows = []
    for name in zoo.list_models():
        card = zoo.model_card(name)
        try:
            status = str(zoo.resolve_weights(name, download=False))
        except MerAudioLimeError as err:
            status = f"unavailable ({type(err).__name__})"
        rows.append({"name": name, "architecture": card.architecture, "head": card.head,
                     "outputs": card.output_names, "dataset": card.dataset.get("name"),
                     "variant": card.dataset.get("variant"), "weights": status,
                     "domain": (card.domain or {}).get("description")})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models registered")
        return 0
    for row in rows:
        print(f"{row['name']:<26} {row['architecture']:<10} {row['head']:<8} "
              f"{row['dataset'] or '-'}/{row['variant'] or '-'}  outputs={','.join(row['outputs'])}")
        if row["domain"]:
            print(f"{'':<26} trained on: {row['domain']}")
    return 0


def cmd_info(args) -> int:
    from . import zoo

    card = zoo.model_card(args.name).to_dict()
    if args.check:
        model = zoo.load_model(args.name, download=False)
        card["check"] = {"weights": "sha256 ok, loaded",
                         "parameters": sum(p.numel() for p in model.parameters())}
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    for key, value in card.items():
        if isinstance(value, dict) and value:
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
        else:
            print(f"{key}: {json.dumps(value) if isinstance(value, list) else value}")
    return 0


def _options(pairs) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParameterError(f"--option needs KEY=VALUE, got {pair!r}.")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _dataset(args, split, emotions):
    from ..datasets.torch_data import split_dataset  # imports torch: only when a command runs
    from .predictor import import_object

    if split is None or split.lower() == "none":
        return None
    if ":" in args.dataset:
        factory = import_object(args.dataset, what="dataset")
        kwargs = {"split": split, "data_home": args.data_home, **_options(args.option)}
        if args.variant is not None:
            kwargs["variant"] = args.variant
        return factory(**kwargs)
    return split_dataset(args.dataset, data_home=args.data_home, split=split, variant=args.variant,
                         emotion_names=emotions)


def cmd_train(args) -> int:
    from .training import TrainConfig, evaluate, train

    emotions = [e.strip() for e in args.emotions.split(",")] if args.emotions else None
    train_set = _dataset(args, args.train_split, emotions)
    if train_set is None:
        raise ParameterError("--train-split cannot be 'none'.")
    emotions = emotions or list(getattr(train_set, "emotion_names", None) or EMOTION_NAMES)
    midlevel = list(getattr(train_set, "midlevel_names", None) or MIDLEVEL_NAMES)
    valid_set = _dataset(args, args.valid_split, emotions)
    width_key = "base_channels" if args.model == "cp_resnet" else "width"
    cfg = TrainConfig(architecture=args.model, head=args.head, backbone_kwargs={width_key: args.width},
                      head_kwargs={"hidden": args.hidden} if args.hidden else {},
                      epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                      weight_decay=args.weight_decay, midlevel_weight=args.midlevel_weight,
                      emotion_weight=args.emotion_weight, patience=args.patience,
                      clip_seconds=args.clip_seconds, crop_seconds=args.crop_seconds or None, seed=args.seed,
                      num_threads=args.threads)
    dataset_name = args.dataset if ":" not in args.dataset else Path(args.dataset.rpartition(":")[0]).name
    suffix = f"_{args.variant}" if args.variant else ""
    name = args.name or f"{args.head}_{args.model}_{dataset_name}{suffix}"
    out = Path(args.out)
    info = {"name": dataset_name, "variant": args.variant, "train_split": args.train_split,
            "valid_split": args.valid_split, "index_version": getattr(train_set, "index_version", None)}
    result = train(train_set, valid_set=valid_set, config=cfg, midlevel_names=midlevel,
                   emotion_names=emotions, name=name, dataset_info=info, checkpoint_dir=out,
                   progress=not args.no_progress)
    test_set = _dataset(args, args.test_split, emotions)
    if test_set is not None:
        frame = evaluate(result.model, test_set, num_threads=args.threads)
        result.card.metrics["test"] = {r.target: {"r2": r.r2, "pearson_r": r.pearson_r, "n": int(r.n)}
                                       for r in frame.itertuples()}
        from .checkpoint import save_checkpoint

        save_checkpoint(out / "best.pt", result.model, result.card)
    (out / "card.json").write_text(json.dumps(result.card.to_dict(), indent=2))
    result.history.to_csv(out / "history.csv", index=False)
    print(f"trained {name} in {result.seconds:.0f} s (best epoch {result.best_epoch}); "
          f"wrote {out / 'best.pt'}")
    for split, metrics in result.card.metrics.items():
        for target, m in metrics.items():
            print(f"  {split:<5} {target:<18} R2={m['r2']:+.3f}  r={m['pearson_r']:+.3f}")
    return 0
