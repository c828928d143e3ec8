# Set-up and entry points. Only Python 3 and the package registries are needed: the first target that runs
# creates .venv and installs the lock (requirements/lock.txt). Re-installs when the lock or setup.cfg change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PIP_QUIET := --quiet --quiet --disable-pip-version-check
PIP_INSTALL := $(BIN)/python -m pip install $(PIP_QUIET) --no-deps --require-hashes
# uv resolves the lock (fast, and it resolves for every platform at once with --universal); pip installs it.
UV_VERSION := 0.13.9

.PHONY: venv lock demo test test-fast bench docs docs-outputs clean

venv: $(STAMP)

# Everything the venv holds comes from the lock (requirements/lock.txt, every package pinned with its hashes),
# so a fresh machine gets exactly the set the tests were run with, whatever the registries publish next.
# The build tools go in first so that nothing is built in an unpinned, isolated build environment.
$(STAMP): requirements/lock.txt requirements/build.txt setup.cfg pyproject.toml
	@start=$$(date +%s); set -e; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	$(PIP_INSTALL) -r requirements/build.txt; \
	$(PIP_INSTALL) --no-build-isolation -r requirements/lock.txt; \
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .; \
	broken=$$($(BIN)/python -m pip check | grep -v -e '^No broken' -e 'tinysoundfont .* requires pyaudio' || true); \
	if [ -n "$$broken" ]; then echo "$$broken"; exit 1; fi; \
	touch $(STAMP); \
	echo "venv: $(VENV) installed from requirements/lock.txt in $$(( $$(date +%s) - start )) s," \
	     "$$(du -sh $(VENV) | cut -f1) on disk"

demo: $(STAMP)
	$(BIN)/mer-audiolime benchmark --preset quick --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

# MkDocs refuses a site_dir inside docs_dir, so the site is built into build/docs-site and moved to
# docs/_build; --strict turns every warning (broken link, unparsable docstring) into a failure. The docs
# extra is part of the lock.
docs: $(STAMP)
	rm -rf build/docs-site docs/_build
	$(BIN)/mkdocs build --strict --site-dir build/docs-site
	mv build/docs-site docs/_build
	@echo "docs: open docs/_build/index.html"

# Re-resolve every dependency against the registry and rewrite the lock. Run it on purpose, then run the
# tests on a fresh venv (make clean test) before committing the new lock.
lock:
	test -x $(VENV)-lock/bin/uv || { $(PYTHON) -m venv $(VENV)-lock && \
	  $(VENV)-lock/bin/python -m pip install $(PIP_QUIET) "uv==$(UV_VERSION)"; }
	$(VENV)-lock/bin/uv pip compile requirements/lock.in --universal --python-version 3.11 --generate-hashes \
	  --no-emit-package pyaudio --no-emit-package mer-audiolime --upgrade -o requirements/lock.txt
	$(VENV)-lock/bin/uv pip compile requirements/build.in --universal --python-version 3.11 --generate-hashes \
	  -c requirements/lock.txt --upgrade -o requirements/build.txt

# Rewrite the output blocks of the tutorial pages with what their scripts print today (tests/doc_outputs.py).
docs-outputs: $(STAMP)
	$(BIN)/python tests/doc_outputs.py --update

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_explain.py

clean:
	rm -rf $(VENV) $(VENV)-lock demo-out .pytest_cache
