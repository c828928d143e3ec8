"""The command line starts without the heavy libraries: they load only when a command needs them."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "pandas", "matplotlib", "seaborn", "sklearn", "scipy", "librosa", "lime", "mirdata")


def _modules_after(code: str) -> set:
    """Top-level modules imported by ``code`` in a fresh interpreter (this process has them all loaded)."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_parser_imports_no_heavy_module():
    loaded = _modules_after("import mer_audiolime.cli as cli\ncli.build_parser()")
    assert not loaded & set(HEAVY), f"building the parser imported {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize("argv", [["--help"], ["explain", "--help"], ["evaluate", "--help"],
                                  ["models", "list"]])
def test_help_and_listing_import_no_torch_nor_pandas(argv):
    code = ("import contextlib, io\nfrom mer_audiolime.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
            "    except SystemExit:\n        pass")
    loaded = _modules_after(code)
    assert not loaded & {"torch", "pandas"}, f"{argv} imported {sorted(loaded & {'torch', 'pandas'})}"


def test_lazy_package_names_still_resolve():
    import mer_audiolime
    from mer_audiolime import Attribution, Explanation
    from mer_audiolime.evaluation import TopKJaccard, evaluate
    from mer_audiolime.explain import explain, fit_surrogate, sample_masks
    from mer_audiolime.report import write_run_report

    assert callable(explain) and mer_audiolime.explain is sys.modules["mer_audiolime.explain"]
    assert Explanation.__name__ == "Explanation" and Attribution.__name__ == "Attribution"
    assert all(callable(f) for f in (evaluate, fit_surrogate, sample_masks, write_run_report, TopKJaccard))
    with pytest.raises(AttributeError):
        mer_audiolime.explain.no_such_name  # noqa: B018
