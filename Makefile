# Wijkkracht — the two commands: `make run` and `make test`. Needs only Python 3.11+ and pip.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := libs/common $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
PYPROJECTS := libs/common/pyproject.toml $(wildcard services/*/pyproject.toml)

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit lint format bench schemas clean clean-data

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): $(PYPROJECTS) constraints.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt \
		-e "libs/common[embedded,test]" $(addprefix -e ,$(filter-out libs/common,$(PACKAGES)))
	@# The portal's browser tier (tests/browser): Playwright + axe-core; Chromium comes from apt.
	@test ! -f services/portal/pyproject.toml || $(BIN)/python -m pip install --quiet \
		-c constraints.txt -e "services/portal[browser]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install every package (editable) with pinned versions

run: $(STAMP) ## Start NATS, the database and every service; seed the demo tenant (Ctrl-C stops)
	$(BIN)/python scripts/devstack.py run

test: $(STAMP) ## Run the whole test suite on the embedded NATS + database
	@bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest

test-unit: $(STAMP) ## Only the unit tests (no I/O)
	$(BIN)/python -m pytest -m "not integration and not e2e" libs/common/tests/unit services/*/tests/unit

lint: $(STAMP) ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check libs services templates bench tests scripts
	$(BIN)/mypy -p wijkkracht_common $(addprefix -p ,$(notdir $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))))
	MYPYPATH=templates/service/src $(BIN)/mypy -p skeleton

format: $(STAMP) ## Apply ruff's formatting and import order
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format libs services templates bench tests scripts

bench: $(STAMP) ## Run the benchmarks; they print figures (see bench/README.md)
	$(BIN)/python bench/run_all.py

schemas: $(STAMP) ## Regenerate event JSON Schemas (libs/common/schemas) and docs/events.md
	$(BIN)/python -m wijkkracht_common.events.catalog --write >/dev/null

clean-data: ## Delete the local NATS and database data of `make run`
	rm -rf .data

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache
