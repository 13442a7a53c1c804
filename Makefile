# shopops — the two commands a newcomer needs are `make demo` and `make test`.
# Everything else is set up by them: a project-local .venv with the locked versions.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo stop reset test test-fast bench bench-quick proof lock install help

help:
	@echo "make demo   - install, migrate, start Prefect server + UI, deployments, worker (Ctrl-C stops)"
	@echo "make test   - install and run the whole test suite (PostgreSQL tests run under CI=true)"
	@echo "make stop   - stop a demo started in another terminal"
	@echo "make reset  - stop the demo and delete its data (data/)"
	@echo "make bench  - run every bench/bench_*.py at full size and rewrite docs/BENCHMARKS.md (hours; a quiet machine)"
	@echo "make bench-quick - every benchmark small and once (a smoke test; docs left alone)"
	@echo "make proof  - the reliability and leak proofs at full size (kill -9 x20 in a 200k pull, faults, skew, leaks)"
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

# both cores: the long tests (the simulated week, the demo) spend much of their time waiting on
# the servers they start, so two pytest workers (pytest-xdist; worksteal balances the long ones)
# finish the suite in far less time; TEST_WORKERS=0 runs it in one process
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist worksteal)

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

# the benchmarks' own extra (dlt, the ingestion peer), locked like everything else
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

# every bench/bench_*.py (discovered: a new benchmark joins by itself); BENCH_ARGS=--quick for a smoke test
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py --quick

# The proofs of tests/integration/test_proof_*.py at full size (`make test` runs them small),
# and the demo's full operating day followed by the leak scan, then the whole stack stopped while the
# settlement waits for approval, started again and the approval given (test_demo.py)
proof: $(STAMP)
	SHOPOPS_PROOF_SCALE=full $(BIN)/python -m pytest -p no:cacheprovider -q -rA --durations=12 tests/integration/test_proof_*.py \
		tests/integration/test_ingest_crash.py tests/integration/test_ingest_faults.py tests/integration/test_clock_skew.py \
		tests/integration/test_demo.py

# The lock is what a fresh install resolves to; regenerate it on purpose, review the diff.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,bench]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^pip==' > requirements.lock
	rm -rf .lock-venv
