"""The package works when installed from its wheel, away from the checkout.

Builds the wheel, installs it (without dependencies) into a throw-away venv whose only other packages are the
locked ones of the running environment (a ``.pth`` line; no second download of torch), and runs the embedded
benchmark from a temporary folder outside the checkout. Nothing at run time may read the repository layout.
"""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _clean_env() -> dict:
    """The environment without anything that points Python or pip at the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(cmd, *, cwd, env=None, timeout=600):
    env = _clean_env() if env is None else env
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(REPO)], cwd=root)
    wheels = list(dist.glob("mer_audiolime-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip())
    # the locked dependencies of this environment, after the venv's own site-packages (so the wheel wins)
    (site / "_locked_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheels[0])], cwd=root)
    return env_dir, wheels[0]


def test_wheel_holds_runtime_data(wheel_venv):
    import zipfile

    _, wheel = wheel_venv
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("mer_audiolime/evaluation/suites/quick.toml", "mer_audiolime/evaluation/suites/standard.toml",
                   "mer_audiolime/models/cards/a2mid2e_synth_clean.json",
                   "mer_audiolime/models/weights/a2mid2e_synth_clean.pt",
                   "mer_audiolime/explain/separators/umx-synth/card.json",
                   "mer_audiolime/explain/separators/umx-synth/separator.json",
                   "mer_audiolime/explain/separators/umx-synth/vocals.pth"):
        assert needed in names, f"{needed} missing from the wheel"
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_installed_wheel_runs_the_benchmark_outside_the_checkout(wheel_venv, tmp_path):
    env_dir, _ = wheel_venv
    py = env_dir / "bin" / "python"
    env = _clean_env()
    env["MER_AUDIOLIME_CACHE"] = str(tmp_path / "cache")
    where = _run([str(py), "-c", "import mer_audiolime, sys; print(mer_audiolime.__file__)"], cwd=tmp_path,
                 env=env).stdout.strip()
    assert Path(where).is_relative_to(env_dir), f"imported {where}, not the installed wheel"
    check = subprocess.run([str(py), "-m", "pip", "check"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=False)
    broken = [line for line in check.stdout.splitlines()
              if line and "No broken" not in line and "requires pyaudio" not in line]
    assert not broken, f"the wheel's requirements are not met by the locked set: {broken}"
    # the shipped separator is checked against its card and loads from the installed package, offline
    env["TORCH_HOME"] = str(tmp_path / "torch_home")
    ident = _run([str(py), "-c", "from mer_audiolime.explain import OpenUnmixSeparator as U; "
                  "print(U('umx-synth').identity)"], cwd=tmp_path, env=env).stdout.strip()
    assert ident.startswith("openunmix:umx-synth:"), ident
    out = tmp_path / "out"
    proc = _run([str(env_dir / "bin" / "mer-audiolime"), "benchmark", "--preset", "quick", "--limit", "2",
                 "--no-progress", "--out", str(out)], cwd=tmp_path, env=env, timeout=900)
    assert "wrote" in proc.stdout
    results = out / "synthetic-v1"
    for name in ("results.csv", "summary.md", "manifest.json"):
        assert (results / name).is_file(), name
    import json

    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["limit"] == 2 and manifest["suite"]["tracks"]["limit"] == 2
    # the synthetic-v2 quick preset ran beside it, with the shipped separator's estimated stems
    quick = out / "synthetic-v2-quick"
    v2 = json.loads((quick / "manifest.json").read_text())
    assert v2["preset"] == "quick" and v2["status"] == "complete", v2.get("status_note")
    sources = set(pd.read_csv(quick / "metrics.csv")["source"])
    assert sources == {"oracle", "estimated"}
