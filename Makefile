# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test chaos check-data lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spendpilot demo $(DEMO_ARGS)

# One pytest worker per core (pytest-xdist); each worker starts its own emulator and demo template.
PYTEST_ARGS ?= -n auto
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) chaos

# The fault-injection suite (tests/chaos, marker `chaos`): kills, AWS faults, full disks, races.
chaos: $(STAMP)
	$(BIN)/python -m pytest -q -m chaos tests/chaos $(CHAOS_ARGS)

# The suite reads only tests/data. This re-checks those copies against their upstream files:
# `make check-data SHARED_DATA=/path/to/shared/data` (see tests/data/*/PROVENANCE.md).
check-data: $(STAMP)
	@test -n "$(SHARED_DATA)" || { echo "usage: make check-data SHARED_DATA=/path/to/shared/data" >&2; exit 2; }
	SPENDPILOT_SHARED_DATA=$(SHARED_DATA) $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/test_data_provenance.py

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks evals
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_and_sweep.py 1000000

clean:
	rm -rf $(VENV) .spendpilot .pytest_cache
