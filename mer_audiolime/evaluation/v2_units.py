"""Units of the synthetic-v2 benchmark: which (model, stem source) units a suite calls for, and their keys.

A unit is one registered model explained on every scored test clip of its tasks with one stem source
(:func:`plan_units`); :func:`unit_key` hashes everything its numbers depend on, so a rerun never reuses a unit
computed under other settings. Running the units is :mod:`~mer_audiolime.evaluation.v2_run`, scoring them
:mod:`~mer_audiolime.evaluation.v2_results`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..datasets import synthetic as syn
from ..models.zoo import model_card
from .truths import scored_track_ids, task_models

__all__ = ["BENCHMARK_V2", "ESTIMATED_SEPARATOR", "unit_name", "plan_units", "unit_cost", "unit_key",
           "expected_explanations"]

#: Version name of the benchmark the results are filed and cited under.
BENCHMARK_V2 = "synthetic-v2"
#: The shipped separator that gives the estimated stems.
ESTIMATED_SEPARATOR = "umx-synth"


def unit_name(model: str, source: str) -> str:
    """``<model>__<source>``: the file stem of one unit's outputs."""
    return f"{model}__{source}"


def plan_units(suite: dict, data_home) -> list:
    """Every (model, source) unit and the work inside it.

    Returns
    -------
    list of dict
        ``{"model", "source", "jobs": [{"task", "head", "role", "variant", "segments", "track_ids"}]}``
        most expensive first (:func:`unit_cost`; ties in suite order, sources outer).
    """

    jobs = {}
    for task, spec in suite["tasks"].items():
        ds = syn.Dataset(data_home=str(data_home), version=spec["variant"])
        tids = scored_track_ids(ds, suite, task)
        if int(suite["tracks"].get("limit", 0) or 0) > 0:
            tids = tids[: int(suite["tracks"]["limit"])]
        for role, names in task_models(suite, task).items():
            for name in names:
                head = name.split("_synth_v2_")[0]
                jobs.setdefault(name, []).append({"task": task, "head": head, "role": role,
                                                  "variant": spec["variant"],
                                                  "segments": int(spec["segments"]), "track_ids": tids})
    units = []
    for source in suite["stems"]["sources"]:
        for name in suite["models"]["names"]:
            if name in jobs:
                units.append({"model": name, "source": source, "jobs": jobs[name]})
    return sorted(units, key=lambda u: -unit_cost(u))


def unit_cost(unit: dict) -> int:
    """Model calls a unit needs at most: ``2**K`` per distinct clip and segmentation (K = stems x segments,
    one stem more for the residual of estimated stems). Units are run most expensive first."""
    per_stem = 6 if unit["source"] == "estimated" else 5
    clips = {(job["segments"], tid) for job in unit["jobs"] for tid in job["track_ids"]}
    return sum(2 ** (per_stem * seg) for seg, _ in clips)


def unit_key(unit: dict, suite: dict, data_home) -> str:
    """The sha256 of everything a unit's numbers depend on, so a rerun never reuses a unit computed otherwise.

    Parameters
    ----------
    unit : dict
        From :func:`plan_units` (model, source, jobs with tasks, segments and track ids).
    suite : dict
        The loaded suite: its ``explain``, ``explainers``, ``bias``, ``stems`` sections and the unit's tasks
        (without their ``heads`` and ``description``, which say which models take part and how the task
        reads, not how a unit is computed: adding a model to a task leaves the other units' keys alone).
    data_home : path
        The synthetic-v2 set (its ``settings.json``).

    Returns
    -------
    str
        Hex digest; also covers the model's weights (sha256 from its card) and the package version.

    Examples
    --------
    >>> unit_key(unit, suite, "synth-v2")[:12]   # doctest: +SKIP
    '3f1c0d9a2b7e'
    """
    tasks = sorted({job["task"] for job in unit["jobs"]})
    try:
        weights = (model_card(unit["model"]).weights or {}).get("sha256")
    except Exception:  # noqa: BLE001 -- a model outside the zoo: its unit fails when it runs, not here
        weights = None
    settings = Path(data_home) / "settings.json"
    task_settings = {t: {k: v for k, v in suite["tasks"][t].items() if k not in ("heads", "description")}
                     for t in tasks}
    basis = {"unit": unit, "tasks": task_settings,
             **{k: suite.get(k) for k in ("explain", "explainers", "bias", "stems")},
             "data": json.loads(settings.read_text(encoding="utf-8")) if settings.is_file() else None,
             "weights": weights, "package": __version__}
    text = json.dumps(basis, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expected_explanations(units: list) -> pd.DataFrame:
    """Every (task, head, role, model, track_id, source) the plan calls for (to count missing ones)."""
    rows = [{"task": j["task"], "head": j["head"], "role": j["role"], "model": u["model"], "track_id": t,
             "source": u["source"]} for u in units for j in u["jobs"] for t in j["track_ids"]]
    return pd.DataFrame(rows)
