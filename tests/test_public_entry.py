"""The public entry point: the function ``mer_audiolime.explain.explain``; ``mer_audiolime.explain`` is the
subpackage. The old call of the subpackage itself keeps working with a DeprecationWarning."""

import inspect
import sys
import types
import warnings

import numpy as np
import pytest

from explain_models import SR, linear_predictor, make_stems


def _inputs():
    rng = np.random.default_rng(3)
    stems = make_stems(rng, seconds=0.5, names=("vocals", "drums", "bass"))
    mix = np.sum(list(stems.values()), axis=0)
    model, _ = linear_predictor(rng, length=mix.shape[1])
    return mix, dict(sr=SR, model=model, stems=stems, num_samples=16, seed=0, show_progress=False)


def test_the_entry_is_a_function_and_the_package_a_module():
    import mer_audiolime
    from mer_audiolime.explain import explain

    assert inspect.isfunction(explain) and explain.__module__ == "mer_audiolime.explain.lime_audio"
    package = sys.modules["mer_audiolime.explain"]
    assert mer_audiolime.explain is package and isinstance(package, types.ModuleType)
    assert package.explain is explain


def test_the_function_does_not_warn():
    from mer_audiolime.explain import explain

    mix, kwargs = _inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        exp = explain(mix, **kwargs)
    assert set(exp.attributions) == {"y0", "y1"}


def test_calling_the_package_warns_and_gives_the_same_explanation():
    import mer_audiolime
    from mer_audiolime.explain import explain

    mix, kwargs = _inputs()
    with pytest.warns(DeprecationWarning, match=r"from mer_audiolime\.explain import explain") as record:
        old = mer_audiolime.explain(mix, **kwargs)
    assert record[0].filename == __file__  # the warning points at the caller's line
    new = explain(mix, **kwargs)
    for name in new.attributions:
        np.testing.assert_array_equal(old.attributions[name].weights, new.attributions[name].weights)


def test_old_import_path_still_calls():
    from mer_audiolime import explain as old_entry  # the form the docs used before

    mix, kwargs = _inputs()
    with pytest.warns(DeprecationWarning, match="deprecated"):
        exp = old_entry(mix, **kwargs)
    assert set(exp.attributions) == {"y0", "y1"}
