# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint ci clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the app on the embedded default (SQLite, mail captured at /dev/mailbox, example letters loaded).
run: $(STAMP)
	$(BIN)/undersigned serve

# Test processes (pytest-xdist): one per CPU by default; TEST_WORKERS=1 for one, TEST_WORKERS=0 for none (pdb).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 1)

## Run the test suite (SQLite; PostgreSQL instead when TEST_DATABASE_URL is set), TEST_WORKERS processes at once.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/alembic check

clean:
	rm -rf $(VENV) undersigned.db undersigned.db-wal undersigned.db-shm media
