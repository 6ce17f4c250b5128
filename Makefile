# The two commands of the README. Both set up everything they need in .venv on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo check venv clean

$(BIN)/moneytrail: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

venv: $(BIN)/moneytrail

## demo: install, then scan the shipped sample bank into alerts.duckdb and print a summary
demo: venv
	$(BIN)/moneytrail scan --sample --db alerts.duckdb

## check: lint, format check, strict type check, and every test
check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine graphs
	$(BIN)/pytest

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache alerts.duckdb
