# Set-up and entry points. Only Python 3 and the package registries are needed: the first target that runs
# creates .venv and installs the package with its extras. Re-installs when setup.cfg or pyproject.toml change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo test test-fast bench docs clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
	# tinysoundfont renders General-MIDI audio; its pyaudio requirement is for playback only and has no
	# Linux wheel, so it is installed without dependencies.
	$(BIN)/python -m pip install --quiet --no-deps "tinysoundfont>=0.3"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mer-audiolime benchmark --preset quick --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

# The docs extra (MkDocs + mkdocstrings) is installed into the same venv on first use. MkDocs refuses a
# site_dir inside docs_dir, so the site is built into build/docs-site and moved to docs/_build; --strict
# turns every warning (broken link, unparsable docstring) into a failure.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) setup.cfg
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	rm -rf build/docs-site docs/_build
	$(BIN)/mkdocs build --strict --site-dir build/docs-site
	mv build/docs-site docs/_build
	@echo "docs: open docs/_build/index.html"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_explain.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
