# Trenchcoat. `make dev` runs the app on its embedded default; `make test` runs the suite on
# PostgreSQL and Redis (throwaway servers unless DATABASE_URL / REDIS_URL are set).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: dev test lint fmt install migrate worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	SECRET_KEY=test-only-secret-key-not-for-production TRENCHCOAT_PSEUDONYM_SALT=test-only-salt \
	  bin/with-test-services $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A config worker -Q default,aggregate,exports -l info

bench: install
	SECRET_KEY=bench-only-secret TRENCHCOAT_PSEUDONYM_SALT=bench-only-salt \
	  bin/with-test-services sh -c 'for b in benchmarks/[a-z]*.py; do $(BIN)/python $$b || exit 1; done'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
