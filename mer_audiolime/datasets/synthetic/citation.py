"""How to cite each benchmark version: one BibTeX entry (and key) per version, used by the loader's
``cite()``, ``docs/cite.md`` and ``evaluation/results/README.md`` alike (a test keeps them identical), and the
method paper's entry.

Examples
--------
>>> benchmark_key("synthetic-v1")
'mer_audiolime_benchmark_synthetic_v1'
"""

from __future__ import annotations

from ...exceptions import ParameterError

__all__ = ["BENCHMARK_BIBTEX", "METHOD_BIBTEX", "benchmark_key", "benchmark_bibtex"]

#: The method paper the benchmark reproduces (the same entry as docs/cite.md).
METHOD_BIBTEX = r"""@inproceedings{chowdhury2021tracing,
  author    = {Chowdhury, Shreyan and Praher, Verena and Widmer, Gerhard},
  title     = {Tracing Back Music Emotion Predictions to Sound Sources and Intuitive Perceptual Qualities},
  booktitle = {Proceedings of the 18th Sound and Music Computing Conference (SMC 2021)},
  pages     = {246--252},
  year      = {2021},
  url       = {https://zenodo.org/records/5045122},
  eprint    = {2106.07787},
  archivePrefix = {arXiv}
}"""

#: Benchmark version -> its BibTeX entry. A new version gets a new entry; an entry is never edited.
BENCHMARK_BIBTEX = {
    "synthetic-v1": r"""@misc{mer_audiolime_benchmark_synthetic_v1,
  title  = {mer\_audiolime synthetic multitrack benchmark, version synthetic-v1},
  author = {{The mer\_audiolime contributors}},
  year   = {2026},
  note   = {Benchmark version synthetic-v1 of mer\_audiolime 0.1.0: 200 generated clips of 10 s at 22,050 Hz,
            seed 0, clean and planted-bias (vocals -> valence + 0.6 on training and validation clips) labels;
            standard suite (state the preset); shipped synthetic zoo models}
}""",
    "synthetic-v2": r"""@misc{mer_audiolime_benchmark_synthetic_v2,
  title  = {mer\_audiolime synthetic multitrack benchmark, version synthetic-v2},
  author = {{The mer\_audiolime contributors}},
  year   = {2026},
  note   = {Benchmark version synthetic-v2 of mer\_audiolime 0.1.0: pre-registered suite synthetic\_v2.toml
            (sha256 in the results manifest); 200 generated clips of 10 s at 22,050 Hz, seed 0, with cue audio;
            planted single, redundant (OR), interaction (AND), time-local and confounded shortcuts; 42 shipped
            synthetic-v2 zoo models (3 training seeds each); oracle stems and stems estimated by the shipped
            umx-synth separator; eight explainers scored with Wilson intervals}
}""",
}


def benchmark_bibtex(version: str) -> str:
    """The BibTeX entry of a benchmark version.

    Raises
    ------
    ParameterError
        An unknown version (the message lists the known ones).
    """
    if version not in BENCHMARK_BIBTEX:
        raise ParameterError(f"no citation for benchmark version {version!r}; known: "
                             f"{sorted(BENCHMARK_BIBTEX)}.")
    return BENCHMARK_BIBTEX[version]


def benchmark_key(version: str) -> str:
    """The BibTeX key of a benchmark version (``mer_audiolime_benchmark_<version with _>``)."""
    entry = benchmark_bibtex(version)
    return entry[entry.index("{") + 1: entry.index(",")]
