PYTHON ?= python3
STAMP := .make/installed

.PHONY: install demo test lint typecheck servers unit bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@mkdir -p .make && touch $(STAMP)

install: $(STAMP)

## the main job on the embedded default: generate, train, score a new day, evaluate
demo: $(STAMP)
	tapewatch demo

## the whole suite: lint, types, tests
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	ruff check tapewatch tests benchmarks
	ruff format --check tapewatch tests benchmarks

typecheck: $(STAMP)
	mypy tapewatch

## what the tests start for themselves: redis-server, PostgreSQL, Chromium (Debian packages)
servers:
	bash scripts/install-system-deps.sh

unit: $(STAMP) servers
	$(PYTHON) -m pytest -n 2 tests

## speed and memory targets (docs/PERFORMANCE.md)
bench: $(STAMP)
	$(PYTHON) benchmarks/validate.py
	$(PYTHON) benchmarks/run.py
	$(PYTHON) benchmarks/detection.py
	$(PYTHON) benchmarks/anonymous.py
	$(PYTHON) benchmarks/withheld.py
	$(PYTHON) benchmarks/stream.py
	$(PYTHON) benchmarks/api.py

docs: $(STAMP)
	$(PYTHON) -m tapewatch.features.catalog > docs/features.md

clean:
	rm -rf .make tapewatch-data .pytest_cache .mypy_cache .ruff_cache
