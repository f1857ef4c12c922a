# Two promises: `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test faults install lint types audit check bench bench-voice bench-system clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sauti run

# The suite on every core (pytest-xdist: each worker its own embedded Redis and SQLite
# files); `.ci/run`'s PostgreSQL pass shares one database, so it runs on one.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

# The fault tests alone (they are part of `make test` too): Redis, PostgreSQL, workers and
# Twilio failing under a running service, each on servers the tests start themselves.
faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults

# Known vulnerabilities in the pinned dependencies, from the advisories PyPI publishes.
audit:
	$(PYTHON) .ci/audit.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

check: lint types test

bench: $(STAMP)
	$(BIN)/python benchmarks/ussd_hops.py
	$(BIN)/python benchmarks/routing.py
	$(BIN)/python benchmarks/voice_reply.py

# The voice line alone: complete report and status calls as Twilio and Africa's Talking
# post them; pass options with ARGS="--calls 500 --connections 16".
bench-voice: $(STAMP)
	$(BIN)/python benchmarks/voice_reply.py $(ARGS)

# The whole stack (web, RQ workers, scheduler) on this machine's PostgreSQL and Redis
# (database 7); pass options with ARGS="--seconds 60 --connections 32".
bench-system: $(STAMP)
	$(BIN)/python benchmarks/system.py $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
