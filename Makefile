# Small, explicit targets. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check fmt openapi migrate bench bench-hostile install lock lock-upgrade clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every dependency comes from a lock file with hashes (requirements/*.txt, made by `make lock`), so
# every install, here and in the image, gets the same files; the project itself is installed last,
# editable and without build isolation (its build backend is locked too).
define install_locked
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(1)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
endef

$(VENV)/.installed-run: pyproject.toml requirements/run.txt | $(BIN)/python
	$(call install_locked,requirements/run.txt)
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements/dev.txt | $(BIN)/python
	$(call install_locked,requirements/dev.txt)
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

## Lock the dependencies (with hashes, for every Python 3.11+ and platform) after editing pyproject.toml.
## Versions already locked are kept where they still fit; `make lock-upgrade` moves all to the newest.
LOCK = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(VENV)/.installed-dev
	$(LOCK) --extra dev pyproject.toml requirements/build.in -o requirements/dev.txt
	$(LOCK) --extra embedded pyproject.toml requirements/build.in -c requirements/dev.txt -o requirements/run.txt
	$(LOCK) pyproject.toml requirements/build.in -c requirements/dev.txt -o requirements/main.txt

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
