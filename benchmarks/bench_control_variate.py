"""A control variate from a linearised spectrogram model: LIME's seed-stability at K = 50 with fewer calls?

Prints one JSON object. Study of one idea at K = 50 (5 oracle stems x 10 one-second segments of the synthetic
clip ``synth0000``, as in ``bench_sampler.py``); nothing here is an option of the explainer.

The estimator. LIME's fit is linear in the outputs for fixed masks Z, so for any cheap proxy g

    w_cv = fit(f; Z) - beta * (fit(g; Z) - fit(g; Z_big))

has LIME's population estimand when beta is fixed (``beta1``: beta = 1) and ``fit(g; Z_big)`` is LIME's fit of
g on ``--n-big`` uniform masks (drawn per seed; the ridge penalty is scaled by ``multiplicity = n_big / N`` so
that it matches a fit on N rows). ``betahat`` estimates beta per output from the same N rows (the
kernel-weighted regression of f's residual on g's residual after main effects): consistent, not unbiased.

The proxy. A ``MERModel`` is ``forward_features(frontend(waveform))``; the frontend's STFT is linear, so the
spectrogram S(z) of any mask is computed from the components' complex STFT frames without the network.
g(z) = f(S0) + J . (S(z) - S0) with J the gradient of each output at the linearisation point S0: ``full``
(the spectrogram of the mix) or ``half`` (of half the mix, the expected waveform under uniform masks). A frame
depends only on the components that overlap it (at most two segments), so g is a sum of per-frame-block lookup
tables over those components' on/off patterns: g on any number of masks costs no model call.

Cost rule (fixed before the run). Model calls of an estimate = N masks + 3 T per linearisation point (T
outputs: one forward and one backward of a batch of T copies of S0, a backward counted as two forwards).
``n_at_equal_stability`` and ``calls_ratio_at_equal_stability`` follow ``bench_sampler.py``'s rule (the same
``stability``, reference uniform N = 1000 with seeds 0..4, grid ``GRID``) with these calls. Uniform masks of
the estimates use seeds 100..104 (independent of the reference rows); grouped masks use seeds 0..4.

Also printed: the share of f's non-additive variance (held-out residual of a main-effects least-squares fit on
uniform masks) that f - g removes (negative: f - g has more), per linearisation point.
Usage: ``python benchmarks/bench_control_variate.py [--models a,b] [--n-big 50000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from bench_sampler import GRID, REFERENCE_N, SEEDS, benchmark_clip, fit_weights, stability

from mer_audiolime.explain import fit_surrogate
from mer_audiolime.explain.components import build_components
from mer_audiolime.explain.lime_audio import component_predict_fn
from mer_audiolime.explain.samplers import draw_masks
from mer_audiolime.explain.sampling import PredictionCache, sample_masks
from mer_audiolime.explain.surrogate import kernel_weights
from mer_audiolime.models import pretrained_predictor
from mer_audiolime.models.frontend import Frontend


class SpectrogramProxy:
    """Spectrograms of masked mixes and the linearised model, without running the network."""

    def __init__(self, comps, module):
        self.module = module
        fe = module.frontend
        self.offset, self.mult = fe.log_offset, fe.log_multiplier
        self.fb = Frontend(**fe.config).filterbank.double()  # (bands, bins): the same construction
        self.mean, self.std = fe.mean.double(), fe.std.double()
        k = len(comps)
        wav = torch.from_numpy(comps.compose(np.eye(k, dtype=np.uint8)).astype(np.float32)).mean(dim=1)
        half = fe.n_fft // 2
        wav = torch.nn.functional.pad(wav, (half, half))  # centred frames, zero padding
        frames = wav.unfold(-1, fe.n_fft, fe.hop_length) * fe.window
        x = torch.fft.rfft(frames.double(), dim=-1)  # (K, frames, bins)
        self.n_frames, self.bins = x.shape[1], x.shape[2]
        support = (x.abs().amax(dim=-1) > 0).numpy()
        self.blocks, t = [], 0
        while t < self.n_frames:  # runs of frames with the same contributing components
            u = t
            while u + 1 < self.n_frames and np.array_equal(support[:, u + 1], support[:, t]):
                u += 1
            comp = np.nonzero(support[:, t])[0]
            self.blocks.append((t, u + 1, comp, x[comp, t : u + 1].reshape(len(comp), -1)))
            t = u + 1

    def _block(self, masks, a, b, xb):
        m = torch.as_tensor(np.asarray(masks, np.float64)).to(torch.complex128)
        n = m.shape[0]
        if xb.shape[0]:
            spec = (m @ xb).reshape(n, b - a, self.bins)
        else:
            spec = torch.zeros(n, b - a, self.bins, dtype=torch.complex128)
        s = torch.log10(self.offset + self.mult * (spec.abs() @ self.fb.T))
        return ((s - self.mean) / self.std).transpose(1, 2).numpy()  # (n, bands, b - a)

    def spectrogram(self, z) -> np.ndarray:
        """One (possibly fractional) mask (K,) -> standardised spectrogram (bands, frames)."""
        z = np.asarray(z, np.float64)
        return np.concatenate([self._block(z[comp][None], a, b, xb)[0] for a, b, comp, xb in self.blocks],
                              axis=1)

    def linearise(self, s0):
        """f(S0) (T,) and the gradient of every output at S0 (T, bands, frames)."""
        s = torch.as_tensor(s0, dtype=torch.float32)[None, None]
        with torch.enable_grad():
            out = self._outputs(s)
            n_out = out.shape[1]
            batch = s.repeat(n_out, 1, 1, 1).requires_grad_(True)
            self._outputs(batch).diagonal().sum().backward()
        return out[0].detach().double().numpy(), batch.grad[:, 0].double().numpy()

    def _outputs(self, spec):
        out = self.module.forward_features(spec)
        keys = ["midlevel", "emotion"] if self.module.kind == "a2mid2e" else ["emotion"]
        return torch.cat([out[k] for k in keys], dim=1)

    def proxy(self, s0):
        """g(masks (N, K)) -> (N, T) for the linearisation at S0, as per-block lookup tables."""
        f0, jac = self.linearise(s0)
        const = f0 - np.einsum("obt,bt->o", jac, s0)
        tables = []
        for a, b, comp, xb in self.blocks:
            pattern = (np.arange(2 ** len(comp))[:, None] >> np.arange(len(comp))[None, :]) & 1
            tables.append((comp, np.einsum("obt,nbt->no", jac[:, :, a:b], self._block(pattern, a, b, xb))))

        def g(masks):
            masks = np.asarray(masks, np.int64)
            out = np.tile(const, (masks.shape[0], 1))
            for comp, tab in tables:
                out += tab[(masks[:, comp] << np.arange(len(comp))[None, :]).sum(axis=1)]
            return out

        return g


def beta_hat(masks, f, g) -> np.ndarray:
    """Per output: kernel-weighted slope of f's residual on g's residual after main effects."""
    w = np.sqrt(kernel_weights(masks))[:, None]
    x = np.c_[np.ones(len(masks)), masks] * w
    both = np.c_[f, g] * w
    res = both - x @ np.linalg.lstsq(x, both, rcond=None)[0]
    rf, rg = res[:, : f.shape[1]], res[:, f.shape[1]:]
    return (rf * rg).sum(axis=0) / np.maximum((rg * rg).sum(axis=0), 1e-12)


def n_at_equal(curve, reference, calls):
    reached = [n for n in curve if curve[n]["spearman"] >= reference["spearman"]
               and curve[n]["jaccard5"] >= reference["jaccard5"]]
    n_eq = next((n for n in curve if all(m in reached for m in curve if m >= n)), None)
    return n_eq, None if n_eq is None else round(REFERENCE_N / (n_eq + calls), 2)


def run_model(name, mix, stems, *, n_big):
    model = pretrained_predictor(name)
    comps = build_components(mix, stems, sr=22050, segments=10, residual=False)
    k, names = len(comps), list(model.output_names)
    cache = PredictionCache(k, len(names))
    fn = component_predict_fn(comps, model, batch_size=16)
    t0 = time.perf_counter()
    ref_masks = [sample_masks(k, REFERENCE_N, rng=s, exhaustive=False) for s in SEEDS]
    ref_out = [cache.predict(m, fn, batch_size=16) for m in ref_masks]
    ref = [fit_weights(m, y, names) for m, y in zip(ref_masks, ref_out)]
    reference = stability(ref)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    proxy = SpectrogramProxy(comps, model.module)
    points = {"full": proxy.spectrogram(np.ones(k)), "half": proxy.spectrogram(np.full(k, 0.5))}
    proxies = {p: proxy.proxy(s0) for p, s0 in points.items()}
    t_proxy = time.perf_counter() - t0
    with torch.inference_mode():  # the proxy's spectrogram of the mix against the model's own frontend
        own = model.module.frontend(torch.from_numpy(comps.compose(np.ones((1, k), np.uint8))))
    out = {"K": k, "T": len(names), "uniform_at_1000": reference, "nonadditive": {}, "designs": {},
           "check_spectrogram_max_abs_diff": float(np.abs(own[0, 0].double().numpy() - points["full"]).max()),
           "check_g_full_at_mix_minus_f": float(np.abs(proxies["full"](np.ones((1, k)))
                                                       - ref_out[0][0]).max())}
    # non-additive variance: main effects fitted on seeds 0..3, residual measured on seed 4
    x = [np.c_[np.ones(len(m)), m] for m in ref_masks]
    x_tr, x_te = np.concatenate(x[:-1]), x[-1]

    def resid_var(y_tr, y_te):
        return (y_te - x_te @ np.linalg.lstsq(x_tr, y_tr, rcond=None)[0]).var(axis=0)

    vf = resid_var(np.concatenate(ref_out[:-1]), ref_out[-1])
    out["nonadditive"]["share_of_variance"] = round(float(np.mean(vf / ref_out[-1].var(axis=0))), 4)
    for p, g in proxies.items():
        d_tr = np.concatenate([y - g(m) for m, y in zip(ref_masks[:-1], ref_out[:-1])])
        vd = resid_var(d_tr, ref_out[-1] - g(ref_masks[-1]))
        out["nonadditive"][f"removed_by_{p}"] = round(float(np.mean(1 - vd / vf)), 4)
    big = {}
    t_big = 0.0
    for design, seeds in (("uniform", [100 + s for s in SEEDS]), ("grouped", list(SEEDS))):
        fits = {v: {n: [] for n in GRID} for v in ["plain"] + [f"cv_{p}_{b}" for p in proxies
                                                                for b in ("beta1", "betahat")]}
        for i, seed in enumerate(seeds):
            masks = draw_masks(k, max(GRID), sampler=design, rng=np.random.default_rng(seed),
                               groups=comps.segments)
            y = cache.predict(masks, fn, batch_size=16)
            for n in GRID:
                w = fit_weights(masks[:n], y[:n], names)
                fits["plain"][n].append(w)
                for p, g in proxies.items():
                    tb = time.perf_counter()
                    gz = g(masks[:n])
                    if (p, i, n) not in big:
                        zb = sample_masks(k, n_big, rng=10_000 + i, exhaustive=False)
                        atts = fit_surrogate(zb, g(zb), output_names=names, seed=0, multiplicity=n_big / n,
                                             component_names=[f"c{j}" for j in range(k)])
                        big[(p, i, n)] = np.stack([atts[t].weights for t in names])
                    delta = fit_weights(masks[:n], gz, names) - big[(p, i, n)]
                    t_big += time.perf_counter() - tb
                    fits[f"cv_{p}_beta1"][n].append(w - delta)
                    fits[f"cv_{p}_betahat"][n].append(w - beta_hat(masks[:n], y[:n], gz)[:, None] * delta)
        for v, per_n in fits.items():
            curve = {n: stability(per_n[n]) for n in GRID}
            extra = 0 if v == "plain" else 3 * len(names)
            n_eq, ratio = n_at_equal(curve, reference, extra)
            out["designs"][f"{design}+{v}"] = {
                "stability": {str(n): {key: round(val, 4) for key, val in s.items()}
                              for n, s in curve.items()},
                "extra_calls": extra, "n_at_equal_stability": n_eq, "calls_ratio_at_equal_stability": ratio}
    out["model_calls_total"] = cache.model_calls
    out["seconds"] = {"reference_model_calls": round(t_model, 1),
                      "proxy_setup_and_gradients": round(t_proxy, 2),
                      "proxy_fits_all_estimates": round(t_big, 1)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="a2mid2e_synth_biased,a2e_synth_biased")
    ap.add_argument("--n-big", type=int, default=50000, help="uniform masks of fit(g; Z_big)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    mix, stems = benchmark_clip("synth0000")
    result = {"benchmark": "bench_control_variate", "clip": "synth0000", "K": 50, "grid": list(GRID),
              "n_big": args.n_big, "torch_threads": args.threads, "models": {}}
    for name in args.models.split(","):
        result["models"][name] = run_model(name, mix, stems, n_big=args.n_big)
        print(json.dumps({name: result["models"][name]}), file=sys.stderr, flush=True)
    result["calls_ratio_at_equal_stability"] = {
        v: {m: r["designs"][v]["calls_ratio_at_equal_stability"] for m, r in result["models"].items()}
        for v in next(iter(result["models"].values()))["designs"]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
