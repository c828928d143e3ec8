"""Citations agree everywhere: CITATION.cff and docs/cite.md carry the package version, each benchmark
version has one BibTeX entry and key (loader cite(), docs/cite.md, evaluation/results/README.md), and no page
invents a repository address."""

import re

from mer_audiolime._version import __version__
from mer_audiolime.datasets.synthetic import BIBTEX
from mer_audiolime.datasets.synthetic.citation import BENCHMARK_BIBTEX, METHOD_BIBTEX, benchmark_key
from mer_audiolime.evaluation.benchmark import BENCHMARK_VERSION

from conftest import REPO

CFF = (REPO / "CITATION.cff").read_text(encoding="utf-8")
CITE = (REPO / "docs" / "cite.md").read_text(encoding="utf-8")
RESULTS = (REPO / "evaluation" / "results" / "README.md").read_text(encoding="utf-8")


def _entries(text: str) -> dict:
    """BibTeX entries in fenced bibtex blocks: key -> entry text."""
    out = {}
    for block in re.findall(r"```bibtex\n(.*?)```", text, re.S):
        for entry in re.findall(r"@\w+\{.*?\n\}", block, re.S):
            out[entry[entry.index("{") + 1: entry.index(",")]] = entry
    return out


def test_versions_are_the_package_version():
    assert re.search(r"^version: (.+)$", CFF, re.M).group(1).strip().strip('"') == __version__
    software = _entries(CITE)["mer_audiolime"]
    assert re.search(r"version\s*=\s*\{([^}]*)\}", software).group(1) == __version__


def test_no_invented_repository_address():
    setup = (REPO / "setup.cfg").read_text(encoding="utf-8")
    if not re.search(r"^(url|project_urls)\s*=", setup, re.M):  # the package declares no address yet
        assert "repository-code" not in CFF and "repository:" not in CFF
        assert "no public repository address yet" in CITE and "at publication" in CITE


def test_one_entry_and_key_per_benchmark_version_everywhere():
    assert BENCHMARK_VERSION in BENCHMARK_BIBTEX
    cited = _entries(CITE)
    for version, entry in BENCHMARK_BIBTEX.items():
        key = benchmark_key(version)
        assert key == "mer_audiolime_benchmark_" + version.replace("-", "_")
        assert cited[key] == entry, f"docs/cite.md's {key} differs from the package's entry"
        assert key in RESULTS and version in RESULTS
    assert BENCHMARK_BIBTEX[BENCHMARK_VERSION] in BIBTEX  # what the loader's cite() prints
    # no other benchmark key anywhere (e.g. a stale one in the loader or the docs)
    for text in (CITE, RESULTS, BIBTEX):
        for key in re.findall(r"mer_audiolime_(?:benchmark|synthetic)\w*", text):
            assert key in {benchmark_key(v) for v in BENCHMARK_BIBTEX}, key


def test_method_paper_entry_is_the_same_in_the_loader_and_the_docs():
    assert _entries(CITE)["chowdhury2021tracing"] == METHOD_BIBTEX
    assert BIBTEX.startswith(METHOD_BIBTEX)
