"""Evaluation suites: the named TOML files shipped in this package (``standard``, ``quick``, ``segments``,
``synthetic_v2``), or any TOML file or dict a user passes.

The named suites are package data, read through :mod:`importlib.resources`, so they are found the same way
from a checkout, an editable install and an installed wheel. Copy one (``mer-audiolime`` prints the path in
``--suite`` errors) to start a suite of your own.

A suite may also carry a **pre-registration** of a benchmark (the sections of :data:`OPTIONAL`:
hypothesis, data, tasks, models, explainers, detection rules, metrics, intervals, stem sources and the
exclusion rule), written before any scoring run. These sections are validated when present and left out
when absent, so suites without them load exactly as before. ``synthetic_v2.toml`` is the pre-registration of
the synthetic-v2 benchmark; :func:`suite_file_sha256` gives the hash its documentation records.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path

from ...exceptions import ParameterError
from ...explain.estimators import ENUMERATION_MODES, ESTIMATORS, OCCLUSION_MODES
from ...explain.samplers import SAMPLERS
from ...validation import check_choice, check_float, check_int, check_seed
from ..metrics import get_metric
from ..track_metrics import HARNESS_METRICS as M

__all__ = ["load_suite", "validate_suite", "suite_hash", "suite_file_sha256", "suites_dir", "list_suites",
           "DEFAULTS", "OPTIONAL", "TASK_DEFAULTS", "EXPLAINERS", "RANKINGS", "INTERVAL_METHODS",
           "STEM_SOURCES"]

#: Every key a suite may set, with its default. A suite file overrides what it names.
DEFAULTS = {
    "name": "custom",
    "version": "1",
    "description": "",
    "tracks": {"split": "test", "limit": 0},
    "explain": {"segments": 1, "num_samples": 1000, "kernel_width": 0.25, "alpha": 1.0, "batch_size": 16,
                "seeds": [0, 1, 2, 3, 4], "estimator": "lime", "occlusion": "leave_one_out",
                "enumeration": "expected", "sampler": "uniform"},
    "fidelity": {"random_orders": 10, "faithfulness_subsets": 200},
    # seed stability is measured on this setting (0 = the [explain] value); convergence on [explain]
    "stability": {"top_k": 2, "segments": 0, "num_samples": 0,
                  "convergence_sizes": [100, 250, 500, 1000, 2000, 4000], "convergence_seeds": [0, 1, 2],
                  "convergence_max_components": 12},
    "bias": {"target": "valence", "shortcut_stem": "vocals"},
}


#: Pre-registration sections: filled in (with these defaults) only when a suite names them. An empty dict
#: default is an open table (any keys); ``tasks`` holds one table per task (see :data:`TASK_DEFAULTS`).
OPTIONAL = {
    "preregistration": {"benchmark": "", "registered": "", "hypothesis": "", "frozen": "", "amended": "",
                        "splits": ""},
    "data": {"generate": {}},
    "tasks": {},
    "models": {"seeds": [], "names": []},
    "explainers": {"names": [], "options": {}},
    "detection": {"rankings": [], "top1_ties": "no detection", "single": "", "shared": "", "distractor": ""},
    "metrics": {"names": [], "definitions": {}},
    "intervals": {"method": "wilson", "level": 0.95, "unit": ""},
    "stems": {"sources": ["oracle"], "separator": "", "residual": ""},
    "exclusion": {"rule": "", "split": "test", "tau_fraction": 0.5, "delta_fraction": 0.0},
}
#: Keys of one task table of a pre-registration (``[tasks.<name>]``), with defaults.
TASK_DEFAULTS = {"variant": "", "control": "", "heads": [], "target": "valence", "clip_cues": [],
                 "segments": 1, "truth": [], "shared": False, "distractors": [], "description": ""}
#: Explainers a pre-registration may name.
EXPLAINERS = ("random", "shortcut_stem", "leave_one_out", "add_one_in", "exact_shapley", "sampled_shapley",
              "lime_signed", "lime_abs")
#: Rankings of a detection rule: by signed weight or by |weight|.
RANKINGS = ("signed", "abs")
INTERVAL_METHODS = ("wilson",)
STEM_SOURCES = ("oracle", "estimated")


def suites_dir() -> Path:
    """The folder of the named suites shipped with the package."""
    return Path(str(resources.files(__name__)))


def list_suites() -> list:
    """Names of the shipped suites."""
    return sorted(p.name[: -len(".toml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise ParameterError(f"suite key {where!r} must be a table, got {value!r}.")
    return value


def _merge(base: dict, over: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    if not base:  # an open table: any keys
        out.update(copy.deepcopy(over))
        return out
    for key, value in over.items():
        if key not in base:
            raise ParameterError(f"unknown suite key {where}{key!r}; known keys: {sorted(base)}.")
        if isinstance(base[key], dict):
            out[key] = _merge(base[key], _table(value, f"{where}{key}"), f"{where}{key}.")
        else:
            out[key] = value
    return out


def load_suite(spec) -> dict:
    """Load a suite by name (``"standard"``, ``"quick"`` ...), by path, or validate a dict.

    Returns
    -------
    dict
        The suite with every default filled in.

    Raises
    ------
    ParameterError
        Unknown name, unreadable file, unknown keys or bad values.
    """
    if isinstance(spec, dict):
        raw = spec
    else:
        path = Path(spec)
        if not path.suffix:
            path = suites_dir() / f"{spec}.toml"
        if not path.is_file():
            raise ParameterError(
                f"no suite {str(spec)!r}: pass a .toml path or one of {list_suites()} (from {suites_dir()})."
            )
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ParameterError(f"cannot read suite {str(path)!r}: {err}") from err
    core = {k: v for k, v in raw.items() if k not in OPTIONAL}
    suite = _merge(DEFAULTS, core, "")
    for key in OPTIONAL:
        if key in raw:
            suite[key] = _merge(OPTIONAL[key], _table(raw[key], key), f"{key}.")
    if "tasks" in suite:
        suite["tasks"] = {name: _merge(TASK_DEFAULTS, _table(table, f"tasks.{name}"), f"tasks.{name}.")
                          for name, table in suite["tasks"].items()}
    _check_preregistration(suite)
    seeds = suite["explain"]["seeds"]
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ParameterError(f"explain.seeds must be a non-empty list of integers, got {seeds!r}.")
    for key in ("num_samples", "batch_size"):
        check_int(suite["explain"][key], f"explain.{key}", minimum=1)
    ex = suite["explain"]
    check_choice(ex["estimator"], "explain.estimator", ESTIMATORS)
    check_choice(ex["occlusion"], "explain.occlusion", OCCLUSION_MODES)
    check_choice(ex["enumeration"], "explain.enumeration", ENUMERATION_MODES)
    check_choice(ex["sampler"], "explain.sampler", SAMPLERS)
    st = suite["stability"]
    for key in ("segments", "num_samples", "convergence_max_components", "top_k"):
        check_int(st[key], f"stability.{key}", minimum=0)
    for key in ("convergence_sizes", "convergence_seeds"):
        values = st[key]
        if not isinstance(values, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ParameterError(f"stability.{key} must be a list of integers, got {st[key]!r}.")
    limit = suite["tracks"]["limit"]
    if not isinstance(limit, int) or limit < 0:
        raise ParameterError(f"tracks.limit must be an integer >= 0 (0 = all), got {limit!r}.")
    validate_suite(suite)
    return suite


def _names_in(values, known, where: str) -> None:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ParameterError(f"{where} must be a list of names, got {values!r}.")
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(f"{where} names unknown entries {unknown}; known: {list(known)}.")


def _check_preregistration(suite: dict) -> None:
    """Validate the pre-registration sections that are present (types and known names)."""
    if "explainers" in suite:
        _names_in(suite["explainers"]["names"], EXPLAINERS, "explainers.names")
    if "detection" in suite:
        _names_in(suite["detection"]["rankings"], RANKINGS, "detection.rankings")
    if "intervals" in suite:
        if suite["intervals"]["method"] not in INTERVAL_METHODS:
            raise ParameterError(f"intervals.method must be one of {list(INTERVAL_METHODS)}, got "
                                 f"{suite['intervals']['method']!r}.")
        level = suite["intervals"]["level"]
        if isinstance(level, bool) or not isinstance(level, float) or not 0.5 < level < 1.0:
            raise ParameterError(f"intervals.level must be a float in (0.5, 1), got {level!r}.")
    if "stems" in suite:
        _names_in(suite["stems"]["sources"], STEM_SOURCES, "stems.sources")
    if "exclusion" in suite:
        for key in ("tau_fraction", "delta_fraction"):
            v = suite["exclusion"][key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ParameterError(f"exclusion.{key} must be a number in [0, 1], got {v!r}.")
    for name, spec in suite.get("tasks", {}).items():
        seg = spec["segments"]
        check_int(seg, f"tasks.{name}.segments", minimum=1)
        if not spec["variant"] or not spec["truth"]:
            raise ParameterError(f"tasks.{name} needs a variant and its truth components.")
        if spec["shared"] and len(spec["truth"]) < 2:
            raise ParameterError(f"tasks.{name}: a shared truth needs at least two components.")


def suite_file_sha256(name: str) -> str:
    """sha256 of a shipped suite file's bytes (the hash a pre-registration's documentation records).

    Examples
    --------
    >>> len(suite_file_sha256("synthetic_v2"))
    64
    """
    path = suites_dir() / f"{name}.toml"
    if not path.is_file():
        raise ParameterError(f"no shipped suite {name!r}; shipped suites: {list_suites()}.")
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Keys added after suites were first published, with the value every earlier run used: at that value they
#: are left out of the hash, so a published run keeps its resume key.
_HASH_NEUTRAL = {("explain", "sampler"): "uniform"}


def _suite_error(key: str, err: Exception) -> ParameterError:
    return ParameterError(f"suite value {key} is invalid: {err}")


def validate_suite(suite: dict) -> None:
    """Check every value of a (merged) suite before any work starts; raise naming the key.

    The limits are the metrics' own (e.g. ``fidelity.random_orders`` >= 10, what the deletion/insertion
    baseline needs), checked by constructing them, so the suite and the metrics cannot disagree.

    Raises
    ------
    ParameterError
    """
    for key in ("name", "version"):
        value = suite[key]
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise ParameterError(f"suite {key} must be a non-empty string, got {value!r}.")
    for section, key in (("tracks", "split"), ("bias", "target"), ("bias", "shortcut_stem")):
        value = suite[section][key]
        if not isinstance(value, str) or not value.strip():
            raise ParameterError(f"suite value {section}.{key} must be a non-empty string, got {value!r}.")
    exp, st = suite["explain"], suite["stability"]
    seeds = exp["seeds"]
    if not isinstance(seeds, list) or not seeds:
        raise ParameterError(f"explain.seeds must be a non-empty list of integers, got {seeds!r}.")
    for s in seeds:
        try:
            check_seed(s, "seed")
        except ParameterError as err:
            raise _suite_error("explain.seeds", err) from None
    if len(set(seeds)) != len(seeds):
        raise ParameterError(f"explain.seeds lists a seed twice ({seeds}); stability over repeated seeds "
                             "would be trivially perfect. Give distinct seeds.")
    checks = [
        ("tracks.limit", lambda: check_int(suite["tracks"]["limit"], "limit", minimum=0)),
        ("explain.num_samples", lambda: check_int(exp["num_samples"], "num_samples", minimum=2)),
        ("explain.batch_size", lambda: check_int(exp["batch_size"], "batch_size", minimum=1)),
        ("explain.kernel_width", lambda: check_float(exp["kernel_width"], "kernel_width", minimum=0,
                                                     strict_minimum=True)),
        ("explain.alpha", lambda: check_float(exp["alpha"], "alpha", minimum=0)),
        ("explain.segments", lambda: _check_segments(exp["segments"])),
        ("fidelity.random_orders",
         lambda: get_metric(M["curves"], n_random=suite["fidelity"]["random_orders"])),
        ("fidelity.faithfulness_subsets", lambda: (
            get_metric(M["faithfulness"], n_subsets=suite["fidelity"]["faithfulness_subsets"]),
            get_metric(M["infidelity"], n_perturbations=suite["fidelity"]["faithfulness_subsets"]))),
        ("stability.top_k", lambda: get_metric(M["jaccard"], k=suite["stability"]["top_k"])),
        ("stability.num_samples", lambda: suite["stability"]["num_samples"] == 0
         or check_int(suite["stability"]["num_samples"], "num_samples", minimum=2)),
        ("stability.convergence_seeds", lambda: [check_seed(s, "seed") for s in
                                                 suite["stability"]["convergence_seeds"]]),
        ("stability.convergence_sizes", lambda: not st["convergence_sizes"] or get_metric(
            M["convergence"], sample_sizes=st["convergence_sizes"], seeds=st["convergence_seeds"],
            max_components=st["convergence_max_components"])),
    ]
    for key, check in checks:
        try:
            check()
        except ParameterError as err:
            raise _suite_error(key, err) from None


def _check_segments(value) -> None:
    if isinstance(value, list):
        if not value:
            raise ParameterError("segments is an empty list; use an integer count or boundary times in "
                                 "seconds.")
        times = []
        for t in value:
            if isinstance(t, bool) or not isinstance(t, (int, float)) or t != t or t < 0 or t == float("inf"):
                raise ParameterError(f"segment boundaries must be finite times >= 0 s, got {value!r}.")
            times.append(float(t))
        if any(b <= a for a, b in zip(times, times[1:])):
            raise ParameterError(f"segment boundaries must be strictly increasing, got {value!r}.")
        return
    check_int(value, "segments", minimum=1)


def suite_hash(suite: dict) -> str:
    """sha256 of the suite's canonical JSON (recorded in the manifest; part of the resume key)."""
    canonical = copy.deepcopy(suite)
    for (section, key), value in _HASH_NEUTRAL.items():
        if canonical.get(section, {}).get(key, value) == value:
            canonical.get(section, {}).pop(key, None)
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
