# shopops — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else is set up by them: a project-local .venv with the locked versions.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo stop reset test test-fast bench lock install help

help:
	@echo "make demo   - install, migrate, start Prefect server + UI, deployments, worker (Ctrl-C stops)"
	@echo "make test   - install and run the whole test suite (PostgreSQL tests run under CI=true)"
	@echo "make stop   - stop a demo started in another terminal"
	@echo "make reset  - stop the demo and delete its data (data/)"
	@echo "make bench  - run the benchmarks (upsert, connectors, ingestion) and rewrite docs/BENCHMARKS.md"
	@echo "make lock   - re-resolve dependencies and rewrite requirements.lock"

install: $(STAMP)

# Reinstall when the dependency list or the lock changes.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shopops demo

stop: $(STAMP)
	$(BIN)/shopops demo --stop

reset: stop
	rm -rf data

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

# the benchmarks' own extra (dlt, the ingestion peer), locked like everything else
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/bench_upsert.py
	$(BIN)/python bench/bench_connectors.py
	$(BIN)/python bench/bench_ingest.py

# The lock is what a fresh install resolves to; regenerate it on purpose, review the diff.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,bench]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^pip==' > requirements.lock
	rm -rf .lock-venv
