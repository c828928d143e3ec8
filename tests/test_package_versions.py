"""One ``package_versions`` (mer_audiolime/_version.py) for a run's manifest and a model card: the two forms
it records, checked against the versions read by hand, and the shipped cards' recorded values."""

from __future__ import annotations

import platform
from importlib import metadata

import numpy
import pytest

from mer_audiolime._version import CHECKPOINT_PACKAGES, RUN_PACKAGES, __version__, package_versions
from mer_audiolime.exceptions import ParameterError


def test_run_form_reads_the_installed_distributions():
    got = package_versions()
    assert list(got)[0] == "python" and got["python"] == platform.python_version()
    for name in RUN_PACKAGES:
        try:
            assert got[name] == metadata.version(name), name
        except metadata.PackageNotFoundError:
            assert name not in got
    assert list(got)[1:] == [n for n in RUN_PACKAGES if n in got]


def test_checkpoint_form_reads_the_modules_and_keeps_the_build_tag():
    torch = pytest.importorskip("torch")
    librosa = pytest.importorskip("librosa")
    got = package_versions(CHECKPOINT_PACKAGES, source="module")
    assert got == {"python": platform.python_version(), "torch": torch.__version__,
                   "numpy": numpy.__version__, "mer_audiolime": __version__, "librosa": librosa.__version__}
    assert list(got) == ["python", "torch", "numpy", "mer_audiolime", "librosa"]  # the cards' order
    # The two forms differ only by the local build tag (e.g. torch 2.11.0+cu130 vs 2.11.0).
    assert torch.__version__.split("+")[0] == package_versions(["torch"])["torch"]


def test_missing_packages_are_left_out_and_the_source_is_checked():
    assert package_versions(["no-such-distribution-xyz"]) == {"python": platform.python_version()}
    assert "no_such_module_xyz" not in package_versions(["no_such_module_xyz"], source="module")
    with pytest.raises(ParameterError, match="source"):
        package_versions(source="wheel")


def test_shipped_cards_keep_their_recorded_versions():
    from mer_audiolime.models import zoo

    for name in zoo.list_models():
        recorded = zoo.model_card(name).package_versions
        assert {"python", "torch", "numpy", "mer_audiolime"} <= set(recorded), name
