"""Train the shipped ``umx-synth`` separator: open-unmix on the synthetic benchmark's training stems.

The recipe is data (:data:`RECIPE`); :func:`train_separator` runs it with open-unmix's own model classes
(``openunmix.model.OpenUnmix``, one per target, the spectrogram front end of ``openunmix.model.Separator``)
and writes open-unmix's local model format (``separator.json``, ``<target>.json``, ``<target>.pth``).
:func:`build_separator` generates the data if needed, trains, scores SDR on the test split and writes the
card; with ``publish=True`` the folder replaces the one shipped in the package.

Command line (no CLI module involved)::

    python -m mer_audiolime.explain.separators.train --data-home DIR [--out DIR] [--publish]

Training loop: each epoch draws ``samples_per_track`` random ``seq_seconds`` crops of every training clip
(shuffled), scales every stem of a crop by a random gain in ``[gain_min, gain_max]`` (open-unmix's gain
augmentation; the mix is re-summed from the scaled stems, so it stays their exact sum), and minimises, per
target, the MSE between the model's magnitude spectrogram and the true stem's (open-unmix's loss). The
targets are independent models; one Adam optimiser over all of them is the same as one per target (Adam and
weight decay act per parameter). After each epoch every target's MSE on the *validation* clips (whole clips,
no augmentation) is measured, and each target keeps the weights of its best validation epoch (open-unmix's
own selection rule). The test split is only scored after training, for the card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from ...datasets import synthetic
from ...datasets.synthetic import Dataset, STEMS
from ...exceptions import ParameterError
from ..._version import CHECKPOINT_PACKAGES, package_versions
from ...models.checkpoint import sha256_file
from ...models.ship import GENERATE
from ...validation import check_float, check_int, check_seed
from ..openunmix_separator import OpenUnmixSeparator
from . import CARD_NAME, SEPARATORS_DIR, model_files
from .sdr import SDR_DEFINITION, separation_sdr, summarize_sdr

__all__ = ["NAME", "RECIPE", "load_split", "train_separator", "write_card", "build_separator", "main"]

#: Name the separator is shipped under.
NAME = "umx-synth"

#: The training recipe (fixed before any test-split number was seen; epochs are selected on validation).
RECIPE = {
    "targets": list(STEMS),
    "nfft": 2048,              # 93 ms at 22.05 kHz: the same window duration as umxhq's 4096 at 44.1 kHz
    "nhop": 512,
    "nb_channels": 1,          # the synthetic set is mono; open-unmix down-mixes stereo input magnitudes
    "hidden_size": 64,
    "nb_layers": 3,            # open-unmix's loader always builds 3 LSTM layers
    "seq_seconds": 3.0,
    "samples_per_track": 2,
    "batch_size": 16,
    "epochs": 80,
    "lr": 1e-3,
    "weight_decay": 1e-5,
    "gain_min": 0.25,
    "gain_max": 1.25,
    "seed": 0,
    "num_threads": 1,          # on a shared 2-core machine a second thread mostly spins
}


def _check_recipe(recipe: dict) -> dict:
    unknown = sorted(set(recipe) - set(RECIPE))
    if unknown:
        raise ParameterError(f"unknown recipe key(s) {unknown}; known: {sorted(RECIPE)}.")
    r = {**RECIPE, **recipe}
    bad = [t for t in r["targets"] if t not in STEMS]
    if bad or not r["targets"]:
        raise ParameterError(f"targets must be synthetic stems {list(STEMS)}, got {r['targets']!r}.")
    if r["nb_layers"] != 3:
        raise ParameterError("nb_layers must be 3: open-unmix's model loader always builds 3 LSTM layers.")
    for key in ("nfft", "nhop", "hidden_size", "samples_per_track", "batch_size", "epochs", "num_threads"):
        r[key] = check_int(r[key], key, minimum=1)
    r["nb_channels"] = check_int(r["nb_channels"], "nb_channels", minimum=1, maximum=2)
    r["seed"] = check_seed(r["seed"])
    for key in ("seq_seconds", "lr", "gain_min"):
        r[key] = check_float(r[key], key, minimum=0, strict_minimum=True)
    r["weight_decay"] = check_float(r["weight_decay"], "weight_decay", minimum=0)
    r["gain_max"] = check_float(r["gain_max"], "gain_max", minimum=r["gain_min"])
    return r


def load_split(data_home, split: str, *, targets=STEMS) -> tuple[list, np.ndarray, int]:
    """The true stems of one split of a generated synthetic set.

    Parameters
    ----------
    data_home : path-like
        Folder written by :func:`mer_audiolime.datasets.synthetic.generate`.
    split : {"train", "validation", "test"}
    targets : sequence of str
        Stems to load, in this order (an absent stem is zeros).

    Returns
    -------
    track_ids : list of str
    stems : np.ndarray, shape (clips, len(targets), samples), float32
        Mono stems; their sum is the clip's mix.
    sr : int
    """
    ds = Dataset(data_home=str(data_home), version="clean")
    ids = [t for t in sorted(ds.track_ids) if ds.track(t).split == split]
    if not ids:
        raise ParameterError(f"{str(data_home)!r} has no clips in split {split!r}; generate the set first.")
    arrays, rate = [], None
    for tid in ids:
        track = ds.track(tid)
        stems = track.stems
        rate = int(ds.settings["sr"]) if rate is None else rate
        arrays.append(np.concatenate([stems[t][:1] for t in targets], axis=0))
    lengths = {a.shape[1] for a in arrays}
    if len(lengths) != 1:
        raise ParameterError(f"clips of split {split!r} differ in length {sorted(lengths)}; regenerate the set.")
    return ids, np.stack(arrays).astype(np.float32), rate


class _Spectrogram:
    """open-unmix's own analysis (``make_filterbanks`` + ``ComplexNorm``), as its ``Separator`` computes it."""

    def __init__(self, r: dict, sr: int):
        from openunmix.transforms import ComplexNorm, make_filterbanks

        self.stft, _ = make_filterbanks(n_fft=r["nfft"], n_hop=r["nhop"], center=True, sample_rate=float(sr))
        self.norm = ComplexNorm(mono=r["nb_channels"] == 1)
        self.channels = r["nb_channels"]

    def __call__(self, wave):  # (B, L) -> (B, channels, bins, frames)
        x = wave[:, None, :].expand(-1, self.channels, -1) if self.channels > 1 else wave[:, None, :]
        return self.norm(self.stft(x))


def _statistics(spec: _Spectrogram, mixes: np.ndarray, batch: int = 8):
    """Per-bin mean and standard deviation of the training mixes' magnitudes (open-unmix's input scaler)."""
    import torch

    total = sq = None
    count = 0
    with torch.no_grad():
        for i in range(0, len(mixes), batch):
            mag = spec(torch.from_numpy(mixes[i:i + batch])).double()  # (B, C, F, T)
            frames = mag.permute(0, 1, 3, 2).reshape(-1, mag.shape[2])
            total = frames.sum(0) if total is None else total + frames.sum(0)
            sq = (frames ** 2).sum(0) if sq is None else sq + (frames ** 2).sum(0)
            count += frames.shape[0]
    mean = (total / count).numpy()
    std = np.sqrt(np.maximum((sq / count).numpy() - mean ** 2, 0.0))
    std = np.maximum(std, 1e-4 * std.max())  # open-unmix's floor for (near-)silent bins
    return mean.astype(np.float32), std.astype(np.float32)


def _valid_losses(models: dict, spec: _Spectrogram, stems: np.ndarray, batch: int = 6) -> dict:
    """Per-target magnitude MSE over the whole validation clips (mean over clips of the clip MSE)."""
    import torch

    sums = {t: 0.0 for t in models}
    for m in models.values():
        m.eval()
    with torch.no_grad():
        for i in range(0, len(stems), batch):
            chunk = torch.from_numpy(stems[i:i + batch])          # (B, S, L)
            mix = spec(chunk.sum(1))
            for j, (t, m) in enumerate(models.items()):
                err = (m(mix) - spec(chunk[:, j])) ** 2
                sums[t] += float(err.mean(dim=(1, 2, 3)).sum())
    return {t: sums[t] / len(stems) for t in models}


def train_separator(data_home, out_dir, *, recipe: dict | None = None, progress: bool = True) -> dict:
    """Train one open-unmix model per target on the training stems; write open-unmix's model folder.

    Parameters
    ----------
    data_home : path-like
        A generated synthetic set (:func:`mer_audiolime.datasets.synthetic.generate`).
    out_dir : path-like
        Receives ``separator.json``, ``<target>.json`` (arguments and loss histories) and ``<target>.pth``
        (the state dict of the best validation epoch).
    recipe : dict, optional
        Changes to :data:`RECIPE`.
    progress : bool
        tqdm bar over epochs.

    Returns
    -------
    dict
        ``recipe``, ``sample_rate``, ``train_seconds``, ``n_train``, ``n_validation`` and per target
        ``history`` (``{target: {"train": [...], "valid": [...], "best_epoch": int, "best_loss": float}}``).

    Examples
    --------
    >>> info = train_separator("synth", "runs/umx-synth", recipe={"epochs": 2})   # doctest: +SKIP
    >>> OpenUnmixSeparator("runs/umx-synth", targets=info["recipe"]["targets"])    # doctest: +SKIP
    """
    import torch
    from openunmix.model import OpenUnmix
    from tqdm.auto import tqdm

    r = _check_recipe(recipe or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = list(r["targets"])
    _, train, sr = load_split(data_home, "train", targets=targets)
    _, valid, _ = load_split(data_home, "validation", targets=targets)
    seq = int(round(r["seq_seconds"] * sr))
    if seq > train.shape[2]:
        raise ParameterError(f"seq_seconds {r['seq_seconds']} is longer than the clips ({train.shape[2] / sr} s).")

    old_threads = torch.get_num_threads()
    torch.set_num_threads(r["num_threads"])
    t0 = time.perf_counter()
    try:
        torch.manual_seed(r["seed"])  # initial weights and LSTM dropout
        rng = np.random.default_rng(r["seed"])  # crops, gains and order
        spec = _Spectrogram(r, sr)
        # the input scaler uses the full training mixes (sum of the stems), as open-unmix's get_statistics
        mean, std = _statistics(spec, train.sum(axis=1))
        models = {t: OpenUnmix(nb_bins=r["nfft"] // 2 + 1, nb_channels=r["nb_channels"],
                               hidden_size=r["hidden_size"], nb_layers=r["nb_layers"], input_mean=mean,
                               input_scale=std) for t in targets}
        params = [p for m in models.values() for p in m.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=r["lr"], weight_decay=r["weight_decay"])
        history = {t: {"train": [], "valid": []} for t in targets}
        best = {t: (np.inf, 0, None) for t in targets}
        bar = tqdm(range(1, r["epochs"] + 1), desc="training umx", unit="epoch", disable=not progress)
        for epoch in bar:
            for m in models.values():
                m.train()
            order = rng.permutation(np.repeat(np.arange(len(train)), r["samples_per_track"]))
            sums, n_batches = {t: 0.0 for t in targets}, 0
            for i in range(0, len(order), r["batch_size"]):
                idx = order[i:i + r["batch_size"]]
                starts = rng.integers(0, train.shape[2] - seq + 1, size=len(idx))
                gains = rng.uniform(r["gain_min"], r["gain_max"], size=(len(idx), len(targets), 1))
                crop = np.stack([train[k, :, s:s + seq] for k, s in zip(idx, starts)]) * gains
                crop = torch.from_numpy(crop.astype(np.float32))    # (B, S, L)
                mix = spec(crop.sum(1))
                opt.zero_grad()
                losses = {}
                for j, (t, m) in enumerate(models.items()):
                    losses[t] = torch.nn.functional.mse_loss(m(mix), spec(crop[:, j]))
                sum(losses.values()).backward()
                opt.step()
                for t in targets:
                    sums[t] += float(losses[t].detach())
                n_batches += 1
            valid_loss = _valid_losses(models, spec, valid)
            for t in targets:
                history[t]["train"].append(sums[t] / n_batches)
                history[t]["valid"].append(valid_loss[t])
                if valid_loss[t] < best[t][0]:
                    state = {k: v.detach().clone() for k, v in models[t].state_dict().items()}
                    best[t] = (valid_loss[t], epoch, state)
            bar.set_postfix(valid=f"{sum(valid_loss.values()):.4g}")
        seconds = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)

    separator_conf = {"nfft": r["nfft"], "nhop": r["nhop"], "sample_rate": int(sr), "nb_channels": r["nb_channels"]}
    _write_json(out / "separator.json", separator_conf)
    for t in targets:
        loss, epoch, state = best[t]
        torch.save(state, out / f"{t}.pth")
        args = {**{k: r[k] for k in ("nfft", "nhop", "nb_channels", "hidden_size", "nb_layers", "seq_seconds",
                                     "samples_per_track", "batch_size", "epochs", "lr", "weight_decay",
                                     "gain_min", "gain_max", "seed")},
                "target": t, "sample_rate": int(sr), "dataset": "mer_audiolime synthetic"}
        history[t].update(best_epoch=int(epoch), best_loss=float(loss))
        _write_json(out / f"{t}.json", {
            "args": args, "best_epoch": int(epoch), "best_loss": float(loss), "epochs_trained": r["epochs"],
            "train_loss_history": history[t]["train"], "valid_loss_history": history[t]["valid"]})
    return {"recipe": r, "sample_rate": int(sr), "train_seconds": round(seconds, 1), "n_train": len(train),
            "n_validation": len(valid), "history": history}


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


def _finite(x):
    return float(x) if np.isfinite(x) else None


def write_card(out_dir, info: dict, *, test_summary=None, data: dict | None = None, name: str = NAME) -> dict:
    """Write ``card.json`` into a trained separator folder: files with sha256, recipe, data, losses, SDR.

    Parameters
    ----------
    out_dir : path-like
        Folder written by :func:`train_separator`.
    info : dict
        Its return value.
    test_summary : pandas.DataFrame, optional
        :func:`~mer_audiolime.explain.separators.sdr.summarize_sdr` of the test split.
    data : dict, optional
        Data version recorded in the card (generator settings, generator version, soundfont md5).
    name : str
        Separator name.

    Returns
    -------
    dict
        The card.
    """
    out = Path(out_dir)
    r = info["recipe"]
    files = {f: {"sha256": sha256_file(out / f), "size_bytes": (out / f).stat().st_size}
             for f in model_files(r["targets"])}
    curves = {}
    for t, h in info["history"].items():
        valid = h["valid"]
        curves[t] = {"best_epoch": h["best_epoch"], "best_valid_loss": h["best_loss"],
                     "valid_loss_epoch1": valid[0], "valid_loss_last": valid[-1],
                     "valid_loss_every_5_epochs": [valid[i] for i in range(4, len(valid), 5)],
                     "train_loss_last": h["train"][-1]}
    card = {
        "name": name,
        "description": "open-unmix (OpenUnmix per target, open-unmix Separator) trained on the training split "
                       "of the mer_audiolime synthetic benchmark; separates its five stems. For explaining "
                       "models on synthetic-benchmark audio with estimated instead of oracle stems: its stems "
                       "carry real separation error. Not a general-purpose music separator.",
        "format": "open-unmix local model directory (openunmix.utils.load_separator)",
        "targets": list(r["targets"]),
        "sample_rate": info["sample_rate"],
        "nb_channels": r["nb_channels"], "nfft": r["nfft"], "nhop": r["nhop"],
        "hidden_size": r["hidden_size"], "nb_layers": r["nb_layers"],
        "files": files,
        "size_bytes": int(sum(f["size_bytes"] for f in files.values())),
        "recipe": dict(r),
        "selection": "each target keeps the weights of its lowest validation-split magnitude MSE epoch",
        "training": {"train_seconds": info["train_seconds"],
                     "train_seconds_note": "wall time of this run; on a shared machine it depends on the load",
                     "n_train_clips": info["n_train"],
                     "n_validation_clips": info["n_validation"], "device": "cpu",
                     "threads": r["num_threads"],
                     "package_versions": package_versions(CHECKPOINT_PACKAGES, source="module")},
        "data": data or {},
        "validation_loss": curves,
        "retrain": "python -m mer_audiolime.explain.separators.train --data-home DIR --publish",
    }
    if test_summary is not None:
        per = {}
        for row in test_summary.itertuples():
            per.setdefault(row.stem, {})[row.metric] = {"median": _finite(row.median), "q25": _finite(row.q25),
                                                        "q75": _finite(row.q75), "n": int(row.n)}
        card["test"] = {"split": "test", "definition": SDR_DEFINITION, "niter": 1, "per_stem": per}
    _write_json(out / CARD_NAME, card)
    return card


def _data_version(home: Path) -> dict:
    settings = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    keys = ("name", "n", "seed", "duration", "sr", "split_fractions", "vocals_prob", "stems", "generator",
            "soundfont", "soundfont_md5")
    return {k: settings[k] for k in keys if k in settings}


def build_separator(data_home, *, out_dir=None, publish: bool = False, recipe: dict | None = None,
                    progress: bool = True) -> dict:
    """Generate (if needed), train, score on the test split, write the card, optionally publish.

    Parameters
    ----------
    data_home : path-like
        Synthetic set folder; generated with the zoo's settings (:data:`mer_audiolime.models.ship.GENERATE`)
        when it holds no ``settings.json``.
    out_dir : path-like, optional
        Training output (default ``<data_home>/../separator_runs/umx-synth``).
    publish : bool
        Copy the folder into the package (``mer_audiolime/explain/separators/umx-synth``), replacing it.
    recipe : dict, optional
        Changes to :data:`RECIPE`.
    progress : bool

    Returns
    -------
    dict
        The card.
    """
    home = Path(data_home)
    if not (home / "settings.json").is_file():
        synthetic.generate(home, progress=progress, **GENERATE)
    out = Path(out_dir) if out_dir is not None else home.parent / "separator_runs" / NAME
    info = train_separator(home, out, recipe=recipe, progress=progress)
    sep = OpenUnmixSeparator(str(out), targets=info["recipe"]["targets"], show_progress=False)
    rows = separation_sdr(sep, synthetic.Dataset(data_home=str(home)), split="test", use_cache=False,
                          show_progress=progress)
    rows.to_csv(out / "test_sdr.csv", index=False)
    card = write_card(out, info, test_summary=summarize_sdr(rows), data=_data_version(home))
    if publish:
        target = SEPARATORS_DIR / NAME
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for f in [*model_files(card["targets"]), CARD_NAME]:
            shutil.copy2(out / f, target / f)
    return card


def main(argv=None) -> int:
    """``python -m mer_audiolime.explain.separators.train``: rebuild the shipped separator from its recipe."""
    parser = argparse.ArgumentParser(prog="python -m mer_audiolime.explain.separators.train",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-home", required=True, help="synthetic set folder (generated if empty)")
    parser.add_argument("--out", default=None, help="training output folder")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (smoke tests)")
    parser.add_argument("--publish", action="store_true", help="replace the separator shipped in the package")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    recipe = {} if args.epochs is None else {"epochs": args.epochs}
    card = build_separator(args.data_home, out_dir=args.out, publish=args.publish, recipe=recipe,
                           progress=not args.no_progress)
    print(json.dumps({"train_seconds": card["training"]["train_seconds"], "size_bytes": card["size_bytes"],
                      "test_sdr_median": {s: m["sdr"]["median"] for s, m in card["test"]["per_stem"].items()
                                          if "sdr" in m}}, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
