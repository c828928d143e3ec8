"""Training recipe for A2Mid2E / A2E models on any torch ``Dataset`` of ``(waveform, targets)``.

Items may be

* ``(waveform, {"midlevel": (7,), "emotion": (E,)})`` — arrays, or dicts ``{name: value}`` ordered by the
  given names; either key may be missing and values may be NaN (masked out of the loss);
* ``(waveform, targets)`` with a flat ``targets`` of length ``7 + E`` (mid-level first) or ``E`` (A2E);
* a dict with ``"audio"`` (or ``"waveform"``), ``"midlevel"`` and ``"emotion"`` keys.

Waveforms are ``(L,)`` or ``(C, L)`` at the model's sample rate; they are mixed to mono and cropped / zero
padded to ``clip_seconds`` (default: the first item's length). Targets are standardised with the training
set's mean and std (recorded in the card); the frontend's per-band normalisation is fitted on the training
spectrograms. The loss is ``midlevel_weight * MSE(mid-level) + emotion_weight * MSE(emotion)``; early stopping
watches the validation loss; the best weights are restored at the end.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .._version import CHECKPOINT_PACKAGES, package_versions
from ..exceptions import ParameterError
from ..names import EMOTION_NAMES, MIDLEVEL_NAMES
from .checkpoint import ModelCard, save_checkpoint
from ._items import load_items
from .frontend import CHECK_SECONDS, input_check, profile_distances
from .heads import MERModel, build_model
from .train_config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train", "evaluate", "regression_metrics", "training_domain"]


@dataclass
class TrainResult:
    """Outcome of :func:`train`: the best model (eval mode), its card, the per-epoch history (DataFrame)."""

    model: MERModel
    card: ModelCard
    history: object
    best_epoch: int
    seconds: float


@contextlib.contextmanager
def _threads(n):
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _scaling(values: np.ndarray, names) -> tuple[np.ndarray, np.ndarray, dict]:
    mean = np.nanmean(values, axis=0) if values.size else np.zeros(len(names))
    std = np.nanstd(values, axis=0) if values.size else np.ones(len(names))
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-8), std, 1.0)
    return mean, std, {n: {"mean": float(m), "std": float(s)} for n, m, s in zip(names, mean, std)}


@torch.no_grad()
def _spectrograms(model: MERModel, waves: np.ndarray, batch_size: int) -> torch.Tensor:
    starts = range(0, len(waves), batch_size)
    return torch.cat([model.frontend(torch.from_numpy(waves[i:i + batch_size])) for i in starts])


def _random_crop(batch: torch.Tensor, frames: int, gen: torch.Generator) -> torch.Tensor:
    """Independent random time crops ``(B, 1, F, frames)`` of a ``(B, 1, F, T)`` batch."""
    starts = torch.randint(0, batch.shape[-1] - frames + 1, (batch.shape[0],), generator=gen)
    return torch.stack([b[..., s:s + frames] for b, s in zip(batch, starts.tolist())])


def _masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    mask = torch.isfinite(target)
    if not bool(mask.any()):
        return pred.sum() * 0.0
    return ((pred - torch.nan_to_num(target)) ** 2)[mask].mean()


def _loss(out, mid, emo, cfg: TrainConfig) -> torch.Tensor:
    loss = cfg.emotion_weight * _masked_mse(out["emotion"], emo)
    if "midlevel" in out and cfg.midlevel_weight > 0:
        loss = loss + cfg.midlevel_weight * _masked_mse(out["midlevel"], mid)
    return loss


def regression_metrics(pred: np.ndarray, true: np.ndarray, names: Sequence[str]) -> dict:
    """``{name: {"r2", "pearson_r", "n"}}`` per column, ignoring NaN targets.

    R^2 is ``1 - SSE / SST`` (can be negative); both are invariant to the z-scoring of the targets.
    """
    out = {}
    for j, name in enumerate(names):
        ok = np.isfinite(true[:, j])
        t, p = true[ok, j].astype(np.float64), pred[ok, j].astype(np.float64)
        if t.size < 2 or np.var(t) == 0:
            out[name] = {"r2": float("nan"), "pearson_r": float("nan"), "n": int(t.size)}
            continue
        r2 = 1.0 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2)
        r = float(np.corrcoef(t, p)[0, 1]) if np.std(p) > 0 else float("nan")
        out[name] = {"r2": float(r2), "pearson_r": r, "n": int(t.size)}
    return out


@torch.no_grad()
def _predict(model: MERModel, specs: torch.Tensor, batch_size: int):
    model.eval()
    mids, emos = [], []
    for i in range(0, len(specs), batch_size):
        out = model.forward_features(specs[i:i + batch_size])
        emos.append(out["emotion"])
        if "midlevel" in out:
            mids.append(out["midlevel"])
    return (torch.cat(mids).numpy() if mids else None), torch.cat(emos).numpy()


def train(train_set, *, valid_set=None, config: TrainConfig | None = None,
          midlevel_names: Sequence[str] = MIDLEVEL_NAMES,
          emotion_names: Sequence[str] = EMOTION_NAMES,
          name: str = "model", dataset_info: dict | None = None, checkpoint_dir=None,
          progress: bool = True, **overrides) -> TrainResult:
    """Train an A2Mid2E or A2E model.

    Parameters
    ----------
    train_set : torch.utils.data.Dataset
        Items as described in the module docstring.
    valid_set : Dataset, optional
        For early stopping and the card's metrics; default: ``config.valid_fraction`` of ``train_set``. Its
        targets choose the epoch that is kept, so they reach the model: a label-randomisation retrain must
        pass permuted validation targets too (:class:`~mer_audiolime.evaluation.LabelRandomisation` does).
    config : TrainConfig, optional
        Settings; keyword ``overrides`` (e.g. ``epochs=5``) replace single fields.
    midlevel_names, emotion_names : sequence of str
        Target names (order of the output columns).
    name : str
        Model name for the card.
    dataset_info : dict, optional
        Recorded in the card (``name``, ``variant``, ``index_version`` ...).
    checkpoint_dir : path, optional
        Writes ``best.pt`` and ``last.pt`` (weights + card) after each improving / every epoch.
    progress : bool
        tqdm progress bar.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> result = train(my_dataset, epochs=20, emotion_names=["valence", "arousal"])   # doctest: +SKIP
    >>> result.card.metrics["valid"]["valence"]["r2"]                                 # doctest: +SKIP
    """
    import pandas as pd
    from tqdm.auto import tqdm

    cfg = copy.deepcopy(config) if config is not None else TrainConfig()
    for key, value in overrides.items():
        if not hasattr(cfg, key):
            raise ParameterError(f"unknown training option {key!r}; see TrainConfig.")
        setattr(cfg, key, value)
    cfg.__post_init__()
    t0 = time.perf_counter()
    with _threads(cfg.num_threads):
        model = build_model(cfg.architecture, head=cfg.head, emotion_names=emotion_names,
                            midlevel_names=midlevel_names, backbone_kwargs=cfg.backbone_kwargs,
                            frontend_kwargs=cfg.frontend_kwargs, head_kwargs=cfg.head_kwargs, seed=cfg.seed)
        n_mid, n_emo = len(model.midlevel_names), len(model.emotion_names)
        sr = model.sample_rate
        clip = None if cfg.clip_seconds is None else int(round(cfg.clip_seconds * sr))
        kw = dict(n_mid=n_mid, n_emo=n_emo, midlevel_names=model.midlevel_names,
                  emotion_names=model.emotion_names)
        waves, mids, emos, clip = load_items(train_set, clip_samples=clip, **kw)
        gen = torch.Generator().manual_seed(cfg.seed)
        if valid_set is None:
            perm = torch.randperm(len(waves), generator=gen).numpy()
            n_valid = max(1, int(round(cfg.valid_fraction * len(waves))))
            if len(waves) - n_valid < 1:
                raise ParameterError("too few training items to hold out a validation split.")
            vidx, tidx = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
            v_waves, v_mids, v_emos = waves[vidx], mids[vidx], emos[vidx]
            waves, mids, emos = waves[tidx], mids[tidx], emos[tidx]
        else:
            v_waves, v_mids, v_emos, _ = load_items(valid_set, clip_samples=clip, **kw)
        mid_mean, mid_std, mid_scaling = _scaling(mids, model.midlevel_names)
        emo_mean, emo_std, emo_scaling = _scaling(emos, model.emotion_names)

        def z(values, mean, std):
            return torch.from_numpy(((values - mean) / std).astype(np.float32))

        tm, te = z(mids, mid_mean, mid_std), z(emos, emo_mean, emo_std)
        vm, ve = z(v_mids, mid_mean, mid_std), z(v_emos, emo_mean, emo_std)
        specs = _spectrograms(model, waves, cfg.batch_size)  # frontend is parameter-free: compute once
        band_mean = specs.mean(dim=(0, 1, 3))
        band_std = specs.std(dim=(0, 1, 3))
        model.frontend.set_normalization(band_mean.numpy(), band_std.numpy())
        specs = (specs - model.frontend.mean[:, None]) / model.frontend.std[:, None]
        v_specs = _spectrograms(model, v_waves, cfg.batch_size)
        del waves, v_waves

        info = dict(dataset_info or {})
        domain = {"description": f"trained on {info.get('name', 'its training set')}"
                                 + (f" ({info['variant']})" if info.get("variant") else ""),
                  "datasets": [info["name"]] if info.get("name") else [],
                  "input_check": _input_check(model, specs, sr)}
        card = ModelCard(
            name=name, architecture=cfg.architecture, head=cfg.head, sample_rate=sr, clip_seconds=clip / sr,
            midlevel_names=model.midlevel_names, emotion_names=model.emotion_names,
            backbone_kwargs=dict(cfg.backbone_kwargs), frontend_kwargs=dict(model.frontend.config),
            head_kwargs=dict(cfg.head_kwargs),
            target_scaling={**mid_scaling, **emo_scaling},
            dataset={**(dataset_info or {}), "n_train": int(len(specs)), "n_valid": int(len(v_specs))},
            seed=cfg.seed, package_versions=package_versions(CHECKPOINT_PACKAGES, source="module"),
            training=asdict(cfg), domain=domain,
        )
        crop_frames = None
        if cfg.crop_seconds is not None:
            crop_frames = model.frontend.num_frames(int(round(cfg.crop_seconds * sr)))
            if crop_frames >= specs.shape[-1]:
                crop_frames = None
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
        best, best_epoch, best_state, stale, rows = math.inf, 0, None, 0, []
        ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
        bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {name}", disable=not progress, unit="epoch")
        for epoch in bar:
            model.train()
            order = torch.randperm(len(specs), generator=gen)
            total, count = 0.0, 0
            for start in range(0, len(order), cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                if len(idx) < 2 and len(order) > 1:  # BatchNorm needs more than one example
                    continue
                optimizer.zero_grad()
                batch = _random_crop(specs[idx], crop_frames, gen) if crop_frames else specs[idx]
                loss = _loss(model.forward_features(batch), tm[idx], te[idx], cfg)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            scheduler.step()
            model.eval()
            with torch.no_grad():
                v_mid, v_emo = _predict(model, v_specs, cfg.batch_size)
                out = {"emotion": torch.from_numpy(v_emo)}
                if v_mid is not None:
                    out["midlevel"] = torch.from_numpy(v_mid)
                v_loss = float(_loss(out, vm, ve, cfg))
            rows.append({"epoch": epoch, "train_loss": total / max(count, 1), "valid_loss": v_loss,
                         "seconds": time.perf_counter() - t0})
            bar.set_postfix(train=f"{rows[-1]['train_loss']:.3f}", valid=f"{v_loss:.3f}")
            if v_loss < best - 1e-6:
                best, best_epoch, stale = v_loss, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
                if ckpt is not None:
                    save_checkpoint(ckpt / "best.pt", model, card)
            else:
                stale += 1
            if ckpt is not None:
                save_checkpoint(ckpt / "last.pt", model, card)
            if stale >= cfg.patience:
                break
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        v_mid, v_emo = _predict(model, v_specs, cfg.batch_size)
        metrics = regression_metrics(v_emo, ve.numpy(), model.emotion_names)
        if v_mid is not None:
            metrics = {**regression_metrics(v_mid, vm.numpy(), model.midlevel_names), **metrics}
        seconds = time.perf_counter() - t0
        card.metrics = {"valid": metrics}
        card.training = {**card.training, "best_epoch": best_epoch, "epochs_run": len(rows),
                         "train_seconds": round(seconds, 1)}
        model.card = card
        model.spec["name"] = name
        if ckpt is not None:
            save_checkpoint(ckpt / "best.pt", model, card)
    return TrainResult(model=model, card=card, history=pd.DataFrame(rows), best_epoch=best_epoch,
                       seconds=seconds)


def _input_check(model, specs, sr: int) -> dict:
    """The card's out-of-domain thresholds, from the training clips' standardised spectrograms: their first
    and last excerpts of each length in ``CHECK_SECONDS`` shorter than a clip, and the whole clips."""
    frames_of = {s: model.frontend.num_frames(int(s * sr)) for s in CHECK_SECONDS}
    by_seconds = {s: profile_distances(specs, frames=f) for s, f in frames_of.items() if f < specs.shape[-1]}
    by_seconds[specs.shape[-1] / model.frontend.frames_per_second] = profile_distances(specs)
    return input_check(by_seconds)


def training_domain(model: MERModel, train_set, *, description: str, datasets, batch_size: int = 16) -> dict:
    """The card ``domain`` of an already trained model, measured as :func:`train` measures it.

    The training clips are read as training read them (the card's ``clip_seconds``), passed through the
    model's frontend (which standardises with its stored band statistics); the out-of-domain thresholds come
    from their spectral profiles (:func:`~mer_audiolime.models.frontend.input_check`). For models trained
    before cards recorded their domain.

    Parameters
    ----------
    model : MERModel
        A trained model (its frontend holds the training normalisation).
    train_set : dataset
        The training split it was trained on.
    description : str
    datasets : list of str
    batch_size : int

    Returns
    -------
    dict
        ``description``, ``datasets``, ``input_check``.
    """
    sr = model.sample_rate
    clip = model.card.clip_seconds if getattr(model, "card", None) is not None else None
    clip = None if clip is None else int(round(float(clip) * sr))
    waves, _, _, _ = load_items(train_set, n_mid=len(model.midlevel_names), n_emo=len(model.emotion_names),
                                clip_samples=clip, midlevel_names=model.midlevel_names,
                                emotion_names=model.emotion_names)
    with torch.no_grad():
        specs = _spectrograms(model, waves, batch_size)  # a trained frontend standardises its output
    return {"description": description, "datasets": list(datasets),
            "input_check": _input_check(model, specs, sr)}


def evaluate(model: MERModel, dataset, *, card: ModelCard | None = None, batch_size: int = 16,
             num_threads: int | None = None):
    """Held-out R^2 and Pearson r per target, as a tidy DataFrame (``target, group, r2, pearson_r, n``).

    Targets are z-scored with ``card.target_scaling`` (default ``model.card``) so they are compared with
    the model's outputs in the same units.
    """
    import pandas as pd

    card = card or getattr(model, "card", None)
    if card is None:
        raise ParameterError("evaluate needs the model card (target scaling); pass card=...")
    with _threads(num_threads):
        n_mid, n_emo = len(model.midlevel_names), len(model.emotion_names)
        clip = None if card.clip_seconds is None else int(round(card.clip_seconds * model.sample_rate))
        waves, mids, emos, _ = load_items(dataset, n_mid=n_mid, n_emo=n_emo, clip_samples=clip,
                                           midlevel_names=model.midlevel_names,
                                           emotion_names=model.emotion_names)
        model.eval()
        specs = _spectrograms(model, waves, batch_size)
        p_mid, p_emo = _predict(model, specs, batch_size)

    def zs(values, names):
        mean = np.array([card.target_scaling[n]["mean"] for n in names])
        std = np.array([card.target_scaling[n]["std"] for n in names])
        return (values - mean) / std

    rows = []
    groups = [("emotion", p_emo, zs(emos, model.emotion_names), model.emotion_names)]
    if p_mid is not None:
        groups.insert(0, ("midlevel", p_mid, zs(mids, model.midlevel_names), model.midlevel_names))
    for group, pred, true, names in groups:
        for target, m in regression_metrics(pred, true, names).items():
            rows.append({"target": target, "group": group, **m})
    return pd.DataFrame(rows)
