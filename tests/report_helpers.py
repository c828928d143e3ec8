"""Shared inputs of the report tests: a small explanation with awkward names and one tiny evaluation run
(computed once per test process, whichever test file asks first)."""

import atexit
import importlib.util
import shutil
from pathlib import Path

import numpy as np

from conftest import RESOURCES

MODEL = f"{RESOURCES / 'models' / 'analytic_model.py'}:build"
SUITE = {"name": "report-test", "tracks": {"split": "all", "limit": 3},
         "explain": {"segments": 2, "num_samples": 32, "seeds": [0, 1], "batch_size": 16},
         "fidelity": {"random_orders": 10, "faithfulness_subsets": 20}}
#: A stem name that would break a page (and run a script) if it were not escaped.
NASTY = '<script>alert("x")</script>&vox'
_RUNS: dict = {}


def analytic_model():
    path = RESOURCES / "models" / "analytic_model.py"
    spec = importlib.util.spec_from_file_location("analytic_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def stems(*, sr=22050, seconds=2.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return {"tone": (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
            NASTY: (0.05 * rng.standard_normal(t.size)).astype(np.float32)}


def explanation(*, segments=4, num_samples=64, sr=22050):
    from mer_audiolime.explain import explain

    parts = stems(sr=sr)
    mix = np.sum(list(parts.values()), axis=0)
    return explain(mix, sr=sr, model=analytic_model(), stems=parts, segments=segments,
                   num_samples=num_samples, seed=0, show_progress=False)


def evaluation_run(base: Path) -> Path:
    """A finished ``evaluate`` folder over 3 synthetic 2-s clips (copied to ``base``; computed once)."""
    if "run" not in _RUNS:
        import tempfile

        from mer_audiolime.datasets.synthetic import generate
        from mer_audiolime.evaluation.runner import evaluate

        root = Path(tempfile.mkdtemp(prefix="report-run-"))
        atexit.register(shutil.rmtree, root, True)
        generate(root / "synth", n=3, seed=0, duration=2.0, variant="clean", n_jobs=1, progress=False)
        evaluate(MODEL, dataset="synthetic", data_home=root / "synth", version="clean", suite=SUITE,
                 out_dir=root / "run", progress=False)
        _RUNS["run"] = root
    target = Path(base) / "run"
    shutil.copytree(_RUNS["run"] / "run", target)
    return target
