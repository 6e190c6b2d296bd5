# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench crash clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/buurtbot run

test: $(VENV)/.installed-dev
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers storage tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

# Every failpoint of every crash scenario, on both runtimes (`make test` runs a quick set).
crash: $(VENV)/.installed-dev
	BUURTBOT_CRASH_SWEEP=full $(BIN)/pytest tests/test_crash.py
