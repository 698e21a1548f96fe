# Everything runs from a project virtual environment (.venv), made with the machine's own
# python3: distributions that mark their Python externally managed (PEP 668) refuse pip
# installs into it. The environment is re-installed only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck servers unit bench docs clean

$(BIN)/python:
	bash scripts/make-venv.sh $(PYTHON) $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## the main job on the embedded default: generate, train, score a new day, evaluate
demo: $(STAMP)
	$(BIN)/tapewatch demo
	@echo
	@echo "tapewatch is installed in $(VENV): run 'source $(VENV)/bin/activate' to put it on"
	@echo "your PATH (then 'tapewatch --help'), or call $(BIN)/tapewatch directly."

## the whole suite: lint, types, tests
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check tapewatch tests benchmarks
	$(BIN)/ruff format --check tapewatch tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy tapewatch

## what the tests start for themselves: redis-server, PostgreSQL, Chromium (Debian packages)
servers:
	bash scripts/install-system-deps.sh

unit: $(STAMP) servers
	$(BIN)/python -m pytest -n 2 tests

## speed and memory targets (docs/PERFORMANCE.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/cli.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/detection.py
	$(BIN)/python benchmarks/transfer.py
	$(BIN)/python benchmarks/anonymous.py
	$(BIN)/python benchmarks/withheld.py
	$(BIN)/python benchmarks/stream.py
	$(BIN)/python benchmarks/api.py

docs: $(STAMP)
	$(BIN)/python -m tapewatch.features.catalog > docs/features.md

clean:
	rm -rf .make tapewatch-data .pytest_cache .mypy_cache .ruff_cache

## also removes the virtual environment
distclean: clean
	rm -rf $(VENV)
