# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install
# the project from pyproject.toml; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The second environment: the lowest versions pyproject.toml declares for pandas, numpy,
# pandera, pyarrow and requests, pinned by .ci/floor_requirements.py (read from pyproject.toml).
FLOOR_VENV := .venv-floor
FLOOR_STAMP := $(FLOOR_VENV)/.installed
# The notebooks extra, installed again only when pyproject.toml changes.
NOTEBOOKS_STAMP := $(VENV)/.notebooks
# Jupyter refuses to run as root unless told to; root is the usual user in a container.
UID ?= $(shell id -u)

.PHONY: demo test test-fast test-floor lint format lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(FLOOR_STAMP): pyproject.toml .ci/floor_requirements.py
	rm -rf $(FLOOR_VENV)
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/floor_requirements.py > $(FLOOR_VENV)/floors.txt
	$(FLOOR_VENV)/bin/python -m pip install --quiet -e '.[dev]' -c $(FLOOR_VENV)/floors.txt
	touch $(FLOOR_STAMP)

demo: $(STAMP)
	$(BIN)/productiv-pandas demo --out out

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Everything but the tests marked slow (notebooks, the crash test, subprocesses, long runs).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

# PP_TEST_FLOOR makes tests/test_versions.py check that the floors, not newer versions, ran.
test-floor: $(FLOOR_STAMP)
	$(FLOOR_VENV)/bin/python -m pip freeze | grep -iE '^(pandas|numpy|pandera|pyarrow|requests|dask)=='
	PP_TEST_FLOOR=1 $(FLOOR_VENV)/bin/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(NOTEBOOKS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $(NOTEBOOKS_STAMP)

lab: $(NOTEBOOKS_STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(UID)),--allow-root )notebooks/

# Every benchmark, one after the other, then one table of goals (benchmarks/run_all.py; about
# 10 minutes). BENCH_ARGS picks some: make bench BENCH_ARGS="--only publish files".
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache .ruff_cache build *.egg-info out productiv-demo
