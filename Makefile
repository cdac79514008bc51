# pupildata — two commands for a newcomer:
#   make demo   install everything, run the main job on the embedded defaults, then serve the portal
#   make test   install what the tests need, then lint, types and the whole suite (SQLite and PostgreSQL, Chromium)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STATIC := src/pupildata/web/static/govuk
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test install bytecode assets lint types pytest system-deps bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the main job on a synthetic local authority, then serve the portal on 127.0.0.1:8000"
	@echo "make test   lint, types and the whole test suite (starts and stops its own PostgreSQL)"

# --- installing ------------------------------------------------------------------------------------------------

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"

# Installed modules are byte-compiled once here: where Python may not write its cache (PYTHONDONTWRITEBYTECODE, a
# read-only install), every command would otherwise compile SQLAlchemy, Alembic and the rest again as it starts
# (about 6 s before `pupildata --help` answered, against 2.5 s).
$(VENV)/.installed: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --quiet --compile-bytecode
	touch $@

install: $(VENV)/.installed

# The project's own modules, compiled again where they changed (a few files: a fraction of a second).
bytecode: install
	$(BIN)/python -m compileall -q -j 0 src

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STATIC)/.built: node_modules/.package-lock.json scripts/build_assets.py $(VENV)/.installed
	$(BIN)/python scripts/build_assets.py
	touch $@

assets: $(STATIC)/.built

# --- the two commands ------------------------------------------------------------------------------------------

demo: install bytecode assets
	$(BIN)/pupildata demo

test: install assets system-deps lint types pytest

# --- the parts of make test ------------------------------------------------------------------------------------

system-deps:
	scripts/system-deps.sh

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

types: install
	$(BIN)/mypy

# The suite runs in one worker per core (pytest-xdist): on 2 cores, about half the time of one process. Each test
# makes its own data home and its own PostgreSQL database, so the workers share nothing. PYTEST_WORKERS=0 runs it in
# this process (for a debugger); PYTEST_ARGS picks tests, e.g. PYTEST_ARGS=tests/collect.
PYTEST_WORKERS ?= auto
pytest: install bytecode assets
	scripts/run-tests.sh $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

bench: install bytecode
	@echo "Benchmarks are run one by one; see docs/benchmarks.md for each command."

clean:
	rm -rf $(VENV) node_modules $(STATIC) .pytest_cache .mypy_cache .ruff_cache
