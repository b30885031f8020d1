# Ember: `make run` (the local stack) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-faults soak lint bench bench-quick ui-check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

APP := examples.helpdesk.app:helpdesk
SEED := examples.helpdesk.seed:seed_demo_rows

run: $(STAMP)
	$(BIN)/python worker.py --app $(APP) dev --seed $(SEED)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: lint
	$(BIN)/pytest -m "not faults" -q

test-faults: $(STAMP)
	$(BIN)/pytest -q tests/faults

# The issue-sized soak: 100,000 records with random failures, snoozes and cancels (~15 min).
soak: $(STAMP)
	EMBER_SOAK_RECORDS=100000 EMBER_SOAK_BUDGET_SECONDS=2400 \
		$(BIN)/pytest -q tests/faults/test_soak.py

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run --full

bench-quick: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run --quick

# Headless Chromium looks at the Temporal UI of a throwaway dev stack (bench/ui_check.py).
ui-check: $(STAMP)
	test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(BIN)/python -m bench.ui_check

clean:
	rm -rf $(VENV) .ember .mypy_cache .ruff_cache
