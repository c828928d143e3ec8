"""The generation settings of the published synthetic benchmarks, defined once.

Everything that generates, trains on or scores a published synthetic benchmark reads its settings from
here (the generator's defaults, the zoo's shipping script, the benchmark runner), so the numbers of a
benchmark version cannot drift apart between copies.

Examples
--------
>>> from mer_audiolime.datasets.synthetic.settings import BENCHMARKS
>>> BENCHMARKS["synthetic-v1"]["n"], BENCHMARKS["synthetic-v2"]["cues"]
(200, True)
"""

from __future__ import annotations

import copy

from ...exceptions import ParameterError

__all__ = ["V1_GENERATE", "V2_GENERATE", "BENCHMARKS", "benchmark_settings"]

#: synthetic-v1: 200 clips x 10 s at 22,050 Hz, seed 0; annotation variants ``clean`` and ``biased``.
V1_GENERATE = {"n": 200, "seed": 0, "duration": 10.0, "sr": 22050}
#: synthetic-v2: the v1 clips (byte-identical) plus the cue audio and its task variants.
V2_GENERATE = {**V1_GENERATE, "cues": True}
#: benchmark version -> keyword arguments of :func:`~mer_audiolime.datasets.synthetic.generate`.
BENCHMARKS = {"synthetic-v1": V1_GENERATE, "synthetic-v2": V2_GENERATE}


def benchmark_settings(version: str) -> dict:
    """A copy of the generation settings of a benchmark version.

    Parameters
    ----------
    version : {"synthetic-v1", "synthetic-v2"}

    Returns
    -------
    dict
        Keyword arguments for :func:`~mer_audiolime.datasets.synthetic.generate`.
    """
    if version not in BENCHMARKS:
        raise ParameterError(f"unknown synthetic benchmark {version!r}; choose one of {sorted(BENCHMARKS)}.")
    return copy.deepcopy(BENCHMARKS[version])
